//! Ingest's end-to-end tests: the real binary's library on port 0, a real nats-server per
//! test, requests over real HTTP. One test binary (modules below) keeps link time down.

mod config;
mod durability;
mod helpers;
mod hooks;
mod logs;
mod rejected;
mod reload;
mod shutdown;
