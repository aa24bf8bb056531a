//! `retell`: `x-retell-signature: v=<unix ms>,d=<hex HMAC-SHA256(api key, body + ms)>`.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, check_time, header};
use secrecy::SecretSlice;

const HEADER: &str = "x-retell-signature";

#[derive(Debug)]
pub struct Retell {
    keys: MacKeys,
    tolerance_secs: u64,
}

impl Retell {
    pub fn new(secrets: &[SecretSlice<u8>], tolerance_secs: u64) -> Self {
        Self {
            keys: MacKeys::new(MacAlgorithm::Sha256, secrets),
            tolerance_secs,
        }
    }
}

/// Splits `v=<ms>,d=<hex>` (either order).
fn parse(value: &str) -> Option<(&str, &str)> {
    let (mut v, mut d) = (None, None);
    for item in value.split(',') {
        match item.trim().split_once('=') {
            Some(("v", x)) => v = Some(x),
            Some(("d", x)) => d = Some(x),
            _ => return None,
        }
    }
    Some((v?, d?))
}

impl Verifier for Retell {
    fn scheme(&self) -> &'static str {
        "retell"
    }

    fn verify(&self, d: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection> {
        let value = header(d.headers, &[HEADER])?;
        let malformed = || AuthFailure::MalformedHeader(HEADER.into());
        let (ms, digest) = parse(value).ok_or_else(malformed)?;
        if ms.is_empty() || ms.len() > 15 || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed().into());
        }
        let ts_ms: i64 = ms.parse().map_err(|_| malformed())?;
        check_time(ts_ms, now_ms, self.tolerance_secs)?;
        let sig =
            decode_sig(digest, SigEncoding::Hex, MacAlgorithm::Sha256).ok_or_else(malformed)?;
        if self.keys.any_verifies(&[d.body, ms.as_bytes()], &sig) {
            Ok(Verified::with_id(None))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
