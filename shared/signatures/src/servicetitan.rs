//! `servicetitan`: HMAC-SHA256 of the raw body in one header.
//!
//! ServiceTitan does not publicly document its webhook signature header or encoding. The
//! default header `X-ServiceTitan-Signature` and "hex or base64, optional `sha256=`
//! prefix" are the most common conventions; both header and encoding are configurable so
//! an operator can match what their ServiceTitan account actually sends.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use secrecy::SecretSlice;

pub const DEFAULT_HEADER: &str = "x-servicetitan-signature";

#[derive(Debug)]
pub struct ServiceTitan {
    header: String,
    encoding: SigEncoding,
    keys: MacKeys,
}

impl ServiceTitan {
    /// `header` must be a lowercase header name.
    pub fn new(secrets: &[SecretSlice<u8>], header: Option<&str>, encoding: SigEncoding) -> Self {
        Self {
            header: header.unwrap_or(DEFAULT_HEADER).to_ascii_lowercase(),
            encoding,
            keys: MacKeys::new(MacAlgorithm::Sha256, secrets),
        }
    }
}

impl Verifier for ServiceTitan {
    fn scheme(&self) -> &'static str {
        "servicetitan"
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        let value = header(d.headers, &[&self.header])?;
        let value = value.trim();
        let encoded = value
            .strip_prefix("sha256=")
            .or_else(|| value.strip_prefix("SHA256="))
            .unwrap_or(value);
        let sig = decode_sig(encoded, self.encoding, MacAlgorithm::Sha256)
            .ok_or_else(|| AuthFailure::MalformedHeader(self.header.clone()))?;
        if self.keys.any_verifies(&[d.body], &sig) {
            Ok(Verified::with_id(None))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
