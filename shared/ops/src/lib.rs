//! `switchboard-ops`: what an operator asks of a running Switchboard, as functions over
//! NATS, shared by the `switchboard` CLI and the operator console (analytics' `/console`):
//! - [`trace`]: the trail of one call across every stream and bucket;
//! - [`dlq`]: the dead letters, and their replay in front of their consumer;
//! - [`recent`]: how much arrived on a subject lately, and when the last one did,
//!   counted by JetStream without reading the messages.
//!
//! Reads only, except [`dlq::replay_one`], which an operator asks for by name.

pub mod dlq;
pub mod recent;
pub mod trace;
pub mod trail;

pub use trace::{TraceQuery, collect};
