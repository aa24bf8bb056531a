//! Tenant and source names, checked once where the config is read: they become NATS subject
//! tokens and URL path segments, so nothing downstream has to escape them.

use serde::Deserialize;
use std::fmt;

/// A tenant or source name: `[a-z0-9_-]+`, so it is safe as one NATS subject token and as
/// one URL path segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn new(s: &str) -> Result<Self, String> {
        if !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a valid name: use 1 to 64 characters from [a-z0-9_-] \
                 (names become NATS subject tokens and URL segments)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Name::new(&s).map_err(serde::de::Error::custom)
    }
}
