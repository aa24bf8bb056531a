//! `telnyx`: Ed25519 over `{telnyx-timestamp}|{body}`, verified with the account's
//! base64 public key(s). The dedup id is the event's `data.id`.

use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, check_time, header, parse_secs};
use ed25519_dalek::{Signature, VerifyingKey};

const SIGNATURE: &str = "telnyx-signature-ed25519";
const TIMESTAMP: &str = "telnyx-timestamp";

#[derive(Debug)]
pub struct Telnyx {
    keys: Vec<VerifyingKey>,
    tolerance_secs: u64,
}

/// Decodes a base64 Ed25519 public key.
pub fn decode_public_key(b64: &str) -> Option<VerifyingKey> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
}

impl Telnyx {
    pub fn new(keys: Vec<VerifyingKey>, tolerance_secs: u64) -> Self {
        Self {
            keys,
            tolerance_secs,
        }
    }
}

/// `data.id` of a Telnyx event, read without parsing the rest of the body.
fn event_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        data: Option<Data<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    let event: Event<'_> = serde_json::from_slice(body).ok()?;
    Some(event.data?.id?.into_owned())
}

impl Verifier for Telnyx {
    fn scheme(&self) -> &'static str {
        "telnyx"
    }

    fn verify(&self, d: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection> {
        use base64::Engine;
        let sig_b64 = header(d.headers, &[SIGNATURE])?;
        let ts = header(d.headers, &[TIMESTAMP])?;
        let ts_secs = parse_secs(ts, TIMESTAMP)?;
        check_time(ts_secs.saturating_mul(1000), now_ms, self.tolerance_secs)?;
        let sig_bytes: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(sig_b64.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuthFailure::MalformedHeader(SIGNATURE.into()))?;
        let sig = Signature::from_bytes(&sig_bytes);
        let mut message = Vec::with_capacity(ts.len() + 1 + d.body.len());
        message.extend_from_slice(ts.as_bytes());
        message.push(b'|');
        message.extend_from_slice(d.body);
        let ok = self
            .keys
            .iter()
            .fold(false, |ok, k| k.verify_strict(&message, &sig).is_ok() | ok);
        if ok {
            Ok(Verified::with_id(event_id(d.body)))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
