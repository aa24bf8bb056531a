//! One place for st-sim's idea of the current time, as ServiceTitan writes it (RFC 3339,
//! UTC): `modifiedOn` stamps from the API and admin endpoints, and webhook timestamps.
//! Lives outside `api` so `webhooks` does not depend on the HTTP handlers.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}
