//! `switchboard-analytics`: booking-rate reconciliation — what the AI agent said about each
//! call against what ServiceTitan says, per tenant-local day. The pure core ([`facts`],
//! [`rates`], [`Engine`], [`translate`], [`page`]) is described below; the service around
//! it ([`Application`]: EVENTS and the export sweep → facts bucket → projection →
//! debounced publishing, plus the read API and the page) is described in `service/mod.rs`.
//! A call's class is [`switchboard_config::CallClass`], the one vocabulary shared with the
//! agent's events and the calls worker's policy.
//!
//! # Why it is shaped this way: derived, never incremented
//!
//! The two sides report independently and unreliably: an agent event may be redelivered, a
//! ServiceTitan poll returns the same call again and again, a dispatcher reclassifies a call
//! two days later, and events arrive out of order. A service that kept running counters
//! ("booked += 1 on each booked event") would double count redeliveries, miss or misapply
//! reclassifications and drift from ServiceTitan's own report with no way back.
//!
//! So there are no counters. The only state is **facts**: per call, the latest version of
//! each side's view ([`facts`]). Merging a fact is a last-writer-wins register per view
//! (greatest `observed_at`, ties broken by a total order over the content), i.e. taking a
//! maximum: commutative, associative and idempotent. Any order, any duplicates, any
//! lateness of the same updates yields the same facts.
//!
//! Every **figure** is a pure function of the facts ([`rates`]): a day's snapshot is
//! recomputed from the facts of the calls on that day. [`batch_snapshots`] is the plain
//! definition over final facts; the [`Engine`] produces the same values incrementally by
//! knowing which days an update touches (its index day → calls) and recomputing only those
//! — a day is ~33k calls at 1M calls a month, a sub-millisecond scan. Redelivery, replay
//! from the start of a stream or a restart therefore cannot skew a figure: recomputation
//! is the recovery path and the normal path at once.
//!
//! # What counts
//!
//! * A call belongs to the local calendar day, in the tenant's IANA zone ([`TenantZone`],
//!   DST-correct), of its start: the agent view's `started_at` (the ServiceTitan view's
//!   only matters while the agent view is missing, and such a call does not count).
//! * Only calls with an agent view count, in both views, so that the agent figures and the
//!   ServiceTitan figures are over the same calls and comparable. ServiceTitan-only calls
//!   (calls the agent never handled) are kept in the facts — the agent view may still
//!   arrive — but are excluded from every figure.
//! * Booking rate as ServiceTitan defines it: `booked / (booked + unbooked)`; excused and
//!   not-a-lead calls are outside it, abandoned calls are counted beside it, not in it.
//! * A discrepancy is a counted call whose agent class differs from ServiceTitan's,
//!   including calls ServiceTitan has not classified (yet).
//!
//! # Size
//!
//! The engine keeps a call in 80 bytes plus its key (key text in one arena, repeated
//! strings such as agent, business unit, campaign and reason interned), so a tenant-month
//! of 1M calls fits in about 150 MB; see `benches/analytics_engine.rs`.

pub mod console_page;
mod engine;
pub mod facts;
pub mod page;
pub mod rates;
mod service;
mod store;
pub mod translate;
pub mod zone;

pub use engine::Engine;
pub use facts::{AgentView, CallFacts, CallKey, Facts, StView, Update};
pub use rates::{
    Breakdown, Discrepancy, Figures, NONE_LABEL, Snapshot, batch_discrepancies, batch_snapshots,
    booking_rate, discrepancy_of,
};
pub use service::{
    ANALYTICS_STREAM, Analytics, Application, DiscrepancyMessage, DiscrepancyStatus, FACTS_BUCKET,
    SNAPSHOTS_BUCKET, STATE_BUCKET, analytics_stream_config, discrepancy_subject, dry_run_subject,
    snapshot_subject,
};
pub use zone::{TenantZone, ZoneError};
