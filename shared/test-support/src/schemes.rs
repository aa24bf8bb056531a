//! Signed deliveries for every scheme, as a provider would send them, plus the config lines
//! that make ingest accept them. Tests loop over [`TestScheme::ALL`] so that a new scheme is
//! covered by every end-to-end test the moment it is added here.

use switchboard_signatures::{MacAlgorithm, SigEncoding, sign};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestScheme {
    ServiceTitan,
    StandardWebhooks,
    TwilioForm,
    TwilioJson,
    Telnyx,
    Retell,
    Vapi,
    VapiHmac,
    Hmac,
    Github,
    Plivo,
    Vonage,
    Dialpad,
    RingCentral,
    Bandwidth,
    Aircall,
    CallRail,
    Bland,
    ElevenLabs,
    Synthflow,
    Basic,
    Token,
    Jwt,
    HmacCombined,
}

/// One secret in both forms: what the config holds and what the provider signs with.
#[derive(Debug, Clone)]
pub struct TestSecret {
    /// The string for `secrets = [...]` (for Telnyx the public key).
    pub config: String,
    /// The provider's signing material (for Telnyx the private key seed).
    pub signing: Vec<u8>,
}

/// What to sign.
#[derive(Debug, Clone)]
pub struct HookSpec<'a> {
    /// `ingest.public_url`, no trailing slash.
    pub public_url: &'a str,
    pub tenant: &'a str,
    pub source: &'a str,
    /// For form schemes this is the value of a `Payload` parameter; otherwise the raw body.
    pub body: &'a [u8],
    /// Unix seconds the provider signs with.
    pub timestamp: i64,
    /// The provider's delivery id (where the scheme has one).
    pub id: &'a str,
}

/// A signed request, ready to send.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `/v1/hooks/{tenant}/{source}` plus any query.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Hook {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::header_in(&self.headers, name)
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// POSTs this delivery to ingest at `base` (e.g. `http://127.0.0.1:8080`).
    pub async fn send(
        &self,
        http: &reqwest::Client,
        base: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let mut request = http
            .post(format!("{base}{}", self.path_and_query))
            .body(self.body.clone());
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        request.send().await
    }
}

/// How the AI agent reports (docs/events.md, the agent format): `body` as a
/// `standard-webhooks` delivery with id `id` for `tenant`/`source`, signed now with the
/// scheme's first test secret.
pub fn agent_report(tenant: &str, source: &str, id: &str, body: &[u8]) -> Hook {
    let scheme = TestScheme::StandardWebhooks;
    let spec = HookSpec {
        public_url: "",
        tenant,
        source,
        body,
        timestamp: switchboard_signatures::system_now_ms() / 1000,
        id,
    };
    scheme.sign(&scheme.secret(1), &spec)
}

impl TestScheme {
    pub const ALL: [TestScheme; 24] = [
        TestScheme::ServiceTitan,
        TestScheme::StandardWebhooks,
        TestScheme::TwilioForm,
        TestScheme::TwilioJson,
        TestScheme::Telnyx,
        TestScheme::Retell,
        TestScheme::Vapi,
        TestScheme::VapiHmac,
        TestScheme::Hmac,
        TestScheme::Github,
        TestScheme::Plivo,
        TestScheme::Vonage,
        TestScheme::Dialpad,
        TestScheme::RingCentral,
        TestScheme::Bandwidth,
        TestScheme::Aircall,
        TestScheme::CallRail,
        TestScheme::Bland,
        TestScheme::ElevenLabs,
        TestScheme::Synthflow,
        TestScheme::Basic,
        TestScheme::Token,
        TestScheme::Jwt,
        TestScheme::HmacCombined,
    ];

    /// The `scheme = "..."` value.
    pub fn scheme_name(self) -> &'static str {
        match self {
            Self::ServiceTitan => "servicetitan",
            Self::StandardWebhooks => "standard-webhooks",
            Self::TwilioForm | Self::TwilioJson => "twilio",
            Self::Telnyx => "telnyx",
            Self::Retell => "retell",
            Self::Vapi | Self::VapiHmac => "vapi",
            Self::Hmac | Self::Github | Self::HmacCombined => "hmac",
            Self::Plivo => "plivo",
            Self::Vonage => "vonage",
            Self::Dialpad => "dialpad",
            Self::RingCentral => "ringcentral",
            Self::Bandwidth => "bandwidth",
            Self::Aircall => "aircall",
            Self::CallRail => "callrail",
            Self::Bland => "bland",
            Self::ElevenLabs => "elevenlabs",
            Self::Synthflow => "synthflow",
            Self::Basic => "basic",
            Self::Token => "token",
            Self::Jwt => "jwt",
        }
    }

    /// A source name for this scheme (token-safe).
    pub fn source_name(self) -> &'static str {
        match self {
            Self::ServiceTitan => "st",
            Self::StandardWebhooks => "stdwh",
            Self::TwilioForm => "twilio",
            Self::TwilioJson => "twilio-json",
            Self::Telnyx => "telnyx",
            Self::Retell => "retell",
            Self::Vapi => "vapi",
            Self::VapiHmac => "vapi-hmac",
            Self::Hmac => "custom",
            Self::Github => "github",
            Self::HmacCombined => "combined",
            // One source per scheme: named as the scheme.
            other => other.scheme_name(),
        }
    }

    pub fn timestamped(self) -> bool {
        matches!(
            self,
            Self::StandardWebhooks
                | Self::Telnyx
                | Self::Retell
                | Self::VapiHmac
                | Self::Hmac
                | Self::Vonage
                | Self::Dialpad
                | Self::ElevenLabs
                | Self::Jwt
                | Self::HmacCombined
        )
    }

    /// Whether the scheme authenticates the body (a static token or Basic does not).
    pub fn signs_body(self) -> bool {
        !matches!(
            self,
            Self::Vapi
                | Self::RingCentral
                | Self::Bandwidth
                | Self::Basic
                | Self::Aircall
                | Self::Synthflow
                | Self::Token
        )
    }

    /// The header carrying the signature (or static secret); `None` where the proof is in
    /// the body (Dialpad's token is the body; Aircall's is a body field).
    pub fn signature_header(self) -> Option<&'static str> {
        Some(match self {
            Self::ServiceTitan => "X-ServiceTitan-Signature",
            Self::StandardWebhooks => "webhook-signature",
            Self::TwilioForm | Self::TwilioJson => "X-Twilio-Signature",
            Self::Telnyx => "telnyx-signature-ed25519",
            Self::Retell => "x-retell-signature",
            Self::Vapi => "x-vapi-secret",
            Self::VapiHmac => "x-signature",
            Self::Hmac => "X-Custom-Signature",
            Self::Github => "X-Hub-Signature-256",
            Self::Plivo => "X-Plivo-Signature-V3",
            Self::Vonage | Self::Bandwidth | Self::Basic => "Authorization",
            Self::Dialpad | Self::Aircall => return None,
            Self::RingCentral => "Verification-Token",
            Self::CallRail => "Signature",
            Self::Bland => "X-Webhook-Signature",
            Self::ElevenLabs => "ElevenLabs-Signature",
            Self::Synthflow => "X-Synthflow-Signature",
            Self::Token => "X-Hook-Token",
            Self::Jwt => "X-Jwt",
            Self::HmacCombined => "X-Combined-Signature",
        })
    }

    /// A deterministic secret; different `n` give different secrets, different tenants
    /// should use different `n`.
    pub fn secret(self, n: u8) -> TestSecret {
        let raw: Vec<u8> = (0..32u8)
            .map(|i| {
                i.wrapping_mul(31)
                    .wrapping_add(n.wrapping_mul(97))
                    .wrapping_add(1)
            })
            .collect();
        match self {
            Self::StandardWebhooks => {
                use base64::Engine;
                TestSecret {
                    config: format!(
                        "whsec_{}",
                        base64::engine::general_purpose::STANDARD.encode(&raw)
                    ),
                    signing: raw,
                }
            }
            Self::Telnyx => {
                let seed: [u8; 32] = raw.clone().try_into().expect("32 bytes");
                TestSecret {
                    config: sign::telnyx_public_key(&seed),
                    signing: raw,
                }
            }
            _ => {
                let s = format!("sk-test-{}", hex::encode(&raw[..16]));
                TestSecret {
                    config: s.clone(),
                    signing: s.into_bytes(),
                }
            }
        }
    }

    /// The source's config lines (after its `[tenants.x.sources.y]` header).
    pub fn source_toml(self, secrets: &[TestSecret]) -> String {
        let list: Vec<String> = secrets.iter().map(|s| format!("{:?}", s.config)).collect();
        let extra = match self {
            Self::VapiHmac => "mode = \"hmac\"\n",
            Self::Hmac => {
                "header = \"X-Custom-Signature\"\nprefix = \"v1=\"\nalgorithm = \"sha512\"\nencoding = \"base64\"\n\
                 payload = \"{id}.{timestamp}.{body}\"\ntimestamp_header = \"X-Custom-Timestamp\"\nid_header = \"X-Custom-Id\"\n"
            }
            Self::Github => "preset = \"github\"\n",
            other => crate::schemes_more::extra_toml(other),
        };
        format!(
            "scheme = \"{}\"\n{extra}secrets = [{}]\n",
            self.scheme_name(),
            list.join(", ")
        )
    }

    /// Signs `spec` with `secret` the way the provider does.
    pub fn sign(self, secret: &TestSecret, spec: &HookSpec<'_>) -> Hook {
        let path = format!("/v1/hooks/{}/{}", spec.tenant, spec.source);
        let key = &secret.signing;
        let ts = spec.timestamp.to_string();
        let mut hook = Hook {
            path_and_query: path.clone(),
            headers: Vec::new(),
            body: spec.body.to_vec(),
        };
        let json = ("Content-Type".to_owned(), "application/json".to_owned());
        match self {
            Self::ServiceTitan => {
                hook.headers.push(json);
                hook.set_header(
                    "X-ServiceTitan-Signature",
                    &sign::servicetitan(key, spec.body, SigEncoding::Hex),
                );
            }
            Self::StandardWebhooks => {
                hook.headers.push(json);
                let sig =
                    sign::standard_webhooks(&secret.config, spec.id, spec.timestamp, spec.body)
                        .expect("whsec");
                hook.set_header("webhook-id", spec.id);
                hook.set_header("webhook-timestamp", &ts);
                hook.set_header("webhook-signature", &sig);
            }
            Self::TwilioForm => {
                let payload = String::from_utf8_lossy(spec.body).into_owned();
                let params = [
                    ("CallSid", spec.id),
                    ("CallStatus", "completed"),
                    ("SequenceNumber", "0"),
                    ("Payload", payload.as_str()),
                ];
                hook.body = sign::form_encode(&params).into_bytes();
                let url = format!("{}{path}", spec.public_url);
                hook.set_header("Content-Type", "application/x-www-form-urlencoded");
                hook.set_header(
                    "X-Twilio-Signature",
                    &sign::twilio_form(key, &url, &params, MacAlgorithm::Sha1),
                );
            }
            Self::TwilioJson => {
                let (url, sig) = sign::twilio_json(
                    key,
                    &format!("{}{path}", spec.public_url),
                    spec.body,
                    MacAlgorithm::Sha1,
                );
                hook.path_and_query = url[spec.public_url.len()..].to_owned();
                hook.headers.push(json);
                hook.set_header("X-Twilio-Signature", &sig);
            }
            Self::Telnyx => {
                hook.headers.push(json);
                let seed: [u8; 32] = key.clone().try_into().expect("32-byte seed");
                hook.set_header("telnyx-timestamp", &ts);
                hook.set_header(
                    "telnyx-signature-ed25519",
                    &sign::telnyx(&seed, spec.timestamp, spec.body),
                );
            }
            Self::Retell => {
                hook.headers.push(json);
                hook.set_header(
                    "x-retell-signature",
                    &sign::retell(key, spec.body, spec.timestamp * 1000),
                );
            }
            Self::Vapi => {
                hook.headers.push(json);
                hook.set_header("x-vapi-secret", &secret.config);
            }
            Self::VapiHmac => {
                hook.headers.push(json);
                let sig = sign::hmac(
                    MacAlgorithm::Sha256,
                    key,
                    &[ts.as_bytes(), b".", spec.body],
                    SigEncoding::Hex,
                );
                hook.set_header("x-timestamp", &ts);
                hook.set_header("x-signature", &sig);
            }
            Self::Hmac => {
                hook.headers.push(json);
                let parts: [&[u8]; 5] = [spec.id.as_bytes(), b".", ts.as_bytes(), b".", spec.body];
                let sig = sign::hmac(MacAlgorithm::Sha512, key, &parts, SigEncoding::Base64);
                hook.set_header("X-Custom-Id", spec.id);
                hook.set_header("X-Custom-Timestamp", &ts);
                hook.set_header("X-Custom-Signature", &format!("v1={sig}"));
            }
            Self::Github => {
                hook.headers.push(json);
                let sig = sign::hmac(MacAlgorithm::Sha256, key, &[spec.body], SigEncoding::Hex);
                hook.set_header("X-Hub-Signature-256", &format!("sha256={sig}"));
                hook.set_header("X-GitHub-Delivery", spec.id);
            }
            other => crate::schemes_more::sign_into(other, secret, spec, &mut hook),
        }
        hook
    }

    /// The dedup key ingest should derive (the part after `{tenant}:{source}:`).
    pub fn expected_key(self, spec: &HookSpec<'_>, hook: &Hook) -> String {
        match self {
            Self::StandardWebhooks | Self::Hmac => spec.id.to_owned(),
            Self::TwilioForm => format!("{}:completed:0", spec.id),
            // Dialpad: the token's signed part, `header.claims`.
            Self::Dialpad => {
                let token = String::from_utf8_lossy(&hook.body);
                let signed = token.rsplit_once('.').map_or("", |(signed, _)| signed);
                switchboard_signatures::sha256_hex(signed.as_bytes())
            }
            Self::RingCentral => serde_json::from_slice::<serde_json::Value>(&hook.body)
                .ok()
                .and_then(|v| v["uuid"].as_str().map(str::to_owned))
                .unwrap_or_else(|| switchboard_signatures::sha256_hex(&hook.body)),
            Self::Plivo => {
                let payload = String::from_utf8_lossy(spec.body).into_owned();
                let form = crate::schemes_more::plivo_form(spec, &payload);
                let url = format!("{}{}", spec.public_url, hook.path_and_query);
                switchboard_signatures::sha256_hex(sign::plivo_string(&url, &form).as_bytes())
            }
            Self::Telnyx => extract_telnyx_id(spec.body)
                .unwrap_or_else(|| switchboard_signatures::sha256_hex(&hook.body)),
            _ => switchboard_signatures::sha256_hex(&hook.body),
        }
    }
}

fn extract_telnyx_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"id\":\"")? + 6;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_owned())
}
