//! `vapi`: Vapi's default server credential is a static secret sent in `x-vapi-secret`;
//! its HMAC credential is handled by [`crate::GenericHmac`] with Vapi's defaults.

use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const DEFAULT_SECRET_HEADER: &str = "x-vapi-secret";

/// Static shared secret in a header. Secrets are stored as SHA-256 digests and compared
/// digest to digest in constant time, so neither their content nor their length leaks.
#[derive(Debug)]
pub struct VapiSecret {
    header: String,
    digests: Vec<SecretSlice<u8>>,
}

impl VapiSecret {
    pub fn new(secrets: &[SecretSlice<u8>], header: Option<&str>) -> Self {
        Self {
            header: header.unwrap_or(DEFAULT_SECRET_HEADER).to_ascii_lowercase(),
            digests: secrets
                .iter()
                .map(|s| SecretSlice::from(Sha256::digest(s.expose_secret()).to_vec()))
                .collect(),
        }
    }
}

impl Verifier for VapiSecret {
    fn scheme(&self) -> &'static str {
        "vapi"
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        let provided = header(d.headers, &[&self.header])?;
        let digest = Sha256::digest(provided.as_bytes());
        let ok = self.digests.iter().fold(0u8, |ok, s| {
            ok | s.expose_secret().ct_eq(digest.as_slice()).unwrap_u8()
        });
        if ok == 1 {
            Ok(Verified::with_id(None))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
