//! Scheme-by-scheme behaviour and property tests: a correctly signed delivery verifies, and
//! any change to body, signature, timestamp, id or secret is rejected.

use super::*;
use crate::mac::SigEncoding;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const NOW_MS: i64 = 1_700_000_000_000;
const URL: &str = "https://hooks.example.com/v1/hooks/acme/src";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    ServiceTitan,
    StandardWebhooks,
    TwilioForm,
    TwilioJson,
    TwilioSha256,
    Telnyx,
    Retell,
    VapiSecret,
    VapiHmac,
    HmacFull,
    Github,
}

const ALL: [Kind; 11] = [
    Kind::ServiceTitan,
    Kind::StandardWebhooks,
    Kind::TwilioForm,
    Kind::TwilioJson,
    Kind::TwilioSha256,
    Kind::Telnyx,
    Kind::Retell,
    Kind::VapiSecret,
    Kind::VapiHmac,
    Kind::HmacFull,
    Kind::Github,
];

impl Kind {
    fn timestamped(self) -> bool {
        matches!(
            self,
            Kind::StandardWebhooks | Kind::Telnyx | Kind::Retell | Kind::VapiHmac | Kind::HmacFull
        )
    }
    fn has_id(self) -> bool {
        matches!(self, Kind::StandardWebhooks | Kind::HmacFull)
    }
    fn twilio_form(self) -> bool {
        matches!(self, Kind::TwilioForm | Kind::TwilioSha256)
    }
}

/// What the configured secret string is for `kind` given raw secret material.
fn config_secret(kind: Kind, secret: &[u8; 32]) -> String {
    use base64::Engine;
    match kind {
        Kind::StandardWebhooks => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(secret)
        ),
        Kind::Telnyx => sign::telnyx_public_key(secret),
        _ => hex::encode(secret),
    }
}

fn verifier(kind: Kind, secrets: &[String]) -> Box<dyn Verifier> {
    let extra = match kind {
        Kind::ServiceTitan => "scheme = \"servicetitan\"",
        Kind::StandardWebhooks => "scheme = \"standard-webhooks\"",
        Kind::TwilioForm | Kind::TwilioJson | Kind::TwilioSha256 => "scheme = \"twilio\"",
        Kind::Telnyx => "scheme = \"telnyx\"",
        Kind::Retell => "scheme = \"retell\"",
        Kind::VapiSecret => "scheme = \"vapi\"",
        Kind::VapiHmac => "scheme = \"vapi\"\nmode = \"hmac\"",
        Kind::HmacFull => {
            "scheme = \"hmac\"\nheader = \"X-Sig\"\nprefix = \"v0=\"\nalgorithm = \"sha512\"\nencoding = \"base64\"\n\
             payload = \"v0:{id}:{timestamp}:{body}\"\ntimestamp_header = \"X-Ts\"\nid_header = \"X-Id\""
        }
        Kind::Github => "scheme = \"hmac\"\npreset = \"github\"",
    };
    let list: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    let toml = format!(
        "[ingest]\npublic_url = \"https://hooks.example.com\"\n[tenants.acme.sources.src]\n{extra}\nsecrets = [{}]",
        list.join(", ")
    );
    let config = switchboard_config::Config::from_toml_str(&toml, &|_: &str| None).expect("config");
    build_verifier(
        "tenants.acme.sources.src",
        &config.tenants["acme"].sources["src"],
    )
    .expect("verifier")
}

#[derive(Debug, Clone)]
struct Signed {
    headers: HeaderMap,
    body: Vec<u8>,
    url: String,
    query: Option<String>,
}

impl Signed {
    fn delivery(&self) -> Delivery<'_> {
        Delivery {
            headers: &self.headers,
            body: &self.body,
            url: &self.url,
            query: self.query.as_deref(),
        }
    }
    fn set(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
}

/// Signs `payload` for `kind` at `ts` (seconds) with delivery id `id`.
fn sign_for(kind: Kind, secret: &[u8; 32], payload: &str, ts: i64, id: &str) -> Signed {
    let key = hex::encode(secret);
    let mut s = Signed {
        headers: HeaderMap::new(),
        body: payload.as_bytes().to_vec(),
        url: URL.into(),
        query: None,
    };
    match kind {
        Kind::ServiceTitan => {
            let sig = sign::servicetitan(key.as_bytes(), &s.body, SigEncoding::Hex);
            s.set("X-ServiceTitan-Signature", &sig);
        }
        Kind::StandardWebhooks => {
            let sig =
                sign::standard_webhooks(&config_secret(kind, secret), id, ts, &s.body).unwrap();
            s.set("webhook-id", id);
            s.set("webhook-timestamp", &ts.to_string());
            s.set("webhook-signature", &sig);
        }
        Kind::TwilioForm | Kind::TwilioSha256 => {
            let params = [
                ("CallSid", id),
                ("CallStatus", "completed"),
                ("SequenceNumber", "1"),
                ("Payload", payload),
            ];
            s.body = sign::form_encode(&params).into_bytes();
            let alg = if kind == Kind::TwilioSha256 {
                MacAlgorithm::Sha256
            } else {
                MacAlgorithm::Sha1
            };
            let sig = sign::twilio_form(key.as_bytes(), URL, &params, alg);
            s.set("Content-Type", "application/x-www-form-urlencoded");
            s.set("X-Twilio-Signature", &sig);
            if kind == Kind::TwilioSha256 {
                s.set(
                    "X-Twilio-Webhooks-Signature-Settings",
                    "algorithm=HMAC_SHA256",
                );
            }
        }
        Kind::TwilioJson => {
            let (url, sig) = sign::twilio_json(key.as_bytes(), URL, &s.body, MacAlgorithm::Sha1);
            s.query = Some(url.split_once('?').unwrap().1.to_owned());
            s.url = url;
            s.set("Content-Type", "application/json");
            s.set("X-Twilio-Signature", &sig);
        }
        Kind::Telnyx => {
            s.set("telnyx-timestamp", &ts.to_string());
            s.set(
                "telnyx-signature-ed25519",
                &sign::telnyx(secret, ts, &s.body),
            );
        }
        Kind::Retell => s.set(
            "x-retell-signature",
            &sign::retell(key.as_bytes(), &s.body, ts * 1000),
        ),
        Kind::VapiSecret => s.set("x-vapi-secret", &key),
        Kind::VapiHmac => {
            let t = ts.to_string();
            let sig = sign::hmac(
                MacAlgorithm::Sha256,
                key.as_bytes(),
                &[t.as_bytes(), b".", &s.body],
                SigEncoding::Hex,
            );
            s.set("x-timestamp", &t);
            s.set("x-signature", &sig);
        }
        Kind::HmacFull => {
            let t = ts.to_string();
            let parts: [&[u8]; 6] = [b"v0:", id.as_bytes(), b":", t.as_bytes(), b":", &s.body];
            let sig = sign::hmac(
                MacAlgorithm::Sha512,
                key.as_bytes(),
                &parts,
                SigEncoding::Base64,
            );
            s.set("X-Ts", &t);
            s.set("X-Id", id);
            s.set("X-Sig", &format!("v0={sig}"));
        }
        Kind::Github => {
            let sig = sign::hmac(
                MacAlgorithm::Sha256,
                key.as_bytes(),
                &[&s.body],
                SigEncoding::Hex,
            );
            s.set("X-Hub-Signature-256", &format!("sha256={sig}"));
            s.set("X-GitHub-Delivery", id);
        }
    }
    s
}

fn signature_header(kind: Kind) -> &'static str {
    match kind {
        Kind::ServiceTitan => "x-servicetitan-signature",
        Kind::StandardWebhooks => "webhook-signature",
        Kind::TwilioForm | Kind::TwilioJson | Kind::TwilioSha256 => "x-twilio-signature",
        Kind::Telnyx => "telnyx-signature-ed25519",
        Kind::Retell => "x-retell-signature",
        Kind::VapiSecret => "x-vapi-secret",
        Kind::VapiHmac => "x-signature",
        Kind::HmacFull => "x-sig",
        Kind::Github => "x-hub-signature-256",
    }
}

fn now_for(ts: i64) -> i64 {
    ts * 1000
}

fn check(kind: Kind, secrets: &[String], s: &Signed, now_ms: i64) -> Result<Verified, Rejection> {
    verifier(kind, secrets).verify(&s.delivery(), now_ms)
}

/// [`check`] with the one secret `s` was signed with.
fn check_with(
    kind: Kind,
    secret: &[u8; 32],
    s: &Signed,
    now_ms: i64,
) -> Result<Verified, Rejection> {
    check(kind, &[config_secret(kind, secret)], s, now_ms)
}

#[test]
fn every_scheme_accepts_its_own_signature_and_reports_ids() {
    let secret = [7u8; 32];
    for kind in ALL {
        let s = sign_for(
            kind,
            &secret,
            "{\"data\":{\"id\":\"evt_1\"}}",
            1_700_000_000,
            "msg_1",
        );
        let v = check_with(kind, &secret, &s, NOW_MS).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let expected = match kind {
            Kind::StandardWebhooks | Kind::HmacFull => Some("msg_1"),
            Kind::TwilioForm | Kind::TwilioSha256 => Some("msg_1:completed:1"),
            Kind::Telnyx => Some("evt_1"),
            _ => None,
        };
        assert_eq!(v.provider_id(), expected, "{kind:?}");
    }
}

#[test]
fn second_secret_in_the_list_is_accepted() {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    for kind in ALL {
        let s = sign_for(kind, &new, "body", 1_700_000_000, "id");
        let secrets = [config_secret(kind, &old), config_secret(kind, &new)];
        assert!(check(kind, &secrets, &s, NOW_MS).is_ok(), "{kind:?}");
    }
}

#[test]
fn missing_signature_header_is_unauthorized() {
    let secret = [3u8; 32];
    for kind in ALL {
        let mut s = sign_for(kind, &secret, "body", 1_700_000_000, "id");
        s.headers.remove(signature_header(kind));
        let err = check_with(kind, &secret, &s, NOW_MS).unwrap_err();
        assert!(
            matches!(err, Rejection::Unauthorized(AuthFailure::MissingHeader(_))),
            "{kind:?}: {err:?}"
        );
    }
}

#[test]
fn stale_and_future_timestamps_are_rejected_at_the_edge_of_tolerance() {
    let secret = [4u8; 32];
    for kind in ALL.into_iter().filter(|k| k.timestamped()) {
        let s = sign_for(kind, &secret, "body", 1_700_000_000, "id");
        let secrets = [config_secret(kind, &secret)];
        let at = |offset_secs: i64| check(kind, &secrets, &s, NOW_MS + offset_secs * 1000);
        assert!(
            at(300).is_ok() && at(-300).is_ok(),
            "{kind:?} within tolerance"
        );
        assert_eq!(
            at(301).unwrap_err(),
            Rejection::Unauthorized(AuthFailure::StaleTimestamp),
            "{kind:?}"
        );
        assert_eq!(
            at(-301).unwrap_err(),
            Rejection::Unauthorized(AuthFailure::FutureTimestamp),
            "{kind:?}"
        );
    }
}

#[test]
fn twilio_needs_a_form_or_a_body_hash() {
    let secret = [5u8; 32];
    let mut s = sign_for(Kind::TwilioForm, &secret, "x", 0, "CA1");
    s.set("Content-Type", "application/json");
    let err = check_with(Kind::TwilioForm, &secret, &s, NOW_MS).unwrap_err();
    assert!(matches!(err, Rejection::UnsupportedMediaType(_)), "{err:?}");

    let mut s = sign_for(Kind::TwilioJson, &secret, "{\"a\":1}", 0, "CA1");
    s.body = b"{\"a\":2}".to_vec();
    let err = check_with(Kind::TwilioJson, &secret, &s, NOW_MS).unwrap_err();
    assert_eq!(err, Rejection::Unauthorized(AuthFailure::BodyHashMismatch));
}

#[test]
fn twilio_accepts_url_with_or_without_default_port_and_rejects_unknown_algorithms() {
    let secret = [6u8; 32];
    let key = hex::encode(secret);
    let params = [("CallSid", "CA1")];
    let with_port = "https://hooks.example.com:443/v1/hooks/acme/src";
    let mut s = sign_for(Kind::TwilioForm, &secret, "x", 0, "CA1");
    s.body = sign::form_encode(&params).into_bytes();
    s.set(
        "X-Twilio-Signature",
        &sign::twilio_form(key.as_bytes(), with_port, &params, MacAlgorithm::Sha1),
    );
    let secrets = [config_secret(Kind::TwilioForm, &secret)];
    let v = check(Kind::TwilioForm, &secrets, &s, NOW_MS).unwrap();
    assert_eq!(
        v.provider_id(),
        None,
        "no CallStatus/SequenceNumber: body hash is the key"
    );
    s.set("X-Twilio-Webhooks-Signature-Settings", "algorithm=HMAC_MD5");
    let err = check(Kind::TwilioForm, &secrets, &s, NOW_MS).unwrap_err();
    assert_eq!(
        err.clone(),
        Rejection::Unauthorized(AuthFailure::UnsupportedAlgorithm("HMAC_MD5".into()))
    );
}

#[test]
fn a_signature_for_another_url_is_rejected() {
    let secret = [6u8; 32];
    let mut s = sign_for(Kind::TwilioForm, &secret, "x", 0, "CA1");
    s.url = "https://hooks.example.com/v1/hooks/other/src".into();
    assert!(check_with(Kind::TwilioForm, &secret, &s, NOW_MS).is_err());
}

#[test]
fn servicetitan_accepts_hex_base64_and_prefix_unless_encoding_is_pinned() {
    let key = b"st-secret";
    let body = b"{\"eventType\":\"JobBooked\"}";
    let hexsig = sign::servicetitan(key, body, SigEncoding::Hex);
    let b64sig = sign::servicetitan(key, body, SigEncoding::Base64);
    let mk = |encoding: &str| {
        let toml = format!(
            "[tenants.a.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"st-secret\"]\n{encoding}"
        );
        let c = toml.parse::<switchboard_config::Config>().unwrap();
        build_verifier("k", &c.tenants["a"].sources["st"]).unwrap()
    };
    let run = |v: &dyn Verifier, sig: &str| {
        let mut h = HeaderMap::new();
        h.insert(
            "x-servicetitan-signature",
            HeaderValue::from_str(sig).unwrap(),
        );
        v.verify(
            &Delivery {
                headers: &h,
                body,
                url: URL,
                query: None,
            },
            NOW_MS,
        )
    };
    let either = mk("");
    for sig in [
        hexsig.clone(),
        b64sig.clone(),
        format!("sha256={hexsig}"),
        format!("sha256={b64sig}"),
    ] {
        assert!(run(&*either, &sig).is_ok(), "{sig}");
    }
    let hex_only = mk("encoding = \"hex\"");
    assert!(run(&*hex_only, &hexsig).is_ok());
    assert!(run(&*hex_only, &b64sig).is_err());
    let custom = {
        let c = switchboard_config::Config::from_toml_str(
            "[tenants.a.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"st-secret\"]\nheader = \"X-Custom\"",
            &|_: &str| None,
        )
        .unwrap();
        build_verifier("k", &c.tenants["a"].sources["st"]).unwrap()
    };
    let mut h = HeaderMap::new();
    h.insert("x-custom", HeaderValue::from_str(&hexsig).unwrap());
    assert!(
        custom
            .verify(
                &Delivery {
                    headers: &h,
                    body,
                    url: URL,
                    query: None
                },
                NOW_MS
            )
            .is_ok()
    );
}

#[test]
fn standard_webhooks_accepts_svix_headers_and_any_v1_entry() {
    let secret = [8u8; 32];
    let kind = Kind::StandardWebhooks;
    let s = sign_for(kind, &secret, "b", 1_700_000_000, "msg_x");
    let mut svix = Signed {
        headers: HeaderMap::new(),
        ..s.clone()
    };
    for (from, to) in [
        ("webhook-id", "svix-id"),
        ("webhook-timestamp", "svix-timestamp"),
        ("webhook-signature", "svix-signature"),
    ] {
        svix.set(to, s.headers[from].to_str().unwrap());
    }
    let secrets = [config_secret(kind, &secret)];
    assert!(check(kind, &secrets, &svix, NOW_MS).is_ok());
    let mut multi = s.clone();
    let good = s.headers["webhook-signature"].to_str().unwrap().to_owned();
    multi.set("webhook-signature", &format!("v1,AAAA v1a,xyz {good}"));
    assert!(check(kind, &secrets, &multi, NOW_MS).is_ok());
    multi.set("webhook-signature", "v2,abc");
    assert!(matches!(
        check(kind, &secrets, &multi, NOW_MS),
        Err(Rejection::Unauthorized(AuthFailure::MalformedHeader(_)))
    ));
}

#[test]
fn config_errors_name_the_key_and_never_the_secret() {
    let valid_telnyx = sign::telnyx_public_key(&[1; 32]);
    for (scheme, valid, secret) in [
        ("telnyx", valid_telnyx.as_str(), "not-a-key-but-secret"),
        (
            "standard-webhooks",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!!secret",
        ),
    ] {
        let toml = format!(
            "[tenants.a.sources.s]\nscheme = \"{scheme}\"\nsecrets = [\"{valid}\", \"{secret}\"]"
        );
        let c = toml.parse::<switchboard_config::Config>().unwrap();
        let msg = build_verifier("tenants.a.sources.s", &c.tenants["a"].sources["s"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("tenants.a.sources.s.secrets[1]"), "{msg}");
        assert!(!msg.contains(secret) && !msg.contains(valid), "{msg}");
    }
    let c = switchboard_config::Config::from_toml_str(
        "[tenants.a.sources.s]\nscheme = \"hmac\"\nsecrets = [\"k\"]\nheader = \"x\"\npayload = \"{timestamp}{body}\"",
        &|_: &str| None,
    )
    .unwrap();
    let msg = build_verifier("tenants.a.sources.s", &c.tenants["a"].sources["s"])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("timestamp_header"), "{msg}");
}

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = at % b.len();
    // '0' and '1' differ in hex (case-insensitive) and in base64 alike.
    b[i] = if b[i] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    proptest::sample::select(ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn valid_signatures_verify(kind in kind_strategy(), secret in any::<[u8; 32]>(), payload in "[ -~]{0,200}",
                               ts in 1_000_000_000i64..4_000_000_000, id in "[a-zA-Z0-9_]{1,32}") {
        let s = sign_for(kind, &secret, &payload, ts, &id);
        prop_assert!(check_with(kind, &secret, &s, now_for(ts)).is_ok());
    }

    #[test]
    fn any_body_change_is_rejected(kind in kind_strategy(), secret in any::<[u8; 32]>(), payload in "[ -~]{1,200}",
                                   at in any::<usize>(), ts in 1_000_000_000i64..4_000_000_000) {
        prop_assume!(kind != Kind::VapiSecret); // a static secret does not sign the body
        let mut s = sign_for(kind, &secret, &payload, ts, "id");
        if kind.twilio_form() {
            // Twilio signs decoded parameters: change one.
            let changed = flip(&payload, at);
            let params = [("CallSid", "id"), ("CallStatus", "completed"), ("SequenceNumber", "1"), ("Payload", changed.as_str())];
            s.body = sign::form_encode(&params).into_bytes();
        } else {
            let i = at % s.body.len();
            s.body[i] ^= 0x01;
        }
        prop_assert!(check_with(kind, &secret, &s, now_for(ts)).is_err());
    }

    #[test]
    fn any_signature_change_is_rejected(kind in kind_strategy(), secret in any::<[u8; 32]>(), payload in "[ -~]{0,100}",
                                        at in any::<usize>(), ts in 1_000_000_000i64..4_000_000_000) {
        let mut s = sign_for(kind, &secret, &payload, ts, "id");
        let name = signature_header(kind);
        let value = s.headers[name].to_str().unwrap().to_owned();
        // Keep any `v1,` / `sha256=` / `v=..,d=` framing and base64 padding: change a
        // character in the first half of the encoded signature itself, so it still decodes
        // and the MAC comparison is what rejects it.
        let unpadded = value.trim_end_matches('=');
        let start = unpadded.rfind([',', '=']).map_or(0, |i| i + 1);
        let sig = &unpadded[start..];
        let changed = format!("{}{}{}", &value[..start], flip(sig, at % (sig.len() / 2)), &value[unpadded.len()..]);
        prop_assert_ne!(&changed, &value);
        s.set(name, &changed);
        let err = check_with(kind, &secret, &s, now_for(ts)).unwrap_err();
        prop_assert_eq!(err, Rejection::Unauthorized(AuthFailure::BadSignature));
    }

    #[test]
    fn any_timestamp_change_is_rejected(kind in kind_strategy(), secret in any::<[u8; 32]>(), payload in "[ -~]{0,100}",
                                        delta in 1i64..100_000, ts in 1_000_000_000i64..4_000_000_000) {
        prop_assume!(kind.timestamped());
        let signed = sign_for(kind, &secret, &payload, ts, "id");
        let mut s = signed.clone();
        let new_ts = ts + delta;
        match kind {
            Kind::StandardWebhooks => s.set("webhook-timestamp", &new_ts.to_string()),
            Kind::Telnyx => s.set("telnyx-timestamp", &new_ts.to_string()),
            Kind::VapiHmac => s.set("x-timestamp", &new_ts.to_string()),
            Kind::HmacFull => s.set("X-Ts", &new_ts.to_string()),
            Kind::Retell => {
                let v = signed.headers["x-retell-signature"].to_str().unwrap();
                let d = v.split_once(",d=").unwrap().1;
                s.set("x-retell-signature", &format!("v={},d={d}", new_ts * 1000));
            }
            _ => unreachable!(),
        }
        // Even with the clock at the *new* time, the signature no longer matches.
        prop_assert!(check_with(kind, &secret, &s, now_for(new_ts)).is_err());
    }

    #[test]
    fn any_id_change_is_rejected(kind in kind_strategy(), secret in any::<[u8; 32]>(), id in "[a-z0-9]{1,20}",
                                 other in "[a-z0-9]{1,20}", ts in 1_000_000_000i64..4_000_000_000) {
        prop_assume!(kind.has_id() && id != other);
        let mut s = sign_for(kind, &secret, "body", ts, &id);
        s.set(if kind == Kind::StandardWebhooks { "webhook-id" } else { "X-Id" }, &other);
        prop_assert!(check_with(kind, &secret, &s, now_for(ts)).is_err());
    }

    #[test]
    fn any_other_secret_is_rejected(kind in kind_strategy(), secret in any::<[u8; 32]>(), wrong in any::<[u8; 32]>(),
                                    payload in "[ -~]{0,100}", ts in 1_000_000_000i64..4_000_000_000) {
        prop_assume!(secret != wrong);
        let s = sign_for(kind, &secret, &payload, ts, "id");
        let err = check_with(kind, &wrong, &s, now_for(ts)).unwrap_err();
        prop_assert_eq!(err, Rejection::Unauthorized(AuthFailure::BadSignature));
    }

    #[test]
    fn arbitrary_headers_never_panic(kind in kind_strategy(), value in "[ -~]{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut s = Signed { headers: HeaderMap::new(), body, url: URL.into(), query: Some(value.clone()) };
        for name in [signature_header(kind), "webhook-id", "webhook-timestamp", "telnyx-timestamp", "x-timestamp", "X-Ts", "X-Id",
                     "X-Twilio-Webhooks-Signature-Settings", "content-type"] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                s.headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), v);
            }
        }
        prop_assert!(check_with(kind, &[9; 32], &s, NOW_MS).is_err());
    }
}

#[test]
fn vapi_infers_hmac_mode_from_hmac_keys_and_rejects_contradictions() {
    let build = |extra: &str| {
        let toml = format!("[tenants.a.sources.v]\nscheme = \"vapi\"\nsecrets = [\"k\"]\n{extra}");
        let c = toml.parse::<switchboard_config::Config>().unwrap();
        build_verifier("tenants.a.sources.v", &c.tenants["a"].sources["v"])
    };
    let mut h = HeaderMap::new();
    let t = (NOW_MS / 1000).to_string();
    let sig = sign::hmac(
        MacAlgorithm::Sha256,
        b"k",
        &[t.as_bytes(), b".", b"{}"],
        SigEncoding::Hex,
    );
    h.insert("x-vapi-timestamp", HeaderValue::from_str(&t).unwrap());
    h.insert("x-vapi-signature", HeaderValue::from_str(&sig).unwrap());
    let v =
        build("header = \"x-vapi-signature\"\ntimestamp_header = \"x-vapi-timestamp\"").unwrap();
    assert!(
        v.verify(
            &Delivery {
                headers: &h,
                body: b"{}",
                url: URL,
                query: None
            },
            NOW_MS
        )
        .is_ok()
    );
    let msg = build("mode = \"secret\"\ntimestamp_header = \"x\"")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("tenants.a.sources.v.timestamp_header"),
        "{msg}"
    );
}

#[test]
fn unsigned_ids_and_timestamps_are_config_errors() {
    for (extra, field) in [
        (
            "header = \"x\"\ntimestamp_header = \"x-ts\"",
            "timestamp_header",
        ),
        ("header = \"x\"\nid_header = \"x-id\"", "id_header"),
    ] {
        let toml = format!("[tenants.a.sources.s]\nscheme = \"hmac\"\nsecrets = [\"k\"]\n{extra}");
        let c = toml.parse::<switchboard_config::Config>().unwrap();
        let msg = build_verifier("tenants.a.sources.s", &c.tenants["a"].sources["s"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(field) && msg.contains("does not sign"),
            "{msg}"
        );
    }
}
