//! The calls worker (issue 5) — so far its pure core, the part that decides:
//!
//! - [`policy`]: a tenant's outcome → ServiceTitan mapping, validated against the tenant's
//!   real call reasons and tag types (an unknown name is a start-up error naming it), and
//!   the *desired* call record for an outcome — `None` when ServiceTitan already matches,
//!   so a repeated or replayed outcome writes nothing;
//! - [`matching`]: which ServiceTitan call an agent's call is, by caller and called number
//!   within a window around its start: one, ambiguous (dead-letter with the candidates) or
//!   none yet (retry until a horizon: ServiceTitan records lag).
//!
//! - [`facts`]: ServiceTitan's call export mirrored into JetStream KV from a persisted
//!   cursor — the `excuseMemo`, `tag` and location a call update must send back.
//!
//! The worker around it (consumers, KV idempotency ledger, per-call locks, DLQ) is the rest
//! of issue 5; see docs/architecture.md.
#![forbid(unsafe_code)]

pub mod facts;
pub mod matching;
pub mod policy;
