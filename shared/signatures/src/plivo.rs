//! `plivo`: Plivo's V3 signature. `X-Plivo-Signature-V3` (or `X-Plivo-Signature-Ma-V3`,
//! signed with the main account's token) holds one or more comma-separated base64
//! HMAC-SHA256 signatures keyed with the Auth Token, over
//!
//! ```text
//! {url without query}[?{query, decoded, sorted k=v joined by &}[.]]{form params sorted, k+v}.{nonce}
//! ```
//!
//! with the nonce from `X-Plivo-Signature-V3-Nonce`. Plivo's SDKs disagree on the string
//! (plivo-node writes `k=v` for the form part); this follows plivo-python's
//! `validate_v3_signature`, which plivo-go and plivo-ruby agree with for ordinary URLs
//! (docs/signatures.md). Whether the request was a GET or a POST needs no telling: a GET
//! has no form parameters, and the two shapes coincide then.
//!
//! No timestamp is signed, so a captured delivery can be replayed; ingest's dedup id (the
//! SHA-256 of the signed string without the nonce) makes a replay a duplicate, not a
//! second event.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::twilio::{is_form, parse_form};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use secrecy::SecretSlice;

const SIGNATURE: &str = "x-plivo-signature-v3";
const SIGNATURE_MAIN: &str = "x-plivo-signature-ma-v3";
const NONCE: &str = "x-plivo-signature-v3-nonce";
/// More comma-separated signatures than this is not a rotation but an attempt to make us
/// compute many MACs.
const MAX_SIGNATURES: usize = 8;

#[derive(Debug)]
pub struct Plivo {
    keys: MacKeys,
}

impl Plivo {
    pub fn new(auth_tokens: &[SecretSlice<u8>]) -> Self {
        Self {
            keys: MacKeys::new(MacAlgorithm::Sha256, auth_tokens),
        }
    }
}

/// `k=v` pairs sorted by key, then value (Python's `sorted` over the parsed lists).
fn sorted(mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    params.sort_unstable();
    params
}

/// The string Plivo signs, before `.{nonce}`.
pub(crate) fn signed_string(url: &str, form: Vec<(String, String)>) -> Result<String, String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, parse_form(q.as_bytes())?),
        None => (url, Vec::new()),
    };
    let query = sorted(query)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut out = base.to_owned();
    if form.is_empty() {
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
        return Ok(out);
    }
    out.push('?');
    if !query.is_empty() {
        out.push_str(&query);
        out.push('.');
    }
    for (k, v) in sorted(form) {
        out.push_str(&k);
        out.push_str(&v);
    }
    Ok(out)
}

impl Verifier for Plivo {
    fn scheme(&self) -> &'static str {
        "plivo"
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        // Plivo may send both: `-V3` signed with the (sub)account's token, `-Ma-V3` with the
        // main account's. Either configured token must do, so both lists are checked.
        let lists: Vec<(&str, &str)> = [SIGNATURE, SIGNATURE_MAIN]
            .into_iter()
            .filter_map(|name| Some((name, d.headers.get(name)?.to_str().ok()?)))
            .collect();
        if lists.is_empty() {
            // Missing, or present but not visible ASCII.
            header(d.headers, &[SIGNATURE, SIGNATURE_MAIN])?;
        }
        let nonce = header(d.headers, &[NONCE])?;
        if nonce.is_empty() {
            return Err(AuthFailure::MalformedHeader(NONCE.into()).into());
        }
        let form = if d.body.is_empty() {
            Vec::new()
        } else if is_form(d) {
            parse_form(d.body).map_err(Rejection::BadRequest)?
        } else {
            return Err(Rejection::UnsupportedMediaType(
                "plivo callbacks must be application/x-www-form-urlencoded (or a GET)".into(),
            ));
        };
        let signed = signed_string(d.url, form).map_err(Rejection::BadRequest)?;
        let parts: [&[u8]; 3] = [signed.as_bytes(), b".", nonce.as_bytes()];
        let mut any = false;
        let entries = lists
            .iter()
            .flat_map(|(name, list)| list.split(',').map(move |e| (*name, e)));
        for (i, (name, encoded)) in entries.enumerate() {
            if i == MAX_SIGNATURES {
                return Err(AuthFailure::MalformedHeader(name.into()).into());
            }
            // Every listed signature is checked (no early exit): timing does not tell which.
            if let Some(sig) = decode_sig(encoded.trim(), SigEncoding::Base64, MacAlgorithm::Sha256)
            {
                any |= self.keys.any_verifies(&parts, &sig);
            }
        }
        if any {
            Ok(Verified::with_id(Some(crate::sha256_hex(
                signed.as_bytes(),
            ))))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}
