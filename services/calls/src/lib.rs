//! `switchboard-calls`: makes every call the agent handled look right in ServiceTitan.
//! The worker ([`Application`]) is thin wiring around pure or self-contained parts:
//!
//! - [`policy`]: a tenant's outcome → ServiceTitan mapping, validated against the tenant's
//!   real call reasons and tag types (an unknown name is a start-up error naming it), and
//!   the *desired* call record for an outcome — `None` when ServiceTitan already matches,
//!   so a repeated or replayed outcome writes nothing;
//! - [`matching`]: which ServiceTitan call an agent's call is, by caller and called number
//!   within a window around its start: one, ambiguous (dead-letter with the candidates) or
//!   none yet (retry until a horizon: ServiceTitan records lag);
//! - [`mirror`]: ServiceTitan's call export mirrored into JetStream from a persisted cursor —
//!   the `excuseMemo`, `tag` and location a call update must send back;
//! - [`ledger`]: claim → done per event id with compare-and-set on JetStream, so an effect
//!   is applied once however often its event is delivered or replayed; also per-call locks.
//! - [`bookings`]: the job the booking service booked during a call, for a `booked`
//!   outcome that does not name it.

pub mod bookings;
mod keys;
pub mod ledger;
pub mod matching;
pub mod mirror;
pub mod policy;
mod worker;

pub use worker::{Application, CallsWorker};
