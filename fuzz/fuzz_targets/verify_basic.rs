#![no_main]
switchboard_fuzz::verify_target!("basic");
