//! Builds a [`Verifier`] from a source's config. Every problem a secret or option can have
//! is found here, at start-up, with the config key in the message (never the secret).

use crate::generic::{Combined, GenericHmac, HmacParams};
use crate::mac::{MacAlgorithm, SigEncoding};
use crate::{DEFAULT_TOLERANCE_SECS, JwtLocation, StaticToken, TokenLocation, Verifier};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use switchboard_config::{HmacPreset, SourceConfig, VapiMode};

/// ElevenLabs' SDKs accept a signature for 30 minutes.
const ELEVENLABS_TOLERANCE_SECS: u64 = 1800;

#[derive(Debug, thiserror::Error)]
#[error("config key `{key}`: {message}")]
pub struct BuildError {
    pub key: String,
    pub message: String,
}

fn bytes(secrets: &[SecretString]) -> Vec<SecretSlice<u8>> {
    secrets
        .iter()
        .map(|s| SecretSlice::from(s.expose_secret().as_bytes().to_vec()))
        .collect()
}

/// Decodes every secret of `key` with `decode`; the first that does not decode is an error
/// naming its index (`secrets[1]`) with `problem`, never the secret.
fn decode_each<T>(
    key: &str,
    secrets: &[SecretString],
    problem: &str,
    decode: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, BuildError> {
    secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            decode(secret.expose_secret()).ok_or_else(|| BuildError {
                key: format!("{key}.secrets[{i}]"),
                message: problem.to_owned(),
            })
        })
        .collect()
}

fn header_name(key: &str, name: &str) -> Result<String, BuildError> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map(|h| h.as_str().to_owned())
        .map_err(|_| BuildError {
            key: key.to_owned(),
            message: format!("`{name}` is not a valid header name"),
        })
}

fn opt_header(key: &str, name: Option<&String>) -> Result<Option<String>, BuildError> {
    name.map(|n| header_name(key, n)).transpose()
}

/// `key` is the source's config path, e.g. `tenants.acme.sources.twilio`.
pub fn build_verifier(key: &str, source: &SourceConfig) -> Result<Box<dyn Verifier>, BuildError> {
    let err = |field: &str, message: String| BuildError {
        key: format!("{key}.{field}"),
        message,
    };
    if source.secrets().is_empty() {
        return Err(err(
            "secrets",
            "needs at least one secret (sources fail closed)".into(),
        ));
    }
    let tolerance = |t: Option<u64>| t.unwrap_or(DEFAULT_TOLERANCE_SECS);
    Ok(match source {
        SourceConfig::ServiceTitan(s) => {
            let header = opt_header(&format!("{key}.header"), s.header.as_ref())?;
            Box::new(crate::ServiceTitan::new(
                &bytes(&s.secrets),
                header.as_deref(),
                s.encoding.into(),
            ))
        }
        SourceConfig::StandardWebhooks(s) => {
            let keys = decode_each(key, &s.secrets, "is not a whsec_<base64> secret", |k| {
                crate::standard_webhooks::decode_secret(k).map(SecretSlice::from)
            })?;
            Box::new(crate::StandardWebhooks::new(
                &keys,
                tolerance(s.tolerance_secs),
            ))
        }
        SourceConfig::Twilio(s) => Box::new(crate::Twilio::new(&bytes(&s.secrets))),
        SourceConfig::Telnyx(s) => {
            let keys = decode_each(
                key,
                &s.secrets,
                "is not a base64 Ed25519 public key (32 bytes)",
                crate::telnyx::decode_public_key,
            )?;
            Box::new(crate::Telnyx::new(keys, tolerance(s.tolerance_secs)))
        }
        SourceConfig::Retell(s) => Box::new(crate::Retell::new(
            &bytes(&s.secrets),
            tolerance(s.tolerance_secs),
        )),
        SourceConfig::Vapi(s) => match s.effective_mode() {
            VapiMode::Secret => {
                if let Some(field) = s.hmac_keys_set().first() {
                    return Err(err(field, "only applies with mode = \"hmac\"".into()));
                }
                let name = opt_header(&format!("{key}.header"), s.header.as_ref())?;
                Box::new(StaticToken::new(
                    "vapi",
                    TokenLocation::Header {
                        name: name.unwrap_or_else(|| "x-vapi-secret".into()),
                        prefix: None,
                    },
                    &bytes(&s.secrets),
                ))
            }
            VapiMode::Hmac => {
                let payload = s
                    .payload
                    .clone()
                    .unwrap_or_else(|| "{timestamp}.{body}".into());
                let params = HmacParams {
                    header: header_name(
                        &format!("{key}.header"),
                        s.header.as_deref().unwrap_or("x-signature"),
                    )?,
                    prefix: s.prefix.clone(),
                    algorithm: s.algorithm.map_or(crate::MacAlgorithm::Sha256, Into::into),
                    encoding: s.encoding.map_or(SigEncoding::Hex, |e| Some(e).into()),
                    // The default timestamp header only where the payload signs a timestamp.
                    timestamp_header: match (&s.timestamp_header, payload.contains("{timestamp}")) {
                        (Some(h), _) => Some(header_name(&format!("{key}.timestamp_header"), h)?),
                        (None, true) => Some("x-timestamp".to_owned()),
                        (None, false) => None,
                    },
                    payload,
                    id_header: None,
                    tolerance_secs: tolerance(s.tolerance_secs),
                    combined: None,
                };
                Box::new(
                    GenericHmac::new("vapi", params, &bytes(&s.secrets))
                        .map_err(|m| err("payload", m))?,
                )
            }
        },
        SourceConfig::Hmac(s) => {
            let base = s.preset.map(|HmacPreset::Github| HmacParams::github());
            let header = match (&s.header, &base) {
                (Some(h), _) => header_name(&format!("{key}.header"), h)?,
                (None, Some(b)) => b.header.clone(),
                (None, None) => {
                    return Err(err(
                        "header",
                        "is required (or set preset = \"github\")".into(),
                    ));
                }
            };
            let combined = combined(key, s)?;
            // The combined form signs its timestamp by default.
            let default_payload = if combined.is_some() {
                "{timestamp}.{body}"
            } else {
                "{body}"
            };
            let params = HmacParams {
                header,
                prefix: s
                    .prefix
                    .clone()
                    .or_else(|| base.as_ref().and_then(|b| b.prefix.clone())),
                algorithm: s
                    .algorithm
                    .map(Into::into)
                    .or(base.as_ref().map(|b| b.algorithm))
                    .unwrap_or(crate::MacAlgorithm::Sha256),
                encoding: s
                    .encoding
                    .map(|e| Some(e).into())
                    .or(base.as_ref().map(|b| b.encoding))
                    .unwrap_or(SigEncoding::Hex),
                payload: s
                    .payload
                    .clone()
                    .or_else(|| base.as_ref().map(|b| b.payload.clone()))
                    .unwrap_or_else(|| default_payload.into()),
                timestamp_header: opt_header(
                    &format!("{key}.timestamp_header"),
                    s.timestamp_header.as_ref(),
                )?,
                id_header: match &s.id_header {
                    Some(h) => Some(header_name(&format!("{key}.id_header"), h)?),
                    None => base.as_ref().and_then(|b| b.id_header.clone()),
                },
                tolerance_secs: tolerance(s.tolerance_secs),
                combined,
            };
            Box::new(
                GenericHmac::new("hmac", params, &bytes(&s.secrets))
                    .map_err(|m| err("payload", m))?,
            )
        }
        SourceConfig::Plivo(s) => Box::new(crate::Plivo::new(&bytes(&s.secrets))),
        SourceConfig::Vonage(s) => Box::new(crate::Jwt::new(
            "vonage",
            JwtLocation::Header("authorization".into()),
            Some("payload_hash".into()),
            true,
            tolerance(s.tolerance_secs),
            &bytes(&s.secrets),
        )),
        SourceConfig::Dialpad(s) => Box::new(crate::Jwt::new(
            "dialpad",
            JwtLocation::Body,
            None,
            false,
            tolerance(s.tolerance_secs),
            &bytes(&s.secrets),
        )),
        SourceConfig::Jwt(s) => {
            let location = match s
                .location
                .unwrap_or(switchboard_config::JwtLocation::Header)
            {
                switchboard_config::JwtLocation::Header => JwtLocation::Header(header_name(
                    &format!("{key}.header"),
                    s.header.as_deref().unwrap_or("authorization"),
                )?),
                switchboard_config::JwtLocation::Body => {
                    if s.header.is_some() {
                        return Err(err(
                            "header",
                            "only applies with location = \"header\"".into(),
                        ));
                    }
                    if s.payload_hash_claim.is_some() {
                        return Err(err(
                            "payload_hash_claim",
                            "only applies with location = \"header\" (in the body, the token is the body)"
                                .into(),
                        ));
                    }
                    JwtLocation::Body
                }
            };
            Box::new(crate::Jwt::new(
                "jwt",
                location,
                s.payload_hash_claim.clone(),
                false,
                tolerance(s.tolerance_secs),
                &bytes(&s.secrets),
            ))
        }
        SourceConfig::RingCentral(s) => Box::new(StaticToken::ringcentral(&bytes(&s.secrets))),
        SourceConfig::Aircall(s) => Box::new(StaticToken::new(
            "aircall",
            TokenLocation::Field("token".into()),
            &bytes(&s.secrets),
        )),
        SourceConfig::Token(s) => {
            let location = match (&s.header, &s.field) {
                (Some(h), None) => TokenLocation::Header {
                    name: header_name(&format!("{key}.header"), h)?,
                    prefix: s.prefix.clone(),
                },
                (None, Some(_)) if s.prefix.is_some() => {
                    return Err(err("prefix", "only applies with header (not field)".into()));
                }
                (None, Some(f)) if !f.is_empty() => TokenLocation::Field(f.clone()),
                _ => {
                    return Err(err(
                        "header",
                        "set exactly one of header (a header name) or field (a top-level JSON field)"
                            .into(),
                    ));
                }
            };
            Box::new(StaticToken::new("token", location, &bytes(&s.secrets)))
        }
        SourceConfig::Bandwidth(s) | SourceConfig::Basic(s) => {
            if s.username.is_empty() || s.username.contains(':') {
                return Err(err(
                    "username",
                    "must be non-empty and without ':' (HTTP Basic)".into(),
                ));
            }
            Box::new(crate::Basic::new(
                source.scheme_name(),
                &s.username,
                &bytes(&s.secrets),
            ))
        }
        SourceConfig::CallRail(s) => Box::new(
            GenericHmac::new(
                "callrail",
                HmacParams::body_only("signature", MacAlgorithm::Sha1, SigEncoding::Base64),
                &bytes(&s.secrets),
            )
            .map_err(|m| err("payload", m))?,
        ),
        SourceConfig::Bland(s) => Box::new(
            GenericHmac::new(
                "bland",
                HmacParams::body_only(
                    "x-webhook-signature",
                    MacAlgorithm::Sha256,
                    SigEncoding::Hex,
                ),
                &bytes(&s.secrets),
            )
            .map_err(|m| err("payload", m))?,
        ),
        SourceConfig::ElevenLabs(s) => Box::new(
            GenericHmac::new(
                "elevenlabs",
                HmacParams::elevenlabs(s.tolerance_secs.unwrap_or(ELEVENLABS_TOLERANCE_SECS)),
                &bytes(&s.secrets),
            )
            .map_err(|m| err("payload", m))?,
        ),
        SourceConfig::Synthflow(s) => {
            let header = opt_header(&format!("{key}.header"), s.header.as_ref())?;
            Box::new(crate::Synthflow::new(header.as_deref(), &bytes(&s.secrets)))
        }
    })
}

/// The `hmac` scheme's combined form, from `timestamp_key` / `signature_key`.
fn combined(key: &str, s: &switchboard_config::HmacSource) -> Result<Option<Combined>, BuildError> {
    let err = |field: &str, message: &str| BuildError {
        key: format!("{key}.{field}"),
        message: message.to_owned(),
    };
    match (&s.timestamp_key, &s.signature_key) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(err(
            "signature_key",
            "only applies in the combined form: set timestamp_key too",
        )),
        (Some(_), _) if s.timestamp_header.is_some() => Err(err(
            "timestamp_header",
            "the combined form carries the timestamp in header (timestamp_key): remove one",
        )),
        (Some(t), sig) => {
            let sig = sig.clone().unwrap_or_else(|| "v1".into());
            if t.is_empty()
                || sig.is_empty()
                || *t == sig
                || t.contains([',', '='])
                || sig.contains([',', '='])
            {
                return Err(err(
                    "timestamp_key",
                    "timestamp_key and signature_key must be distinct, non-empty, and without ',' or '='",
                ));
            }
            Ok(Some(Combined {
                timestamp_key: t.clone(),
                signature_key: sig,
            }))
        }
    }
}
