//! Signers: the provider side of every scheme. The test harness and the operator CLI use
//! these to produce deliveries that ingest must accept. They share the MAC code with the
//! verifiers, so the published vectors (tests/vectors.rs) keep both sides honest.

use crate::mac::{MacAlgorithm, MacKey, SigEncoding, encode_sig};
use base64::Engine;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The MAC of the concatenated `parts`, encoded.
pub fn hmac(alg: MacAlgorithm, key: &[u8], parts: &[&[u8]], encoding: SigEncoding) -> String {
    encode_sig(&MacKey::new(alg, key).sign(parts), encoding)
}

/// `servicetitan`: the header value for `body` (hex unless `encoding` is base64).
pub fn servicetitan(secret: &[u8], body: &[u8], encoding: SigEncoding) -> String {
    hmac(MacAlgorithm::Sha256, secret, &[body], encoding)
}

/// `standard-webhooks`: the `webhook-signature` value (`v1,<base64>`). `secret` is
/// `whsec_<base64>`; `None` if it does not decode.
pub fn standard_webhooks(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = crate::standard_webhooks::decode_secret(secret)?;
    let ts = timestamp.to_string();
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
    Some(format!(
        "v1,{}",
        hmac(MacAlgorithm::Sha256, &key, &parts, SigEncoding::Base64)
    ))
}

/// `twilio` form delivery: `X-Twilio-Signature` for `url` and the form `params`.
pub fn twilio_form(
    auth_token: &[u8],
    url: &str,
    params: &[(&str, &str)],
    alg: MacAlgorithm,
) -> String {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let suffix = crate::twilio::signed_params(&owned);
    hmac(
        alg,
        auth_token,
        &[url.as_bytes(), suffix.as_bytes()],
        SigEncoding::Base64,
    )
}

/// `twilio` JSON delivery: appends `bodySHA256` to `url`; returns that URL and the signature.
pub fn twilio_json(
    auth_token: &[u8],
    url: &str,
    body: &[u8],
    alg: MacAlgorithm,
) -> (String, String) {
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}bodySHA256={}", crate::sha256_hex(body));
    let sig = hmac(alg, auth_token, &[url.as_bytes()], SigEncoding::Base64);
    (url, sig)
}

/// `application/x-www-form-urlencoded` encoding of `params` (space as `+`).
pub fn form_encode(params: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

/// `telnyx`: base64 Ed25519 signature of `{timestamp}|{body}` with the 32-byte key seed.
pub fn telnyx(seed: &[u8; 32], timestamp: i64, body: &[u8]) -> String {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let mut message = format!("{timestamp}|").into_bytes();
    message.extend_from_slice(body);
    b64(&key.sign(&message).to_bytes())
}

/// The base64 public key for a Telnyx signing seed (what the `telnyx` source is configured with).
pub fn telnyx_public_key(seed: &[u8; 32]) -> String {
    b64(ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .as_bytes())
}

/// `retell`: the `x-retell-signature` value for `body` at `timestamp_ms`.
pub fn retell(api_key: &[u8], body: &[u8], timestamp_ms: i64) -> String {
    let ms = timestamp_ms.to_string();
    let digest = hmac(
        MacAlgorithm::Sha256,
        api_key,
        &[body, ms.as_bytes()],
        SigEncoding::Hex,
    );
    format!("v={ms},d={digest}")
}
