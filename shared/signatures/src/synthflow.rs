//! `synthflow`: Synthflow signs its post-call webhook with HMAC-SHA256 (base64) keyed with
//! the webhook secret, over the call's `call_id` only.
//!
//! That authenticates the call id, not the body: one genuine signature lets whoever holds
//! it send any body for that call, at any time (nothing is timestamped). It is what
//! Synthflow offers; docs/signatures.md says so. The header's wire name is not documented
//! (Synthflow's page shows Django's `HTTP_SYNTHFLOW_SIGNATURE`), so the default accepts
//! the spellings that maps from, and `header` pins one.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::token::field;
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use secrecy::SecretSlice;

pub const DEFAULT_HEADERS: [&str; 2] = ["x-synthflow-signature", "synthflow-signature"];

#[derive(Debug)]
pub struct Synthflow {
    header: Option<String>,
    keys: MacKeys,
}

impl Synthflow {
    pub fn new(header: Option<&str>, secrets: &[SecretSlice<u8>]) -> Self {
        Self {
            header: header.map(str::to_ascii_lowercase),
            keys: MacKeys::new(MacAlgorithm::Sha256, secrets),
        }
    }
}

impl Verifier for Synthflow {
    fn scheme(&self) -> &'static str {
        "synthflow"
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        let pinned;
        let names: &[&str] = match &self.header {
            Some(h) => {
                pinned = [h.as_str()];
                &pinned
            }
            None => &DEFAULT_HEADERS,
        };
        let value = header(d.headers, names)?;
        let sig = decode_sig(value, SigEncoding::Base64, MacAlgorithm::Sha256)
            .ok_or_else(|| AuthFailure::MalformedHeader(names[0].to_owned()))?;
        let call_id = field(d.body, "call_id")?;
        if self.keys.any_verifies(&[call_id.as_bytes()], &sig) {
            Ok(Verified::with_id(None))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
