//! `basic` and `bandwidth`: HTTP Basic authentication (RFC 7617).
//!
//! Like a static token it authenticates the sender, not the body. Bandwidth sends its
//! callbacks without credentials first and only retries with them after a `401` that
//! carries `WWW-Authenticate: Basic`; without that header it never retries and the event
//! is lost. So [`Verifier::challenge`] gives ingest the header for every 401 of these
//! schemes.
//!
//! The expected `username:password` pairs are kept as SHA-256 digests and compared with
//! the received pair's digest in constant time.

use crate::token::SecretDigests;
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretSlice};

pub const CHALLENGE: &str = "Basic realm=\"switchboard\", charset=\"UTF-8\"";

#[derive(Debug)]
pub struct Basic {
    scheme: &'static str,
    digests: SecretDigests,
}

impl Basic {
    /// `passwords`: any one may match (rotation), each with `username`.
    pub fn new(scheme: &'static str, username: &str, passwords: &[SecretSlice<u8>]) -> Self {
        Self {
            scheme,
            digests: SecretDigests::new(
                passwords
                    .iter()
                    .map(|p| vec![username.as_bytes(), b":", p.expose_secret()]),
            ),
        }
    }
}

impl Verifier for Basic {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn challenge(&self) -> Option<&'static str> {
        Some(CHALLENGE)
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        const AUTHORIZATION: &str = "authorization";
        let value = header(d.headers, &[AUTHORIZATION])?.trim();
        let encoded = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
            _ => return Err(AuthFailure::MalformedHeader(AUTHORIZATION.into()).into()),
        };
        let pair = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .filter(|p| p.contains(&b':'))
            .ok_or_else(|| AuthFailure::MalformedHeader(AUTHORIZATION.into()))?;
        if self.digests.matches(&pair) {
            Ok(Verified::with_id(None))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
