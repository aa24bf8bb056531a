//! `standard-webhooks` (<https://www.standardwebhooks.com>, also Svix): HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, key = base64 of the part after `whsec_`,
//! signature header a space-separated list of `v1,<base64>` entries.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, check_time, header, parse_secs};
use secrecy::SecretSlice;

const ID: [&str; 2] = ["webhook-id", "svix-id"];
const TIMESTAMP: [&str; 2] = ["webhook-timestamp", "svix-timestamp"];
const SIGNATURE: [&str; 2] = ["webhook-signature", "svix-signature"];

#[derive(Debug)]
pub struct StandardWebhooks {
    keys: MacKeys,
    tolerance_secs: u64,
}

/// Decodes a `whsec_<base64>` secret (the prefix is optional) into key bytes.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .filter(|k| !k.is_empty())
}

impl StandardWebhooks {
    /// `keys` are already decoded (see [`decode_secret`]).
    pub fn new(keys: &[SecretSlice<u8>], tolerance_secs: u64) -> Self {
        Self {
            keys: MacKeys::new(MacAlgorithm::Sha256, keys),
            tolerance_secs,
        }
    }
}

impl Verifier for StandardWebhooks {
    fn scheme(&self) -> &'static str {
        "standard-webhooks"
    }

    fn verify(&self, d: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection> {
        let id = header(d.headers, &ID)?;
        let ts = header(d.headers, &TIMESTAMP)?;
        let sigs = header(d.headers, &SIGNATURE)?;
        if id.is_empty() {
            return Err(AuthFailure::MalformedHeader(ID[0].into()).into());
        }
        let ts_secs = parse_secs(ts, TIMESTAMP[0])?;
        check_time(ts_secs.saturating_mul(1000), now_ms, self.tolerance_secs)?;
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", d.body];
        let mut saw_v1 = false;
        let mut ok = false;
        for entry in sigs.split_whitespace() {
            let Some(("v1", encoded)) = entry.split_once(',') else {
                continue;
            };
            saw_v1 = true;
            if let Some(sig) = decode_sig(encoded, SigEncoding::Base64, MacAlgorithm::Sha256) {
                ok |= self.keys.any_verifies(&parts, &sig);
            }
        }
        if !saw_v1 {
            return Err(AuthFailure::MalformedHeader(SIGNATURE[0].into()).into());
        }
        if ok {
            Ok(Verified::with_id(Some(id.to_owned())))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
