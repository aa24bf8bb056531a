//! Issue 15's schemes for [`crate::TestScheme`]: each delivery built as the provider's
//! documentation describes it, with the signers of `switchboard_signatures::sign` (which
//! are written from the docs, not from the verifiers).

use crate::schemes::{Hook, HookSpec, TestScheme, TestSecret};
use serde_json::{Value, json};
use switchboard_signatures::{MacAlgorithm, SigEncoding, sign};

/// `body` as a JSON object with `key` set (a body that is not an object is wrapped).
fn with_field(body: &[u8], key: &str, value: Value) -> Vec<u8> {
    let mut object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => {
            let mut map = serde_json::Map::new();
            map.insert("payload".into(), String::from_utf8_lossy(body).into());
            map
        }
    };
    object.insert(key.into(), value);
    serde_json::to_vec(&Value::Object(object)).expect("json")
}

/// The Plivo form a test delivery carries.
pub(crate) fn plivo_form<'a>(spec: &'a HookSpec<'_>, payload: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("CallUUID", spec.id),
        ("CallStatus", "completed"),
        ("Payload", payload),
    ]
}

/// The config lines after `scheme = …` for the schemes that need any.
pub(crate) fn extra_toml(scheme: TestScheme) -> &'static str {
    match scheme {
        TestScheme::Bandwidth => "username = \"bw-callbacks\"\n",
        TestScheme::Basic => "username = \"hooks\"\n",
        TestScheme::ElevenLabs => "tolerance_secs = 300\n",
        TestScheme::Token => "header = \"X-Hook-Token\"\nprefix = \"Token \"\n",
        TestScheme::Jwt => "header = \"X-Jwt\"\npayload_hash_claim = \"body_sha256\"\n",
        TestScheme::HmacCombined => "header = \"X-Combined-Signature\"\ntimestamp_key = \"t\"\n",
        _ => "",
    }
}

pub(crate) fn sign_into(
    scheme: TestScheme,
    secret: &TestSecret,
    spec: &HookSpec<'_>,
    hook: &mut Hook,
) {
    let key = &secret.signing;
    let json_type = || ("Content-Type".to_owned(), "application/json".to_owned());
    let body_hash = || switchboard_signatures::sha256_hex(spec.body);
    match scheme {
        TestScheme::Plivo => {
            let payload = String::from_utf8_lossy(spec.body).into_owned();
            let form = plivo_form(spec, &payload);
            hook.body = sign::form_encode(&form).into_bytes();
            let url = format!("{}{}", spec.public_url, hook.path_and_query);
            let nonce = format!("n-{}", spec.timestamp);
            hook.set_header("Content-Type", "application/x-www-form-urlencoded");
            hook.set_header("X-Plivo-Signature-V3-Nonce", &nonce);
            hook.set_header(
                "X-Plivo-Signature-V3",
                &sign::plivo(key, &url, &form, &nonce),
            );
        }
        TestScheme::Vonage => {
            hook.headers.push(json_type());
            let claims = json!({"iat": spec.timestamp, "jti": spec.id, "iss": "Vonage",
                "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "payload_hash": body_hash()});
            hook.set_header(
                "Authorization",
                &format!("Bearer {}", sign::jwt_hs256(key, &claims)),
            );
        }
        TestScheme::Dialpad => {
            let event = serde_json::from_slice::<Value>(&with_field(
                spec.body,
                "iat",
                spec.timestamp.into(),
            ))
            .expect("json");
            hook.body = sign::jwt_hs256(key, &event).into_bytes();
            hook.set_header("Content-Type", "application/jwt");
        }
        TestScheme::RingCentral => {
            hook.headers.push(json_type());
            hook.set_header("Verification-Token", &secret.config);
        }
        TestScheme::Bandwidth => {
            hook.headers.push(json_type());
            hook.set_header(
                "Authorization",
                &sign::basic("bw-callbacks", &secret.config),
            );
        }
        TestScheme::Basic => {
            hook.headers.push(json_type());
            hook.set_header("Authorization", &sign::basic("hooks", &secret.config));
        }
        TestScheme::Aircall => {
            hook.headers.push(json_type());
            hook.body = with_field(spec.body, "token", secret.config.clone().into());
        }
        TestScheme::CallRail => {
            hook.headers.push(json_type());
            hook.set_header("Signature", &sign::callrail(key, spec.body));
        }
        TestScheme::Bland => {
            hook.headers.push(json_type());
            hook.set_header("X-Webhook-Signature", &sign::bland(key, spec.body));
        }
        TestScheme::ElevenLabs => {
            hook.headers.push(json_type());
            hook.set_header(
                "ElevenLabs-Signature",
                &sign::elevenlabs(key, spec.timestamp, spec.body),
            );
        }
        TestScheme::Synthflow => {
            hook.headers.push(json_type());
            hook.body = with_field(spec.body, "call_id", spec.id.into());
            hook.set_header("X-Synthflow-Signature", &sign::synthflow(key, spec.id));
        }
        TestScheme::Token => {
            hook.headers.push(json_type());
            hook.set_header("X-Hook-Token", &format!("Token {}", secret.config));
        }
        TestScheme::Jwt => {
            hook.headers.push(json_type());
            let claims = json!({"iat": spec.timestamp, "body_sha256": body_hash()});
            hook.set_header("X-Jwt", &sign::jwt_hs256(key, &claims));
        }
        TestScheme::HmacCombined => {
            hook.headers.push(json_type());
            let t = spec.timestamp.to_string();
            let sig = sign::hmac(
                MacAlgorithm::Sha256,
                key,
                &[t.as_bytes(), b".", spec.body],
                SigEncoding::Hex,
            );
            hook.set_header("X-Combined-Signature", &format!("t={t},v1={sig}"));
        }
        other => unreachable!("{other:?} is signed in schemes.rs"),
    }
}
