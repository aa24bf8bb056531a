//! The booking service: the voice agent's availability and booking tools, answered over
//! NATS request-reply on `tools.{tenant}.{tool}` (ingest's `POST /v1/tools/{tenant}/{source}`
//! is the public door), booking into ServiceTitan the way its CSRs do, within Adjustable
//! Capacity Planning and never overbooked by Switchboard itself.
//!
//! - [`capacity`]: the pure arithmetic of which windows may be offered;
//! - `tenant`: a business's catalog and capacity cache;
//! - `holds`: windows held (compare-and-set in a KV bucket) while a booking is checked
//!   and created, so concurrent bookings of one window take turns across replicas;
//! - `tools`: the tools themselves;
//! - `service`: the NATS service, the idempotency of request ids, and events;
//! - `reschedules`: a caller's "rescheduled" answer to a confirmation call, moved through
//!   the reschedule tool's path.
//!
//! See docs/booking.md.

pub mod capacity;
mod holds;
mod metrics;
mod reschedules;
mod service;
mod tenant;
mod tools;

pub use holds::HOLDS_BUCKET;
pub use reschedules::RESCHEDULES_DURABLE;
pub use service::{ANSWERS_BUCKET, Application, Booking};
pub use tools::REQUEST_ID_KEY;
