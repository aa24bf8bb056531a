//! Builds a [`Verifier`] from a source's config. Every problem a secret or option can have
//! is found here, at start-up, with the config key in the message (never the secret).

use crate::generic::{GenericHmac, HmacParams};
use crate::mac::SigEncoding;
use crate::{DEFAULT_TOLERANCE_SECS, Verifier};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use switchboard_config::{HmacPreset, SourceConfig, VapiMode};

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
                let header = opt_header(&format!("{key}.header"), s.header.as_ref())?;
                Box::new(crate::VapiSecret::new(
                    &bytes(&s.secrets),
                    header.as_deref(),
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
                    .unwrap_or_else(|| "{body}".into()),
                timestamp_header: opt_header(
                    &format!("{key}.timestamp_header"),
                    s.timestamp_header.as_ref(),
                )?,
                id_header: match &s.id_header {
                    Some(h) => Some(header_name(&format!("{key}.id_header"), h)?),
                    None => base.as_ref().and_then(|b| b.id_header.clone()),
                },
                tolerance_secs: tolerance(s.tolerance_secs),
            };
            Box::new(
                GenericHmac::new("hmac", params, &bytes(&s.secrets))
                    .map_err(|m| err("payload", m))?,
            )
        }
    })
}
