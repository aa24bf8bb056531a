#![no_main]
switchboard_fuzz::normalise_target!("retell");
