//! `jwt`, `vonage` and `dialpad`: an HS256 JSON Web Token keyed with the shared secret.
//!
//! - **Where**: in a header (`Authorization: Bearer <jwt>` by default; Vonage's signed
//!   webhooks), or as the whole body (Dialpad, when the webhook has a secret: the event
//!   is the token's claims).
//! - **What is checked**: the header's `alg` is exactly `HS256` (`none` and every other
//!   algorithm fail closed, so a token cannot choose its own verification); the MAC over
//!   `{header}.{claims}` in constant time against every secret; `iat`, `nbf` and `exp`
//!   when present, within the tolerance; and, when a payload-hash claim is configured,
//!   that it holds the hex SHA-256 of the raw body (Vonage's `payload_hash`), so the token
//!   authenticates the body and not only the sender.
//!
//! Written here rather than with a JWT crate: only HS256 is accepted, over the MAC keys
//! every scheme already shares, and the crates that verify JWTs pull in RSA and EC
//! backends a webhook never uses.

use crate::mac::{MacAlgorithm, MacKeys};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, check_time, header};
use base64::Engine as _;
use secrecy::SecretSlice;

/// Where the token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtLocation {
    /// In this header, after an optional case-insensitive `Bearer `.
    Header(String),
    /// The whole body.
    Body,
}

#[derive(Debug)]
pub struct Jwt {
    scheme: &'static str,
    location: JwtLocation,
    payload_hash_claim: Option<String>,
    /// Whether a signed `iat` is required (a timestamp the tolerance can check).
    require_iat: bool,
    tolerance_secs: u64,
    keys: MacKeys,
}

/// Tokens longer than this are not webhook signatures.
const MAX_TOKEN: usize = 64 * 1024;

impl Jwt {
    pub fn new(
        scheme: &'static str,
        location: JwtLocation,
        payload_hash_claim: Option<String>,
        require_iat: bool,
        tolerance_secs: u64,
        secrets: &[SecretSlice<u8>],
    ) -> Self {
        Self {
            scheme,
            location,
            payload_hash_claim,
            require_iat,
            tolerance_secs,
            keys: MacKeys::new(MacAlgorithm::Sha256, secrets),
        }
    }

    fn name(&self) -> &str {
        match &self.location {
            JwtLocation::Header(h) => h,
            JwtLocation::Body => "body",
        }
    }

    fn token<'a>(&self, d: &Delivery<'a>) -> Result<&'a str, AuthFailure> {
        match &self.location {
            JwtLocation::Header(name) => {
                let value = header(d.headers, &[name])?.trim();
                Ok(match value.get(..7) {
                    Some(p) if p.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
                    _ => value,
                })
            }
            // Exactly the body: whitespace around it is not part of any token.
            JwtLocation::Body => {
                std::str::from_utf8(d.body).map_err(|_| AuthFailure::MalformedHeader("body".into()))
            }
        }
    }
}

/// A JWS part: unpadded base64url only (RFC 7515 §2). Padding is refused, or `=` appended to
/// a captured token would make a new body (a new dedup key) with the same signature.
fn b64(part: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()
}

/// The claims of a token whose signature one of `keys` made; `Err` says why not.
pub(crate) fn verify_hs256(
    token: &str,
    keys: &MacKeys,
    name: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, AuthFailure> {
    let malformed = || AuthFailure::MalformedHeader(name.to_owned());
    if token.len() > MAX_TOKEN {
        return Err(malformed());
    }
    let mut parts = token.split('.');
    let (Some(head), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: serde_json::Value =
        serde_json::from_slice(&b64(head).ok_or_else(malformed)?).map_err(|_| malformed())?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {}
        // Named in the answer, so bounded and printable: it is the sender's text.
        Some(other) => {
            let shown: String = other
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(32)
                .collect();
            return Err(AuthFailure::UnsupportedAlgorithm(shown));
        }
        None => return Err(malformed()),
    }
    let sig = b64(sig).filter(|s| s.len() == 32).ok_or_else(malformed)?;
    let signed: [&[u8]; 3] = [head.as_bytes(), b".", claims.as_bytes()];
    if !keys.any_verifies(&signed, &sig) {
        return Err(AuthFailure::BadSignature);
    }
    match serde_json::from_slice(&b64(claims).ok_or_else(malformed)?) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(malformed()),
    }
}

/// A numeric date claim (seconds), if present; present but not a number is malformed.
fn date(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
    source: &str,
) -> Result<Option<i64>, AuthFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|s| s.is_finite())
            .map(|s| Some((s * 1000.0) as i64))
            .ok_or_else(|| AuthFailure::MalformedHeader(format!("{source} claim {name}"))),
    }
}

impl Verifier for Jwt {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn verify(&self, d: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection> {
        let token = self.token(d)?;
        let claims = verify_hs256(token, &self.keys, self.name())?;
        let tolerance_ms =
            i64::try_from(self.tolerance_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        match date(&claims, "iat", self.name())? {
            Some(iat) => check_time(iat, now_ms, self.tolerance_secs)?,
            None if self.require_iat => {
                return Err(
                    AuthFailure::MalformedHeader(format!("{} claim iat", self.name())).into(),
                );
            }
            None => {}
        }
        if let Some(exp) = date(&claims, "exp", self.name())?
            && now_ms > exp.saturating_add(tolerance_ms)
        {
            return Err(AuthFailure::StaleTimestamp.into());
        }
        if let Some(nbf) = date(&claims, "nbf", self.name())?
            && now_ms < nbf.saturating_sub(tolerance_ms)
        {
            return Err(AuthFailure::FutureTimestamp.into());
        }
        // The body's hash, where configured. In body location the token is the body.
        if let (Some(claim), JwtLocation::Header(_)) = (&self.payload_hash_claim, &self.location)
            && (!d.body.is_empty() || claims.contains_key(claim))
        {
            let expected = claims.get(claim).and_then(|v| v.as_str()).ok_or_else(|| {
                AuthFailure::MalformedHeader(format!("{} claim {claim}", self.name()))
            })?;
            crate::check_body_hash(d.body, expected)?;
        }
        // A body token's dedup key is its signed part (`header.claims`), so the same event
        // re-sent, however the token is dressed, is one delivery.
        let id = match self.location {
            JwtLocation::Body => token
                .rsplit_once('.')
                .map(|(signed, _)| crate::sha256_hex(signed.as_bytes())),
            JwtLocation::Header(_) => None,
        };
        Ok(Verified::with_id(id))
    }
}
