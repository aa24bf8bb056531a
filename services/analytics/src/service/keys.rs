//! Every KV key analytics reads or writes, and the message ids it publishes with, one
//! function per shape: the code that writes a key and the code that reads or watches it
//! cannot drift apart. The strings are a storage and dedup format — running deployments
//! have keys in these shapes and replicas must derive the same ids — so they must stay
//! byte-identical. Call keys are escaped with [`key_token`] (any character outside
//! `[A-Za-z0-9_-]` as `=XX`), tenant names are valid tokens already.
//!
//! - `ANALYTICS_FACTS` ([`FACTS_BUCKET`](super::FACTS_BUCKET)): `{tenant}.{call}`;
//! - `ANALYTICS_SNAPSHOTS` ([`SNAPSHOTS_BUCKET`](super::SNAPSHOTS_BUCKET)):
//!   `{tenant}.{yyyy-mm-dd}`;
//! - `ANALYTICS_STATE` ([`STATE_BUCKET`](super::STATE_BUCKET)): `cursor.{tenant}` (the
//!   export sweep's cursor), `disc.{tenant}.{call}` (an open discrepancy as published),
//!   `asked.{tenant}.{call}` (the call state a reclassification was requested for);
//! - message ids on `analytics.{tenant}.discrepancy`: `{tenant}.{call}.open.{content
//!   hash}` and `{tenant}.{call}.resolved.{since}`.

use jiff::Timestamp;
use jiff::civil::Date;
use switchboard_bus::bucket::key_token;

/// `ANALYTICS_FACTS`: the facts of `call`.
pub(super) fn facts(tenant: &str, call: &str) -> String {
    format!("{tenant}.{}", key_token(call))
}

/// The tenant of an `ANALYTICS_FACTS` key (its first token).
pub(super) fn tenant_of_facts(key: &str) -> &str {
    key.split('.').next().unwrap_or("")
}

/// `ANALYTICS_SNAPSHOTS`: the latest snapshot of a tenant-local day.
pub(super) fn snapshot(tenant: &str, date: Date) -> String {
    format!("{tenant}.{date}")
}

/// `ANALYTICS_STATE`: the tenant's export sweep cursor.
pub(super) fn cursor(tenant: &str) -> String {
    format!("cursor.{tenant}")
}

/// `ANALYTICS_STATE`: the open discrepancy of `call`, as published.
pub(super) fn discrepancy(tenant: &str, call: &str) -> String {
    format!("disc.{tenant}.{}", key_token(call))
}

/// `ANALYTICS_STATE`: the prefix (for a watch) of every [`discrepancy`] of the tenant.
pub(super) fn discrepancies(tenant: &str) -> String {
    format!("disc.{tenant}")
}

/// `ANALYTICS_STATE`: the call state a reclassification of `call` was requested for.
pub(super) fn asked(tenant: &str, call: &str) -> String {
    format!("asked.{tenant}.{}", key_token(call))
}

/// `ANALYTICS_STATE`: the prefix (for a watch) of every [`asked`] of the tenant.
pub(super) fn all_asked(tenant: &str) -> String {
    format!("asked.{tenant}")
}

/// Message id of an open (new or changed) discrepancy: `content` hashes the message, so
/// two replicas announcing the same state are deduplicated.
pub(super) fn open_message_id(tenant: &str, call: &str, content: u64) -> String {
    format!("{tenant}.{}.open.{content:016x}", key_token(call))
}

/// Message id of a resolved discrepancy, unique per the state it resolved.
pub(super) fn resolved_message_id(tenant: &str, call: &str, since: Timestamp) -> String {
    format!("{tenant}.{}.resolved.{since}", key_token(call))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_are_the_stored_ones() {
        let since: Timestamp = "2026-11-20T17:30:00Z".parse().unwrap();
        let date = jiff::civil::date(2026, 11, 20);
        assert_eq!(facts("demo", "ag_1"), "demo.ag_1");
        assert_eq!(facts("demo", "st:9003"), "demo.st=3A9003");
        assert_eq!(tenant_of_facts("demo.st=3A9003"), "demo");
        assert_eq!(snapshot("demo", date), "demo.2026-11-20");
        assert_eq!(cursor("demo"), "cursor.demo");
        assert_eq!(discrepancy("demo", "ag 1"), "disc.demo.ag=201");
        assert_eq!(discrepancies("demo"), "disc.demo");
        assert_eq!(asked("demo", "ag_1"), "asked.demo.ag_1");
        assert_eq!(all_asked("demo"), "asked.demo");
        assert_eq!(
            open_message_id("demo", "ag_1", 0xab),
            "demo.ag_1.open.00000000000000ab"
        );
        assert_eq!(
            resolved_message_id("demo", "ag_1", since),
            "demo.ag_1.resolved.2026-11-20T17:30:00Z"
        );
    }
}
