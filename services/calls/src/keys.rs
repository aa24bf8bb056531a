//! Every key the calls worker reads or writes in its KV buckets, one function per key
//! shape, so the shapes live in one place and cannot drift between the code that writes a
//! key and the code that reads it. The strings are a storage format: a running deployment
//! has keys in these shapes, so they must stay byte-identical.
//!
//! `CALLS_LEDGER` ([`crate::ledger`]; every key goes through [`kv_key`] there):
//! - `{event id}`: the claim → done record of an event (the event id as is);
//! - `lock.{tenant}.{call}`, `lock.{tenant}.appt.{appointment}`: per-call and
//!   per-appointment locks;
//! - `corr.{tenant}.{provider}.{provider call id}` → ServiceTitan call id, and
//!   `corrst.{tenant}.{ServiceTitan call id}` → its owner, `{provider}.{provider call id}`;
//! - `written.{event id}`: a ServiceTitan write made for an event, not yet announced;
//! - `applied.{tenant}.{call}`: the time of the last outcome applied to a call;
//! - `appt.{tenant}.{appointment}`: the last confirmation answer applied.
//!
//! The export mirror ([`crate::mirror`]): `ST_CALLS` `{tenant}.{call}`, `ST_LOCATIONS`
//! `{tenant}.{location}`, `ST_CURSORS` `{tenant}.{export}` (`calls`, `locations`,
//! `contacts`).

/// A valid KV key: dot-separated tokens kept, anything outside `[A-Za-z0-9_-]` in a token
/// escaped as `=XX` (injective, so two distinct keys never share an entry).
pub(crate) fn kv_key(key: &str) -> String {
    key.split('.')
        .map(switchboard_bus::bucket::key_token)
        .collect::<Vec<_>>()
        .join(".")
}

/// `CALLS_LEDGER`: the lock on ServiceTitan call `call_id` (one writer per call).
pub(crate) fn call_lock(tenant: &str, call_id: i64) -> String {
    format!("lock.{tenant}.{call_id}")
}

/// `CALLS_LEDGER`: the lock on ServiceTitan appointment `appointment`.
pub(crate) fn appointment_lock(tenant: &str, appointment: i64) -> String {
    format!("lock.{tenant}.appt.{appointment}")
}

/// `CALLS_LEDGER`: which ServiceTitan call a provider's call is.
pub(crate) fn correlation(tenant: &str, provider: &str, provider_call_id: &str) -> String {
    format!("corr.{tenant}.{provider}.{provider_call_id}")
}

/// `CALLS_LEDGER`: which provider's call ([`owner`]) ServiceTitan call `st_call_id` is.
pub(crate) fn correlation_owner(tenant: &str, st_call_id: i64) -> String {
    format!("corrst.{tenant}.{st_call_id}")
}

/// The value under [`correlation_owner`]: a provider's call, `{provider}.{provider call id}`.
pub(crate) fn owner(provider: &str, provider_call_id: &str) -> String {
    format!("{provider}.{provider_call_id}")
}

/// `CALLS_LEDGER`: the record of a ServiceTitan write made for event `event_id`.
pub(crate) fn written(event_id: &str) -> String {
    format!("written.{event_id}")
}

/// `CALLS_LEDGER`: the time of the last outcome applied to ServiceTitan call `call_id`.
pub(crate) fn applied(tenant: &str, call_id: i64) -> String {
    format!("applied.{tenant}.{call_id}")
}

/// `CALLS_LEDGER`: the last confirmation answer applied to `appointment`
/// (value `{confirmed|declined} {event time}`).
pub(crate) fn appointment_state(tenant: &str, appointment: i64) -> String {
    format!("appt.{tenant}.{appointment}")
}

/// `ST_CALLS` (call `id`) and `ST_LOCATIONS` (location `id`): a mirrored record.
pub(crate) fn mirrored(tenant: &str, id: i64) -> String {
    format!("{tenant}.{id}")
}

/// `ST_CURSORS`: the cursor of one of the tenant's exports (`calls`, `locations`,
/// `contacts`); also the name of the in-process gate that runs one sync of it at a time.
pub(crate) fn cursor(tenant: &str, export: &str) -> String {
    format!("{tenant}.{export}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shapes_are_the_stored_ones() {
        assert_eq!(call_lock("acme", 9001), "lock.acme.9001");
        assert_eq!(appointment_lock("acme", 5001), "lock.acme.appt.5001");
        assert_eq!(correlation("acme", "agent", "ag_1"), "corr.acme.agent.ag_1");
        assert_eq!(correlation_owner("acme", 9001), "corrst.acme.9001");
        assert_eq!(owner("agent", "ag_1"), "agent.ag_1");
        assert_eq!(written("e-1"), "written.e-1");
        assert_eq!(applied("acme", 9001), "applied.acme.9001");
        assert_eq!(appointment_state("acme", 5001), "appt.acme.5001");
        assert_eq!(mirrored("acme", 42), "acme.42");
        assert_eq!(cursor("acme", "calls"), "acme.calls");
        assert_eq!(kv_key("corr.acme.agent.a b"), "corr.acme.agent.a=20b");
    }
}
