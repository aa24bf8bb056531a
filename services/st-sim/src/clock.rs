//! One place for st-sim's idea of the current time, as ServiceTitan writes it (RFC 3339,
//! UTC): `modifiedOn` stamps from the API and admin endpoints, and webhook timestamps.
//! Lives outside `api` so `webhooks` does not depend on the HTTP handlers.

pub(crate) fn now() -> String {
    // `Z`, and fractional seconds without trailing zeros (none when zero): as always.
    jiff::Timestamp::now().to_string()
}

/// When st-sim says reference data (call reasons, tag types, business units, shifts) was
/// created and last changed: the seed keeps no such times, and ServiceTitan's schema needs
/// a date-time there, not an empty string.
pub(crate) const SEEDED_AT: &str = "2026-01-01T00:00:00Z";
