//! `[tenants.x.sources.y]`: one webhook source, tagged by `scheme`, with the options each
//! scheme takes (docs/signatures.md). Every struct rejects unknown keys. Split from
//! `model`, which holds the rest of the file's shape.

use secrecy::SecretString;
use serde::Deserialize;

/// What a source's payloads look like, for the router's normalisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    Servicetitan,
    Twilio,
    Telnyx,
    Retell,
    Vapi,
    /// Switchboard's own agent format.
    Agent,
}

impl PayloadFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Servicetitan => "servicetitan",
            Self::Twilio => "twilio",
            Self::Telnyx => "telnyx",
            Self::Retell => "retell",
            Self::Vapi => "vapi",
            Self::Agent => "agent",
        }
    }
}

/// Output encoding of a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Hex,
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// One webhook source of a tenant, tagged by `scheme`.
#[derive(Debug, Deserialize)]
#[serde(tag = "scheme")]
pub enum SourceConfig {
    #[serde(rename = "servicetitan")]
    ServiceTitan(ServiceTitanSource),
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks(TimestampedSource),
    #[serde(rename = "twilio")]
    Twilio(TwilioSource),
    #[serde(rename = "telnyx")]
    Telnyx(TimestampedSource),
    #[serde(rename = "retell")]
    Retell(TimestampedSource),
    #[serde(rename = "vapi")]
    Vapi(VapiSource),
    #[serde(rename = "hmac")]
    Hmac(HmacSource),
}

impl SourceConfig {
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Self::ServiceTitan(_) => "servicetitan",
            Self::StandardWebhooks(_) => "standard-webhooks",
            Self::Twilio(_) => "twilio",
            Self::Telnyx(_) => "telnyx",
            Self::Retell(_) => "retell",
            Self::Vapi(_) => "vapi",
            Self::Hmac(_) => "hmac",
        }
    }

    /// The `format` key, if set.
    pub fn format(&self) -> Option<PayloadFormat> {
        match self {
            Self::ServiceTitan(s) => s.format,
            Self::StandardWebhooks(s) | Self::Telnyx(s) | Self::Retell(s) => s.format,
            Self::Twilio(s) => s.format,
            Self::Vapi(s) => s.format,
            Self::Hmac(s) => s.format,
        }
    }

    /// `record_rejected_body_bytes`: how much of a rejected body REJECTED keeps.
    pub fn record_rejected_body_bytes(&self) -> usize {
        match self {
            Self::ServiceTitan(s) => s.record_rejected_body_bytes,
            Self::StandardWebhooks(s) | Self::Telnyx(s) | Self::Retell(s) => {
                s.record_rejected_body_bytes
            }
            Self::Twilio(s) => s.record_rejected_body_bytes,
            Self::Vapi(s) => s.record_rejected_body_bytes,
            Self::Hmac(s) => s.record_rejected_body_bytes,
        }
    }

    pub fn secrets(&self) -> &[SecretString] {
        match self {
            Self::ServiceTitan(s) => &s.secrets,
            Self::StandardWebhooks(s) | Self::Telnyx(s) | Self::Retell(s) => &s.secrets,
            Self::Twilio(s) => &s.secrets,
            Self::Vapi(s) => &s.secrets,
            Self::Hmac(s) => &s.secrets,
        }
    }
}

/// `servicetitan`: HMAC-SHA256 of the raw body in one header. ServiceTitan does not publish
/// the header name or encoding, hence both are configurable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTitanSource {
    pub secrets: Vec<SecretString>,
    /// Accepted for uniformity; this scheme signs no timestamp.
    pub tolerance_secs: Option<u64>,
    /// Payload format for the router; default from the scheme (docs/events.md).
    pub format: Option<PayloadFormat>,
    /// Keep this many first bytes of a rejected delivery's body on REJECTED (0: none;
    /// at most 4096). Only for a source whose bodies hold no secret.
    #[serde(default)]
    pub record_rejected_body_bytes: usize,
    pub header: Option<String>,
    /// Absent: accept hex or base64.
    pub encoding: Option<Encoding>,
}

/// Schemes whose only knobs are the secrets and the timestamp tolerance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampedSource {
    pub secrets: Vec<SecretString>,
    pub tolerance_secs: Option<u64>,
    /// Payload format for the router; default from the scheme (docs/events.md).
    pub format: Option<PayloadFormat>,
    /// Keep this many first bytes of a rejected delivery's body on REJECTED (0: none;
    /// at most 4096). Only for a source whose bodies hold no secret.
    #[serde(default)]
    pub record_rejected_body_bytes: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSource {
    /// Auth tokens (primary and secondary during rotation).
    pub secrets: Vec<SecretString>,
    /// Accepted for uniformity; Twilio signs no timestamp.
    pub tolerance_secs: Option<u64>,
    /// Payload format for the router; default from the scheme (docs/events.md).
    pub format: Option<PayloadFormat>,
    /// Keep this many first bytes of a rejected delivery's body on REJECTED (0: none;
    /// at most 4096). Only for a source whose bodies hold no secret.
    #[serde(default)]
    pub record_rejected_body_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VapiMode {
    /// `x-vapi-secret: <secret>` (Vapi's default server credential).
    Secret,
    /// Vapi's HMAC credential: a MAC over `{timestamp}.{body}` by default.
    Hmac,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VapiSource {
    pub secrets: Vec<SecretString>,
    pub tolerance_secs: Option<u64>,
    /// Payload format for the router; default from the scheme (docs/events.md).
    pub format: Option<PayloadFormat>,
    /// Keep this many first bytes of a rejected delivery's body on REJECTED (0: none;
    /// at most 4096). Only for a source whose bodies hold no secret.
    #[serde(default)]
    pub record_rejected_body_bytes: usize,
    /// Absent: `hmac` when any HMAC-only key below is set, `secret` otherwise.
    pub mode: Option<VapiMode>,
    /// Static mode: default `x-vapi-secret`; HMAC mode: default `x-signature`.
    pub header: Option<String>,
    /// HMAC mode only (default `x-timestamp`).
    pub timestamp_header: Option<String>,
    pub prefix: Option<String>,
    pub payload: Option<String>,
    pub algorithm: Option<Algorithm>,
    pub encoding: Option<Encoding>,
}

impl VapiSource {
    /// The HMAC-only keys that are set, by name.
    pub fn hmac_keys_set(&self) -> Vec<&'static str> {
        [
            ("timestamp_header", self.timestamp_header.is_some()),
            ("prefix", self.prefix.is_some()),
            ("payload", self.payload.is_some()),
            ("algorithm", self.algorithm.is_some()),
            ("encoding", self.encoding.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    /// The effective mode (see `mode`).
    pub fn effective_mode(&self) -> VapiMode {
        self.mode.unwrap_or(if self.hmac_keys_set().is_empty() {
            VapiMode::Secret
        } else {
            VapiMode::Hmac
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacPreset {
    /// `X-Hub-Signature-256: sha256=<hex>` over the body; `X-GitHub-Delivery` as the id.
    Github,
}

/// `hmac`: a fully configurable HMAC for providers without a dedicated scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacSource {
    pub secrets: Vec<SecretString>,
    pub tolerance_secs: Option<u64>,
    /// Payload format for the router; default from the scheme (docs/events.md).
    pub format: Option<PayloadFormat>,
    /// Keep this many first bytes of a rejected delivery's body on REJECTED (0: none;
    /// at most 4096). Only for a source whose bodies hold no secret.
    #[serde(default)]
    pub record_rejected_body_bytes: usize,
    pub preset: Option<HmacPreset>,
    pub header: Option<String>,
    pub prefix: Option<String>,
    pub algorithm: Option<Algorithm>,
    pub encoding: Option<Encoding>,
    /// Signed bytes: a template over `{body}`, `{timestamp}`, `{id}`. Default `{body}`.
    pub payload: Option<String>,
    pub timestamp_header: Option<String>,
    pub id_header: Option<String>,
}
