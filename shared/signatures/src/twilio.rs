//! `twilio`: `X-Twilio-Signature` = base64 HMAC-SHA1 (or HMAC-SHA256, when
//! `X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256`) keyed with the auth
//! token, over the URL Twilio called followed by the form parameters sorted by name (each
//! `name` + `value`; repeated names contribute each distinct value, sorted).
//!
//! JSON bodies are signed differently: Twilio puts `bodySHA256=<hex sha256 of body>` in the
//! query, signs only the URL, and the body must hash to that value.
//!
//! Twilio signs the URL *it* called, so the caller passes `Delivery::url` built from the
//! configured public URL, never from ingest's own address. Twilio's own libraries accept the
//! URL with and without the scheme's default port (`:443`/`:80`), since Twilio's signing is
//! inconsistent about it; so do we.

use crate::mac::{MacAlgorithm, MacKeys, SigEncoding, decode_sig};
use crate::{AuthFailure, Delivery, Rejection, Verified, Verifier, header};
use secrecy::SecretSlice;

const SIGNATURE: &str = "x-twilio-signature";
const SETTINGS: &str = "x-twilio-webhooks-signature-settings";

#[derive(Debug)]
pub struct Twilio {
    sha1: MacKeys,
    sha256: MacKeys,
}

impl Twilio {
    pub fn new(auth_tokens: &[SecretSlice<u8>]) -> Self {
        Self {
            sha1: MacKeys::new(MacAlgorithm::Sha1, auth_tokens),
            sha256: MacKeys::new(MacAlgorithm::Sha256, auth_tokens),
        }
    }
}

/// Which algorithm the settings header announces (absent: SHA-1). Unknown: fail closed.
fn algorithm(d: &Delivery<'_>) -> Result<MacAlgorithm, AuthFailure> {
    let Some(value) = d.headers.get(SETTINGS) else {
        return Ok(MacAlgorithm::Sha1);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthFailure::MalformedHeader(SETTINGS.into()))?;
    for item in value.split([';', ',']) {
        if let Some((k, v)) = item.trim().split_once('=')
            && k.trim().eq_ignore_ascii_case("algorithm")
        {
            return match v.trim().to_ascii_uppercase().as_str() {
                "HMAC_SHA256" | "HMAC-SHA256" => Ok(MacAlgorithm::Sha256),
                "HMAC_SHA1" | "HMAC-SHA1" => Ok(MacAlgorithm::Sha1),
                other => Err(AuthFailure::UnsupportedAlgorithm(other.to_owned())),
            };
        }
    }
    Err(AuthFailure::MalformedHeader(SETTINGS.into()))
}

/// The URL with the scheme's default port toggled: added when absent, removed when
/// present. `None` when the URL has a non-default port (only the URL as-is is valid then).
pub(crate) fn toggle_default_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // A port follows the last ':' unless that ':' is inside an IPv6 literal.
    let port_sep = hostport
        .rfind(':')
        .filter(|&i| !hostport[i..].contains(']'));
    let new_hostport = match port_sep {
        Some(i) if &hostport[i + 1..] == default => hostport[..i].to_owned(),
        Some(_) => return None,
        None => format!("{hostport}:{default}"),
    };
    let userinfo = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    Some(format!("{scheme}://{userinfo}{new_hostport}{tail}"))
}

/// Decodes `application/x-www-form-urlencoded` bytes. Invalid `%` escapes are kept
/// literally (as browsers and Python do); non-UTF-8 results are an error.
pub fn parse_form(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    fn decode(part: &[u8]) -> Result<String, String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    part.get(i + 1).and_then(hex_val),
                    part.get(i + 2).and_then(hex_val),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| "form body is not valid UTF-8 after decoding".to_owned())
    }
    bytes
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

fn hex_val(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Twilio's string-to-sign suffix: names sorted, each name's distinct values sorted.
pub(crate) fn signed_params(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len()).sum());
    for (k, v) in pairs {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

pub(crate) fn is_form(d: &Delivery<'_>) -> bool {
    d.headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn dedup_id(params: &[(String, String)]) -> Option<String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    Some(format!(
        "{}:{}:{}",
        get("CallSid")?,
        get("CallStatus")?,
        get("SequenceNumber")?
    ))
}

impl Verifier for Twilio {
    fn scheme(&self) -> &'static str {
        "twilio"
    }

    fn verify(&self, d: &Delivery<'_>, _now_ms: i64) -> Result<Verified, Rejection> {
        let alg = algorithm(d)?;
        let sig_b64 = header(d.headers, &[SIGNATURE])?;
        let sig = decode_sig(sig_b64, SigEncoding::Base64, alg)
            .ok_or_else(|| AuthFailure::MalformedHeader(SIGNATURE.into()))?;
        let keys = match alg {
            MacAlgorithm::Sha256 => &self.sha256,
            _ => &self.sha1,
        };
        let body_hash = d.query.and_then(|q| {
            parse_form(q.as_bytes())
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "bodySHA256")
                .map(|(_, v)| v)
        });
        let (suffix, params) = match &body_hash {
            Some(expected) => {
                crate::check_body_hash(d.body, expected)?;
                (String::new(), Vec::new())
            }
            None => {
                if !is_form(d) {
                    return Err(Rejection::UnsupportedMediaType(
                        "twilio webhooks must be application/x-www-form-urlencoded \
                         (or JSON with bodySHA256 in the URL)"
                            .into(),
                    ));
                }
                let params = parse_form(d.body).map_err(Rejection::BadRequest)?;
                (signed_params(&params), params)
            }
        };
        let alternate = toggle_default_port(d.url);
        let mut ok = keys.any_verifies(&[d.url.as_bytes(), suffix.as_bytes()], &sig);
        if let Some(alt) = &alternate {
            ok |= keys.any_verifies(&[alt.as_bytes(), suffix.as_bytes()], &sig);
        }
        if ok {
            Ok(Verified::with_id(dedup_id(&params)))
        } else {
            Err(AuthFailure::BadSignature.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggles_default_ports() {
        for (url, toggled) in [
            ("https://h.com/a?b=1", "https://h.com:443/a?b=1"),
            ("https://h.com:443/a", "https://h.com/a"),
            ("http://h.com", "http://h.com:80"),
            ("http://u:p@h.com:80/x", "http://u:p@h.com/x"),
            ("https://[::1]/x", "https://[::1]:443/x"),
        ] {
            assert_eq!(toggle_default_port(url).unwrap(), toggled, "{url}");
        }
        assert!(toggle_default_port("https://h.com:8443/a").is_none());
    }

    #[test]
    fn parses_forms_like_browsers() {
        let p = parse_form(b"a=1&b=x+y&c=%41%zz&d&a=0").unwrap();
        let expect = [
            ("a", "1"),
            ("b", "x y"),
            ("c", "A%zz"),
            ("d", ""),
            ("a", "0"),
        ];
        assert_eq!(p, expect.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert!(parse_form(b"a=%FF").is_err());
    }

    #[test]
    fn repeated_params_sort_and_dedup_values() {
        let p = parse_form(b"b=2&a=z&a=y&a=z").unwrap();
        assert_eq!(signed_params(&p), "ayazb2");
    }
}
