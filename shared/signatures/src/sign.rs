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

/// `plivo`: the `X-Plivo-Signature-V3` value for a POST of `form` to `url` with `nonce`,
/// as Plivo's V3 documentation and plivo-python's `validate_v3_signature` build it: the
/// URL without its query; `?` and the decoded query pairs sorted, `k=v` joined by `&`;
/// then, for a POST with parameters, `.` (only after a query) and every parameter sorted
/// as `key` + `value`; then `.` and the nonce. HMAC-SHA256, base64.
pub fn plivo(auth_token: &[u8], url: &str, form: &[(&str, &str)], nonce: &str) -> String {
    let s = format!("{}.{nonce}", plivo_string(url, form));
    hmac(
        MacAlgorithm::Sha256,
        auth_token,
        &[s.as_bytes()],
        SigEncoding::Base64,
    )
}

/// The string [`plivo`] signs, before `.{nonce}`.
pub fn plivo_string(url: &str, form: &[(&str, &str)]) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.sort();
    let mut s = base.to_owned();
    match (query.is_empty(), form.is_empty()) {
        (true, true) => {}
        (false, true) => s += &format!("?{}", query.join("&")),
        (true, false) => s.push('?'),
        (false, false) => s += &format!("?{}.", query.join("&")),
    }
    for (k, v) in form {
        s += k;
        s += v;
    }
    s
}

fn percent_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HS256 JWT over `claims` (RFC 7519): `vonage` (in `Authorization: Bearer`, with
/// `payload_hash` the hex SHA-256 of the body), `dialpad` (the token is the body), `jwt`.
pub fn jwt_hs256(secret: &[u8], claims: &serde_json::Value) -> String {
    let url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let head = url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = url(claims.to_string().as_bytes());
    let mac =
        MacKey::new(MacAlgorithm::Sha256, secret).sign(&[head.as_bytes(), b".", body.as_bytes()]);
    format!("{head}.{body}.{}", url(&mac))
}

/// `basic` / `bandwidth`: the `Authorization` value (RFC 7617).
pub fn basic(username: &str, password: &str) -> String {
    format!("Basic {}", b64(format!("{username}:{password}").as_bytes()))
}

/// `elevenlabs`: `ElevenLabs-Signature: t={t},v0={hex HMAC-SHA256 of "{t}.{body}"}`.
pub fn elevenlabs(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let sig = hmac(
        MacAlgorithm::Sha256,
        secret,
        &[t.as_bytes(), b".", body],
        SigEncoding::Hex,
    );
    format!("t={t},v0={sig}")
}

/// `callrail`: the `Signature` header, base64 HMAC-SHA1 of the body keyed with the
/// company's signing key as written (not hex-decoded).
pub fn callrail(key: &[u8], body: &[u8]) -> String {
    hmac(MacAlgorithm::Sha1, key, &[body], SigEncoding::Base64)
}

/// `bland`: `X-Webhook-Signature`, hex HMAC-SHA256 of the body.
pub fn bland(secret: &[u8], body: &[u8]) -> String {
    hmac(MacAlgorithm::Sha256, secret, &[body], SigEncoding::Hex)
}

/// `synthflow`: base64 HMAC-SHA256 of the call id.
pub fn synthflow(secret: &[u8], call_id: &str) -> String {
    hmac(
        MacAlgorithm::Sha256,
        secret,
        &[call_id.as_bytes()],
        SigEncoding::Base64,
    )
}
