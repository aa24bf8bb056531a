//! Issue 15's schemes, each driven the same way: a delivery signed as the provider's
//! documentation describes (the signers in `sign`, written from the docs, not from the
//! verifiers) is accepted; a tampered body (where the scheme signs it), a stale timestamp
//! (where it signs one), a wrong secret, a truncated signature and a missing header are
//! each rejected with the documented reason; and arbitrary bytes never make one panic.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::json;
use switchboard_signatures::{Delivery, Rejection, Verifier, build_verifier, sign};

const NOW: i64 = 1_764_000_000; // seconds
const BASE: &str = "https://hooks.example.com";

struct Scheme {
    name: &'static str,
    /// The source's TOML after `scheme = …`, before `secrets`.
    toml: &'static str,
    /// The header a verifier reads its proof from (removed / truncated below).
    proof: &'static str,
    body_signed: bool,
    /// Seconds a signed timestamp may be off (None: nothing is timestamped).
    tolerance: Option<i64>,
    sign: fn(secret: &str, ts: i64) -> Signed,
}

#[derive(Clone, Debug)]
struct Signed {
    headers: HeaderMap,
    body: Vec<u8>,
    url: String,
}

fn signed(headers: &[(&str, String)], body: impl Into<Vec<u8>>, url: &str) -> Signed {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    Signed {
        headers: h,
        body: body.into(),
        url: url.to_owned(),
    }
}

const CALL: &str = r#"{"call_id":"c-1","status":"completed","to":"+15125550000"}"#;

fn schemes() -> Vec<Scheme> {
    vec![
        Scheme {
            name: "plivo",
            toml: "",
            proof: "x-plivo-signature-v3",
            body_signed: true,
            tolerance: None,
            sign: |secret, _| {
                let url = format!("{BASE}/v1/hooks/acme/src");
                let form = [
                    ("CallUUID", "c-1"),
                    ("CallStatus", "completed"),
                    ("From", "+15125550101"),
                ];
                signed(
                    &[
                        ("content-type", "application/x-www-form-urlencoded".into()),
                        ("x-plivo-signature-v3-nonce", "n0nce".into()),
                        (
                            "x-plivo-signature-v3",
                            sign::plivo(secret.as_bytes(), &url, &form, "n0nce"),
                        ),
                    ],
                    sign::form_encode(&form),
                    &url,
                )
            },
        },
        Scheme {
            name: "vonage",
            toml: "",
            proof: "authorization",
            body_signed: true,
            tolerance: Some(300),
            sign: |secret, ts| {
                let claims = json!({"iat": ts, "jti": "j-1", "iss": "Vonage",
                    "payload_hash": switchboard_signatures::sha256_hex(CALL.as_bytes())});
                let token = sign::jwt_hs256(secret.as_bytes(), &claims);
                signed(&[("authorization", format!("Bearer {token}"))], CALL, BASE)
            },
        },
        Scheme {
            name: "dialpad",
            toml: "",
            proof: "",
            body_signed: true,
            tolerance: Some(300),
            sign: |secret, ts| {
                let claims = json!({"call_id": 1, "state": "hangup", "iat": ts});
                signed(&[], sign::jwt_hs256(secret.as_bytes(), &claims), BASE)
            },
        },
        Scheme {
            name: "jwt",
            toml: "header = \"x-token\"\npayload_hash_claim = \"body_sha256\"",
            proof: "x-token",
            body_signed: true,
            tolerance: Some(300),
            sign: |secret, ts| {
                let claims = json!({"iat": ts, "body_sha256": switchboard_signatures::sha256_hex(CALL.as_bytes())});
                signed(
                    &[("x-token", sign::jwt_hs256(secret.as_bytes(), &claims))],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "ringcentral",
            toml: "",
            proof: "verification-token",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| signed(&[("verification-token", secret.to_owned())], CALL, BASE),
        },
        Scheme {
            name: "bandwidth",
            toml: "username = \"bw-callbacks\"",
            proof: "authorization",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| {
                signed(
                    &[("authorization", sign::basic("bw-callbacks", secret))],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "basic",
            toml: "username = \"hooks\"",
            proof: "authorization",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| {
                signed(
                    &[("authorization", sign::basic("hooks", secret))],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "aircall",
            toml: "",
            proof: "",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| {
                let body = json!({"resource": "call", "event": "call.ended", "timestamp": NOW, "token": secret,
                    "data": {"id": 1}});
                signed(&[], body.to_string(), BASE)
            },
        },
        Scheme {
            name: "token",
            toml: "header = \"x-hook-token\"\nprefix = \"Token \"",
            proof: "x-hook-token",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| signed(&[("x-hook-token", format!("Token {secret}"))], CALL, BASE),
        },
        Scheme {
            name: "callrail",
            toml: "",
            proof: "signature",
            body_signed: true,
            tolerance: None,
            sign: |secret, _| {
                signed(
                    &[(
                        "signature",
                        sign::callrail(secret.as_bytes(), CALL.as_bytes()),
                    )],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "bland",
            toml: "",
            proof: "x-webhook-signature",
            body_signed: true,
            tolerance: None,
            sign: |secret, _| {
                signed(
                    &[(
                        "x-webhook-signature",
                        sign::bland(secret.as_bytes(), CALL.as_bytes()),
                    )],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "elevenlabs",
            toml: "",
            proof: "elevenlabs-signature",
            body_signed: true,
            tolerance: Some(1800),
            sign: |secret, ts| {
                signed(
                    &[(
                        "elevenlabs-signature",
                        sign::elevenlabs(secret.as_bytes(), ts, CALL.as_bytes()),
                    )],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "synthflow",
            toml: "",
            proof: "x-synthflow-signature",
            body_signed: false,
            tolerance: None,
            sign: |secret, _| {
                signed(
                    &[(
                        "x-synthflow-signature",
                        sign::synthflow(secret.as_bytes(), "c-1"),
                    )],
                    CALL,
                    BASE,
                )
            },
        },
        Scheme {
            name: "hmac",
            toml: "header = \"stripe-signature\"\ntimestamp_key = \"t\"\nsignature_key = \"v1\"",
            proof: "stripe-signature",
            body_signed: true,
            tolerance: Some(300),
            sign: |secret, ts| {
                let t = ts.to_string();
                let sig = sign::hmac(
                    switchboard_signatures::MacAlgorithm::Sha256,
                    secret.as_bytes(),
                    &[t.as_bytes(), b".", CALL.as_bytes()],
                    switchboard_signatures::SigEncoding::Hex,
                );
                signed(
                    &[("stripe-signature", format!("t={t},v0=ignored,v1={sig}"))],
                    CALL,
                    BASE,
                )
            },
        },
    ]
}

fn verifier(s: &Scheme, secrets: &[&str]) -> Box<dyn Verifier> {
    let toml = format!(
        "[ingest]\npublic_url = \"{BASE}\"\n[tenants.acme.sources.src]\nscheme = \"{}\"\n{}\nsecrets = {secrets:?}",
        s.name, s.toml
    );
    let config = toml
        .parse::<switchboard_config::Config>()
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    build_verifier(
        "tenants.acme.sources.src",
        &config.tenants["acme"].sources["src"],
    )
    .unwrap_or_else(|e| panic!("{}: {e}", s.name))
}

fn run(v: &dyn Verifier, d: &Signed, now: i64) -> Result<(), Rejection> {
    let query = d.url.split_once('?').map(|(_, q)| q);
    v.verify(
        &Delivery {
            headers: &d.headers,
            body: &d.body,
            url: &d.url,
            query,
        },
        now * 1000,
    )
    .map(|_| ())
}

fn reason(r: Result<(), Rejection>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(Rejection::Unauthorized(f)) => f.reason().into(),
        Err(other) => format!("{other:?}"),
    }
}

const SECRET: &str = "s3cret-one";

#[test]
fn a_delivery_signed_as_documented_is_accepted_with_either_secret_of_a_rotation() {
    for s in schemes() {
        let d = (s.sign)(SECRET, NOW);
        assert_eq!(
            reason(run(&*verifier(&s, &[SECRET]), &d, NOW)),
            "accepted",
            "{}",
            s.name
        );
        let rotated = verifier(&s, &["s3cret-new", SECRET]);
        assert_eq!(
            reason(run(&*rotated, &d, NOW)),
            "accepted",
            "{} second secret",
            s.name
        );
    }
}

#[test]
fn a_wrong_secret_is_a_bad_signature() {
    for s in schemes() {
        let d = (s.sign)("another-secret", NOW);
        assert_eq!(
            reason(run(&*verifier(&s, &[SECRET]), &d, NOW)),
            "bad_signature",
            "{}",
            s.name
        );
    }
}

#[test]
fn a_tampered_body_is_rejected_where_the_scheme_signs_it() {
    for s in schemes().into_iter().filter(|s| s.body_signed) {
        let mut d = (s.sign)(SECRET, NOW);
        if s.name == "dialpad" {
            // The body is the token: change one claim character.
            let i = d.body.iter().position(|&b| b == b'.').unwrap() + 3;
            d.body[i] = if d.body[i] == b'A' { b'B' } else { b'A' };
        } else if s.name == "plivo" {
            d.body.extend_from_slice(b"&Extra=1");
        } else {
            d.body = CALL.replace("completed", "booked").into_bytes();
        }
        let got = reason(run(&*verifier(&s, &[SECRET]), &d, NOW));
        assert!(
            ["bad_signature", "body_hash_mismatch", "malformed_header"].contains(&got.as_str()),
            "{}: {got}",
            s.name
        );
    }
}

#[test]
fn a_timestamp_outside_the_tolerance_is_stale_or_future() {
    for s in schemes() {
        let Some(tolerance) = s.tolerance else {
            continue;
        };
        let v = verifier(&s, &[SECRET]);
        let old = (s.sign)(SECRET, NOW - tolerance - 1);
        assert_eq!(reason(run(&*v, &old, NOW)), "stale_timestamp", "{}", s.name);
        let edge = (s.sign)(SECRET, NOW - tolerance);
        assert_eq!(
            reason(run(&*v, &edge, NOW)),
            "accepted",
            "{} at the edge",
            s.name
        );
        let ahead = (s.sign)(SECRET, NOW + tolerance + 1);
        assert_eq!(
            reason(run(&*v, &ahead, NOW)),
            "future_timestamp",
            "{}",
            s.name
        );
    }
}

#[test]
fn a_truncated_or_missing_proof_is_rejected_naming_the_header() {
    for s in schemes() {
        let v = verifier(&s, &[SECRET]);
        let d = (s.sign)(SECRET, NOW);
        let mut truncated = d.clone();
        if s.proof.is_empty() {
            // The proof is in the body (dialpad's token, aircall's field).
            truncated.body.truncate(d.body.len() - 4);
        } else {
            let value = d.headers[s.proof].to_str().unwrap();
            let cut = HeaderValue::from_str(&value[..value.len() - 4]).unwrap();
            truncated.headers.insert(s.proof, cut);
        }
        let got = reason(run(&*v, &truncated, NOW));
        assert!(
            [
                "bad_signature",
                "malformed_header",
                "BadRequest(\"the body is not a JSON object\")"
            ]
            .contains(&got.as_str()),
            "{}: {got}",
            s.name
        );
        if !s.proof.is_empty() {
            let mut missing = d.clone();
            missing.headers.remove(s.proof);
            assert_eq!(
                reason(run(&*v, &missing, NOW)),
                "missing_header",
                "{}",
                s.name
            );
        }
    }
}

#[test]
fn aircall_without_its_token_field_is_missing_field() {
    let s = schemes().into_iter().find(|s| s.name == "aircall").unwrap();
    let body = json!({"resource": "call", "event": "call.ended", "data": {"id": 1}}).to_string();
    let d = signed(&[], body, BASE);
    assert_eq!(
        reason(run(&*verifier(&s, &[SECRET]), &d, NOW)),
        "missing_field"
    );
}

#[test]
fn jwt_refuses_other_algorithms_and_unsigned_tokens() {
    let s = schemes().into_iter().find(|s| s.name == "dialpad").unwrap();
    let v = verifier(&s, &[SECRET]);
    let b64 = |v: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    };
    for alg in ["none", "HS512", "RS256"] {
        let token = format!(
            "{}.{}.",
            b64(&format!("{{\"alg\":\"{alg}\"}}")),
            b64("{\"state\":\"hangup\"}")
        );
        let got = reason(run(&*v, &signed(&[], token, BASE), NOW));
        assert_eq!(got, "unsupported_algorithm", "{alg}");
    }
}

#[test]
fn ringcentral_answers_its_validation_handshake_and_basic_challenges() {
    let rc = schemes()
        .into_iter()
        .find(|s| s.name == "ringcentral")
        .unwrap();
    let v = verifier(&rc, &[SECRET]);
    let d = signed(&[("validation-token", "abc-123".into())], "", BASE);
    let query = None;
    let h = v
        .handshake(&Delivery {
            headers: &d.headers,
            body: &d.body,
            url: &d.url,
            query,
        })
        .expect("handshake");
    assert_eq!(
        (h.header, h.value.as_str()),
        ("validation-token", "abc-123")
    );
    let plain = (rc.sign)(SECRET, NOW);
    let delivery = Delivery {
        headers: &plain.headers,
        body: &plain.body,
        url: &plain.url,
        query,
    };
    assert!(
        v.handshake(&delivery).is_none(),
        "a notification is not a handshake"
    );

    let bw = schemes()
        .into_iter()
        .find(|s| s.name == "bandwidth")
        .unwrap();
    assert!(
        verifier(&bw, &[SECRET])
            .challenge()
            .unwrap()
            .starts_with("Basic realm=")
    );
    assert!(v.challenge().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No verifier panics on arbitrary bytes in its proof header, body and URL.
    #[test]
    fn arbitrary_input_never_panics(
        header in "[ -~]{0,120}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
        query in "[ -~&=%+]{0,40}",
    ) {
        for s in schemes() {
            let v = verifier(&s, &[SECRET]);
            let mut d = (s.sign)(SECRET, NOW);
            if !s.proof.is_empty() {
                d.headers.insert(s.proof, HeaderValue::from_str(&header).unwrap());
            }
            d.body = body.clone();
            d.url = format!("{BASE}/x?{query}");
            let _ = run(&*v, &d, NOW);
            let _ = v.handshake(&Delivery { headers: &d.headers, body: &d.body, url: &d.url, query: None });
        }
    }
}

#[test]
fn a_padded_or_resigned_dialpad_token_is_the_same_delivery_or_none() {
    let s = schemes().into_iter().find(|s| s.name == "dialpad").unwrap();
    let v = verifier(&s, &[SECRET]);
    let d = (s.sign)(SECRET, NOW);
    let id = |d: &Signed| {
        v.verify(
            &Delivery {
                headers: &d.headers,
                body: &d.body,
                url: &d.url,
                query: None,
            },
            NOW * 1000,
        )
    };
    let first = id(&d).unwrap();
    assert!(
        first.provider_id().is_some(),
        "the signed part is the dedup key"
    );
    // `=` padding on any part is refused (it would be a new body with the same signature).
    for part in 0..3 {
        let mut padded = d.clone();
        let token = String::from_utf8(d.body.clone()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[part].push('=');
        padded.body = parts.join(".").into_bytes();
        assert!(id(&padded).is_err(), "padding on part {part} accepted");
    }
}

#[test]
fn plivo_accepts_the_main_accounts_signature_beside_the_subaccounts() {
    let s = schemes().into_iter().find(|s| s.name == "plivo").unwrap();
    // Configured with the main account's token; the sub-account's signature comes first.
    let main = (s.sign)("main-account-token", NOW);
    let sub = (s.sign)("sub-account-token", NOW);
    let mut both = main.clone();
    both.headers.insert(
        "x-plivo-signature-v3",
        sub.headers["x-plivo-signature-v3"].clone(),
    );
    both.headers.insert(
        "x-plivo-signature-ma-v3",
        main.headers["x-plivo-signature-v3"].clone(),
    );
    assert_eq!(
        reason(run(&*verifier(&s, &["main-account-token"]), &both, NOW)),
        "accepted"
    );
    assert_eq!(
        reason(run(&*verifier(&s, &["sub-account-token"]), &both, NOW)),
        "accepted"
    );
    assert_eq!(
        reason(run(&*verifier(&s, &["other"]), &both, NOW)),
        "bad_signature"
    );
}

#[test]
fn an_unsupported_algorithm_is_named_briefly() {
    use base64::Engine as _;
    let s = schemes().into_iter().find(|s| s.name == "dialpad").unwrap();
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let alg = "X".repeat(5000);
    let token = format!("{}.{}.", b64(&format!("{{\"alg\":\"{alg}\"}}")), b64("{}"));
    let err = verifier(&s, &[SECRET])
        .verify(
            &Delivery {
                headers: &HeaderMap::new(),
                body: token.as_bytes(),
                url: BASE,
                query: None,
            },
            NOW * 1000,
        )
        .unwrap_err();
    assert!(err.to_string().len() < 100, "{err}");
}
