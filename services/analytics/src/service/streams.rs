//! Stream and bucket names, their configurations and the subjects published on: the wire
//! contract other services and consumers rely on, kept apart from the code that uses it.

use crate::rates::Discrepancy;
use async_nats::jetstream::stream;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use switchboard_bus::async_nats;

/// ServiceTitan calls older than this many days are not kept from the export sweep (the
/// API answers at most a year).
pub(super) const HISTORY_DAYS: i64 = 400;

/// Per-call facts, `{tenant}.{call}`.
pub const FACTS_BUCKET: &str = "ANALYTICS_FACTS";
/// The latest snapshot per tenant-day, `{tenant}.{yyyy-mm-dd}`.
pub const SNAPSHOTS_BUCKET: &str = "ANALYTICS_SNAPSHOTS";
/// Export cursors (`cursor.{tenant}`), published discrepancies (`disc.{tenant}.{call}`),
/// requests made (`asked.{tenant}.{call}`).
pub const STATE_BUCKET: &str = "ANALYTICS_STATE";
/// Snapshots and discrepancies for consumers.
pub const ANALYTICS_STREAM: &str = "ANALYTICS";

/// `ANALYTICS`: `analytics.{tenant}.booking_rate.{yyyy-mm-dd}`,
/// `analytics.{tenant}.discrepancy`, `analytics.{tenant}.reclassify.dry_run`; one message
/// kept per subject, so a consumer can ask for the latest.
pub fn analytics_stream_config(nats: &switchboard_config::NatsConfig) -> stream::Config {
    stream::Config {
        max_messages_per_subject: 1,
        allow_direct: true,
        ..switchboard_bus::file_stream(
            nats,
            ANALYTICS_STREAM,
            "Switchboard: booking-rate snapshots per tenant-day and discrepancies (latest per subject)",
            "analytics.>",
        )
    }
}

pub fn snapshot_subject(tenant: &str, date: Date) -> String {
    format!("analytics.{tenant}.booking_rate.{date}")
}

pub fn discrepancy_subject(tenant: &str) -> String {
    format!("analytics.{tenant}.discrepancy")
}

pub fn dry_run_subject(tenant: &str) -> String {
    format!("analytics.{tenant}.reclassify.dry_run")
}

/// What a [`DiscrepancyMessage`] announces (`status` in docs/schemas/analytics/discrepancy.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyStatus {
    /// `open`: new, or its classes changed.
    Open,
    /// `resolved`: the two views agree again.
    Resolved,
}

impl DiscrepancyStatus {
    /// The wire spelling, also the `status` label of the discrepancies metric.
    pub const fn as_str(self) -> &'static str {
        match self {
            DiscrepancyStatus::Open => "open",
            DiscrepancyStatus::Resolved => "resolved",
        }
    }
}

/// A message on `analytics.{tenant}.discrepancy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscrepancyMessage {
    pub tenant: String,
    pub status: DiscrepancyStatus,
    #[serde(flatten)]
    pub discrepancy: Discrepancy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st_call_id: Option<i64>,
    /// When it was seen resolved (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}
