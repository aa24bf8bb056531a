//! The HMAC machinery every MAC-based scheme shares: keyed MAC states prepared once per
//! secret, signature decoding, and payload templates.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl MacAlgorithm {
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

impl From<switchboard_config::Algorithm> for MacAlgorithm {
    fn from(a: switchboard_config::Algorithm) -> Self {
        match a {
            switchboard_config::Algorithm::Sha1 => Self::Sha1,
            switchboard_config::Algorithm::Sha256 => Self::Sha256,
            switchboard_config::Algorithm::Sha512 => Self::Sha512,
        }
    }
}

/// How a signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigEncoding {
    Hex,
    Base64,
    /// Hex when it looks like hex of the right length, base64 otherwise.
    HexOrBase64,
}

impl From<Option<switchboard_config::Encoding>> for SigEncoding {
    fn from(e: Option<switchboard_config::Encoding>) -> Self {
        match e {
            Some(switchboard_config::Encoding::Hex) => Self::Hex,
            Some(switchboard_config::Encoding::Base64) => Self::Base64,
            None => Self::HexOrBase64,
        }
    }
}

/// Decodes a received signature. `None` means it cannot be a signature of this algorithm.
pub(crate) fn decode_sig(
    encoded: &str,
    encoding: SigEncoding,
    alg: MacAlgorithm,
) -> Option<Vec<u8>> {
    use base64::Engine;
    let encoded = encoded.trim();
    let hex = || hex::decode(encoded).ok();
    let b64 = || {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
            .ok()
    };
    let bytes = match encoding {
        SigEncoding::Hex => hex(),
        SigEncoding::Base64 => b64(),
        SigEncoding::HexOrBase64 if encoded.len() == alg.output_len() * 2 => hex().or_else(b64),
        SigEncoding::HexOrBase64 => b64(),
    }?;
    (bytes.len() == alg.output_len()).then_some(bytes)
}

pub(crate) fn encode_sig(bytes: &[u8], encoding: SigEncoding) -> String {
    use base64::Engine;
    match encoding {
        SigEncoding::Hex | SigEncoding::HexOrBase64 => hex::encode(bytes),
        SigEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// An HMAC keyed with one secret. The keyed state is computed once and cloned per request,
/// which saves hashing the key on every delivery.
#[derive(Clone)]
pub(crate) enum MacKey {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey([REDACTED])")
    }
}

impl MacKey {
    pub(crate) fn new(alg: MacAlgorithm, key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        match alg {
            MacAlgorithm::Sha1 => Self::Sha1(Hmac::new_from_slice(key).expect("hmac key")),
            MacAlgorithm::Sha256 => Self::Sha256(Hmac::new_from_slice(key).expect("hmac key")),
            MacAlgorithm::Sha512 => Self::Sha512(Hmac::new_from_slice(key).expect("hmac key")),
        }
    }

    /// Constant-time check of `sig` against the MAC of the concatenated `parts`.
    pub(crate) fn verify(&self, parts: &[&[u8]], sig: &[u8]) -> bool {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]], sig: &[u8]) -> bool {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.verify_slice(sig).is_ok()
        }
        match self {
            Self::Sha1(m) => run(m, parts, sig),
            Self::Sha256(m) => run(m, parts, sig),
            Self::Sha512(m) => run(m, parts, sig),
        }
    }

    pub(crate) fn sign(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> Vec<u8> {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Sha1(m) => run(m, parts),
            Self::Sha256(m) => run(m, parts),
            Self::Sha512(m) => run(m, parts),
        }
    }
}

/// One MAC key per configured secret; a signature is valid if any key matches.
#[derive(Debug, Clone)]
pub(crate) struct MacKeys(Vec<MacKey>);

impl MacKeys {
    pub(crate) fn new(alg: MacAlgorithm, secrets: &[SecretSlice<u8>]) -> Self {
        Self(
            secrets
                .iter()
                .map(|s| MacKey::new(alg, s.expose_secret()))
                .collect(),
        )
    }

    pub(crate) fn any_verifies(&self, parts: &[&[u8]], sig: &[u8]) -> bool {
        // Check every key (no early exit) so timing does not tell which secret matched.
        self.0.iter().fold(false, |ok, k| k.verify(parts, sig) | ok)
    }
}

/// A signed-payload template such as `{timestamp}.{body}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(String),
    Body,
    Timestamp,
    Id,
}

impl Template {
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unterminated `{{` in payload template `{template}`"))?;
            parts.push(match &rest[open + 1..open + close] {
                "body" => Part::Body,
                "timestamp" => Part::Timestamp,
                "id" => Part::Id,
                other => {
                    return Err(format!(
                        "unknown placeholder `{{{other}}}` in payload template (use {{body}}, {{timestamp}}, {{id}})"
                    ));
                }
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        if !parts.contains(&Part::Body) {
            return Err(format!(
                "payload template `{template}` must include {{body}}"
            ));
        }
        Ok(Self(parts))
    }

    pub(crate) fn uses(&self, part: &Part) -> bool {
        self.0.contains(part)
    }

    /// The byte slices to MAC, in order.
    pub(crate) fn render<'a>(
        &'a self,
        body: &'a [u8],
        timestamp: &'a str,
        id: &'a str,
    ) -> Vec<&'a [u8]> {
        self.0
            .iter()
            .map(|p| match p {
                Part::Literal(s) => s.as_bytes(),
                Part::Body => body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => id.as_bytes(),
            })
            .collect()
    }
}
