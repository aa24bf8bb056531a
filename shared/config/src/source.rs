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
    Plivo,
    Vonage,
    Dialpad,
    Ringcentral,
    Bandwidth,
    Aircall,
    Callrail,
    Bland,
    Elevenlabs,
    Synthflow,
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
            Self::Plivo => "plivo",
            Self::Vonage => "vonage",
            Self::Dialpad => "dialpad",
            Self::Ringcentral => "ringcentral",
            Self::Bandwidth => "bandwidth",
            Self::Aircall => "aircall",
            Self::Callrail => "callrail",
            Self::Bland => "bland",
            Self::Elevenlabs => "elevenlabs",
            Self::Synthflow => "synthflow",
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
    StandardWebhooks(PlainSource),
    #[serde(rename = "twilio")]
    Twilio(PlainSource),
    #[serde(rename = "telnyx")]
    Telnyx(PlainSource),
    #[serde(rename = "retell")]
    Retell(PlainSource),
    #[serde(rename = "vapi")]
    Vapi(VapiSource),
    #[serde(rename = "hmac")]
    Hmac(HmacSource),
    #[serde(rename = "plivo")]
    Plivo(PlainSource),
    #[serde(rename = "vonage")]
    Vonage(PlainSource),
    #[serde(rename = "dialpad")]
    Dialpad(PlainSource),
    #[serde(rename = "ringcentral")]
    RingCentral(PlainSource),
    #[serde(rename = "bandwidth")]
    Bandwidth(BasicSource),
    #[serde(rename = "aircall")]
    Aircall(PlainSource),
    #[serde(rename = "callrail")]
    CallRail(PlainSource),
    #[serde(rename = "bland")]
    Bland(PlainSource),
    #[serde(rename = "elevenlabs")]
    ElevenLabs(PlainSource),
    #[serde(rename = "synthflow")]
    Synthflow(SynthflowSource),
    #[serde(rename = "basic")]
    Basic(BasicSource),
    #[serde(rename = "token")]
    Token(TokenSource),
    #[serde(rename = "jwt")]
    Jwt(JwtSource),
}

/// The keys every source has, whatever its scheme.
pub trait SourceCommon {
    fn secrets(&self) -> &[SecretString];
    fn format(&self) -> Option<PayloadFormat>;
    fn record_rejected_body_bytes(&self) -> usize;
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
            Self::Plivo(_) => "plivo",
            Self::Vonage(_) => "vonage",
            Self::Dialpad(_) => "dialpad",
            Self::RingCentral(_) => "ringcentral",
            Self::Bandwidth(_) => "bandwidth",
            Self::Aircall(_) => "aircall",
            Self::CallRail(_) => "callrail",
            Self::Bland(_) => "bland",
            Self::ElevenLabs(_) => "elevenlabs",
            Self::Synthflow(_) => "synthflow",
            Self::Basic(_) => "basic",
            Self::Token(_) => "token",
            Self::Jwt(_) => "jwt",
        }
    }

    /// Whether the scheme signs the URL the provider called (needs `ingest.public_url`).
    pub fn signs_url(&self) -> bool {
        matches!(self, Self::Twilio(_) | Self::Plivo(_))
    }

    /// Whether the body carries the secret itself (Aircall's `token` field, a `token`
    /// source with `field`): such a body is never kept on REJECTED.
    pub fn secret_in_body(&self) -> bool {
        match self {
            Self::Aircall(_) => true,
            Self::Token(t) => t.field.is_some(),
            _ => false,
        }
    }

    fn common(&self) -> &dyn SourceCommon {
        match self {
            Self::ServiceTitan(s) => s,
            Self::StandardWebhooks(s)
            | Self::Telnyx(s)
            | Self::Retell(s)
            | Self::Plivo(s)
            | Self::Vonage(s)
            | Self::Dialpad(s)
            | Self::RingCentral(s)
            | Self::Aircall(s)
            | Self::CallRail(s)
            | Self::Bland(s)
            | Self::ElevenLabs(s) => s,
            Self::Twilio(s) => s,
            Self::Vapi(s) => s,
            Self::Hmac(s) => s,
            Self::Bandwidth(s) | Self::Basic(s) => s,
            Self::Synthflow(s) => s,
            Self::Token(s) => s,
            Self::Jwt(s) => s,
        }
    }

    /// The `format` key, if set.
    pub fn format(&self) -> Option<PayloadFormat> {
        self.common().format()
    }

    /// `record_rejected_body_bytes`: how much of a rejected body REJECTED keeps.
    pub fn record_rejected_body_bytes(&self) -> usize {
        self.common().record_rejected_body_bytes()
    }

    pub fn secrets(&self) -> &[SecretString] {
        self.common().secrets()
    }
}

/// A source's struct: the keys every source has (`secrets`, `tolerance_secs`, `format`,
/// `record_rejected_body_bytes`) and its scheme's own. Unknown keys are refused by name.
macro_rules! source {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Secrets, keys or tokens; any one may match (rotation).
            pub secrets: Vec<SecretString>,
            /// Timestamped schemes: how far a signed time may be from now, both ways.
            /// Accepted for uniformity where nothing is timestamped.
            pub tolerance_secs: Option<u64>,
            /// Payload format for the router; default from the scheme (docs/events.md).
            pub format: Option<PayloadFormat>,
            /// Keep this many first bytes of a rejected delivery's body on REJECTED (0:
            /// none; at most 4096). Only for a source whose bodies hold no secret.
            #[serde(default)]
            pub record_rejected_body_bytes: usize,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl SourceCommon for $name {
            fn secrets(&self) -> &[SecretString] {
                &self.secrets
            }
            fn format(&self) -> Option<PayloadFormat> {
                self.format
            }
            fn record_rejected_body_bytes(&self) -> usize {
                self.record_rejected_body_bytes
            }
        }
    };
}

source! {
    /// `servicetitan`: HMAC-SHA256 of the raw body in one header. ServiceTitan does not
    /// publish the header name or encoding, hence both are configurable.
    ServiceTitanSource {
        pub header: Option<String>,
        /// Absent: accept hex or base64.
        pub encoding: Option<Encoding>,
    }
}

source! {
    /// Schemes whose only keys are the ones every source has (for `twilio` the secrets are
    /// auth tokens, for `telnyx` public keys, …: docs/configuration.md).
    PlainSource {}
}

source! {
    /// `basic` and `bandwidth`: HTTP Basic. `secrets` are the accepted passwords.
    BasicSource {
        pub username: String,
    }
}

source! {
    /// `synthflow`: HMAC-SHA256 (base64) of the body's `call_id`.
    SynthflowSource {
        /// The header Synthflow sends the signature in (default: the first present of
        /// `x-synthflow-signature`, `synthflow-signature`).
        pub header: Option<String>,
    }
}

source! {
    /// `token`: a static token in a named header or a top-level JSON field.
    TokenSource {
        /// The header that carries the token (exactly one of `header`, `field`).
        pub header: Option<String>,
        /// The top-level JSON string field that carries it.
        pub field: Option<String>,
        /// Stripped before comparing, e.g. `"Bearer "` (header only).
        pub prefix: Option<String>,
    }
}

/// Where a `jwt` source's token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JwtLocation {
    /// `Authorization: Bearer <jwt>` (or the `header` named).
    Header,
    /// The whole body is the JWT (Dialpad).
    Body,
}

source! {
    /// `jwt`: an HS256 JWT keyed with the secret, in a header or as the whole body.
    JwtSource {
        /// Default `header`.
        pub location: Option<JwtLocation>,
        /// Header location only: default `authorization` (with a `Bearer ` prefix).
        pub header: Option<String>,
        /// A claim that must hold the hex SHA-256 of the body (Vonage: `payload_hash`).
        pub payload_hash_claim: Option<String>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VapiMode {
    /// `x-vapi-secret: <secret>` (Vapi's default server credential).
    Secret,
    /// Vapi's HMAC credential: a MAC over `{timestamp}.{body}` by default.
    Hmac,
}

source! {
    /// `vapi`: a static secret header, or Vapi's HMAC credential.
    VapiSource {
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

source! {
    /// `hmac`: a fully configurable HMAC for providers without a dedicated scheme.
    HmacSource {
        pub preset: Option<HmacPreset>,
        pub header: Option<String>,
        pub prefix: Option<String>,
        pub algorithm: Option<Algorithm>,
        pub encoding: Option<Encoding>,
        /// Signed bytes: a template over `{body}`, `{timestamp}`, `{id}`. Default `{body}`,
        /// or `{timestamp}.{body}` in the combined form.
        pub payload: Option<String>,
        pub timestamp_header: Option<String>,
        pub id_header: Option<String>,
        /// The combined form (`t=…,v1=…` in one header): the key of the timestamp.
        pub timestamp_key: Option<String>,
        /// The combined form: the key of the signature(s), default `v1`.
        pub signature_key: Option<String>,
    }
}
