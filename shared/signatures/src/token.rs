//! `token`, `aircall`, `ringcentral` and Vapi's static secret: a shared token the provider
//! sends as is, in a named header or a top-level JSON field of the body.
//!
//! A static token authenticates the sender, not the body: anyone who sees one delivery
//! (a logging proxy, say) can send any body with it, and nothing dates it. Prefer a
//! provider's signing option where it has one (docs/signatures.md says so per provider).
//!
//! Tokens are kept as SHA-256 digests and compared digest to digest in constant time, so
//! neither their content nor their length leaks.

use crate::{AuthFailure, Delivery, Handshake, Rejection, Verified, Verifier, header};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Where the token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLocation {
    /// A header, with an optional prefix to strip (e.g. `Bearer `).
    Header {
        name: String,
        prefix: Option<String>,
    },
    /// A top-level string field of a JSON body.
    Field(String),
}

/// Static secrets as SHA-256 digests, any of which may match (rotation). A candidate is
/// compared digest to digest against every one, in constant time and without early exit.
#[derive(Debug)]
pub(crate) struct SecretDigests(Vec<SecretSlice<u8>>);

impl SecretDigests {
    /// The digests of each secret's bytes as `parts` of it give them.
    pub(crate) fn new<'a>(secrets: impl Iterator<Item = Vec<&'a [u8]>>) -> Self {
        Self(
            secrets
                .map(|parts| {
                    let mut h = Sha256::new();
                    parts.iter().for_each(|p| h.update(p));
                    SecretSlice::from(h.finalize().to_vec())
                })
                .collect(),
        )
    }

    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let digest = Sha256::digest(candidate);
        self.0.iter().fold(0u8, |ok, s| {
            ok | s.expose_secret().ct_eq(digest.as_slice()).unwrap_u8()
        }) == 1
    }
}

#[derive(Debug)]
pub struct StaticToken {
    scheme: &'static str,
    location: TokenLocation,
    digests: SecretDigests,
    /// RingCentral: answer a request carrying this header by echoing it (the
    /// subscription's validation), without storing anything.
    echo: Option<&'static str>,
    /// A top-level JSON field holding the provider's event id (RingCentral's `uuid`).
    id_field: Option<&'static str>,
}

impl StaticToken {
    pub fn new(scheme: &'static str, location: TokenLocation, secrets: &[SecretSlice<u8>]) -> Self {
        Self {
            scheme,
            location,
            digests: SecretDigests::new(secrets.iter().map(|s| vec![s.expose_secret()])),
            echo: None,
            id_field: None,
        }
    }

    /// RingCentral's webhook: `Verification-Token` on every notification, and the
    /// `Validation-Token` handshake when the subscription is created.
    pub fn ringcentral(secrets: &[SecretSlice<u8>]) -> Self {
        Self {
            echo: Some(RINGCENTRAL_VALIDATION),
            id_field: Some("uuid"),
            ..Self::new(
                "ringcentral",
                TokenLocation::Header {
                    name: "verification-token".into(),
                    prefix: None,
                },
                secrets,
            )
        }
    }
}

pub const RINGCENTRAL_VALIDATION: &str = "validation-token";
/// RingCentral's answer to the handshake must stay under 1 KB with its headers.
const MAX_ECHO: usize = 256;

/// The value of the top-level string field `name` of a JSON object body.
pub(crate) fn field(body: &[u8], name: &str) -> Result<String, Rejection> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|_| Rejection::BadRequest("the body is not a JSON object".into()))?;
    match object.get(name) {
        None => Err(AuthFailure::MissingField(name.to_owned()).into()),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(AuthFailure::MalformedField(name.to_owned()).into()),
    }
}

impl Verifier for StaticToken {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn handshake(&self, d: &Delivery<'_>) -> Option<Handshake> {
        let name = self.echo?;
        let value = d.headers.get(name)?.to_str().ok()?;
        (!value.is_empty() && value.len() <= MAX_ECHO).then(|| Handshake {
            header: name,
            value: value.to_owned(),
        })
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        let ok = match &self.location {
            TokenLocation::Header { name, prefix } => {
                let value = header(d.headers, &[name])?;
                let value = match prefix {
                    Some(p) => value
                        .strip_prefix(p.as_str())
                        .ok_or_else(|| AuthFailure::MalformedHeader(name.clone()))?,
                    None => value,
                };
                self.digests.matches(value.as_bytes())
            }
            TokenLocation::Field(name) => self.digests.matches(field(d.body, name)?.as_bytes()),
        };
        if ok {
            // The provider's event id, for dedup (RingCentral's `uuid`); a body without one
            // is deduplicated by its hash.
            let id = self.id_field.and_then(|f| field(d.body, f).ok());
            Ok(Verified::with_id(id))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
