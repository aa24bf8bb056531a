//! A tenant's IANA time zone: which local calendar day a call belongs to.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A time zone name that the bundled IANA database does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown IANA time zone {name:?} (expected a name like \"America/Chicago\")")]
pub struct ZoneError {
    /// The name as given.
    pub name: String,
    #[source]
    source: jiff::Error,
}

/// A tenant's time zone, resolved from the IANA database bundled into the binary (the
/// runtime image need not have `/usr/share/zoneinfo`).
#[derive(Debug, Clone)]
pub struct TenantZone {
    name: String,
    tz: TimeZone,
}

impl TenantZone {
    /// Resolves an IANA name such as `America/Chicago`.
    pub fn new(name: &str) -> Result<Self, ZoneError> {
        let tz = TimeZone::get(name).map_err(|source| ZoneError {
            name: name.to_owned(),
            source,
        })?;
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(TenantZone { name, tz })
    }

    /// The IANA name (canonical spelling from the database).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's rules.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The local calendar day of an instant, with the offset in force at that instant (DST
    /// correct: the repeated hour of a fall-back day and the skipped one of a spring-forward
    /// day both resolve from the instant, never from a wall-clock time).
    pub fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_zone_is_a_clear_error() {
        let err = TenantZone::new("Mars/Olympus_Mons").expect_err("unknown");
        assert_eq!(err.name, "Mars/Olympus_Mons");
        assert!(
            err.to_string()
                .contains("unknown IANA time zone \"Mars/Olympus_Mons\"")
        );
        assert!(TenantZone::new("").is_err());
    }

    #[test]
    fn known_zone_keeps_its_name() {
        let z = TenantZone::new("America/Chicago").expect("bundled tzdb");
        assert_eq!(z.name(), "America/Chicago");
    }
}
