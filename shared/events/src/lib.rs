//! Switchboard's event vocabulary: canonical, provider-independent domain events carried as
//! CloudEvents 1.0 (structured JSON) on `events.{tenant}.{type}`, and the normalisers that
//! turn each provider's webhook payload into them.
//!
//! Everything here is pure: a normaliser is a function of the stored delivery (its bytes
//! and the headers ingest recorded) and nothing else — no clock, no randomness. That is what
//! makes replaying `INBOUND` reproduce byte-identical events: event ids derive from the
//! inbound dedup id and the event's index, times from the payload (or the time ingest
//! received it), and serialization order is fixed by the types.

mod cloudevent;
pub mod e164;
pub mod normalise;
pub mod schema;
pub mod tools;
pub mod types;

pub use cloudevent::{CloudEvent, event_id};
pub use normalise::{Delivery, Format, NormaliseError, normalise};
pub use types::*;
