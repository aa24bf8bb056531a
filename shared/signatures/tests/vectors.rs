//! Published signature vectors (provider SDK tests and docs), verified with the clock pinned
//! to each vector's own time and then checked to fail once anything is changed.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use switchboard_signatures::{Delivery, Rejection, Verifier, build_verifier, sign};

fn vectors() -> Vec<Value> {
    let text = include_str!("fixtures/signatures.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn verifier_for(scheme: &str, secret: &str) -> Box<dyn Verifier> {
    verifier_with(scheme, &[secret])
}

/// A verifier for `scheme` with `secrets`, in order (rotation: any of them verifies).
fn verifier_with(scheme: &str, secrets: &[&str]) -> Box<dyn Verifier> {
    let scheme_toml = match scheme {
        "hmac (github preset)" => "scheme = \"hmac\"\npreset = \"github\"".to_owned(),
        other => format!("scheme = \"{other}\""),
    };
    let toml = format!(
        "[ingest]\npublic_url = \"https://example.com\"\n[tenants.t.sources.s]\n{scheme_toml}\nsecrets = {secrets:?}"
    );
    let config = toml.parse::<switchboard_config::Config>().unwrap();
    build_verifier("tenants.t.sources.s", &config.tenants["t"].sources["s"]).unwrap()
}

/// The vector's own time, in ms, from whichever timestamp it carries.
fn vector_time_ms(v: &Value) -> i64 {
    if let Some(now) = v.get("now").and_then(Value::as_i64) {
        return now * 1000;
    }
    let h = &v["header"];
    if let Some(ts) = h.get("webhook-timestamp").or(h.get("telnyx-timestamp")) {
        return ts.as_str().unwrap().parse::<i64>().unwrap() * 1000;
    }
    if let Some(sig) = h.get("x-retell-signature") {
        let ms = sig
            .as_str()
            .unwrap()
            .trim_start_matches("v=")
            .split(',')
            .next()
            .unwrap();
        return ms.parse().unwrap();
    }
    1_700_000_000_000 // untimestamped schemes: any time will do
}

struct Case {
    headers: HeaderMap,
    body: Vec<u8>,
    url: String,
    query: Option<String>,
}

fn case(v: &Value) -> Case {
    let mut headers = HeaderMap::new();
    for (k, val) in v["header"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
        );
    }
    let body = if let Some(form) = v.get("form") {
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let pairs: Vec<(&str, &str)> = form
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        sign::form_encode(&pairs).into_bytes()
    } else {
        v["body"].as_str().unwrap().as_bytes().to_vec()
    };
    let url = v
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("https://example.com/hook")
        .to_owned();
    let query = url.split_once('?').map(|(_, q)| q.to_owned());
    Case {
        headers,
        body,
        url,
        query,
    }
}

fn run(verifier: &dyn Verifier, c: &Case, now_ms: i64) -> Result<(), Rejection> {
    let d = Delivery {
        headers: &c.headers,
        body: &c.body,
        url: &c.url,
        query: c.query.as_deref(),
    };
    verifier.verify(&d, now_ms).map(|_| ())
}

#[test]
fn every_published_vector_verifies_at_its_own_time() {
    let vectors = vectors();
    assert!(vectors.len() >= 14);
    for v in &vectors {
        let scheme = v["scheme"].as_str().unwrap();
        let verifier = verifier_for(scheme, v["secret"].as_str().unwrap());
        let c = case(v);
        run(&*verifier, &c, vector_time_ms(v))
            .unwrap_or_else(|e| panic!("{} ({}): {e}", scheme, v["source"]));
    }
}

#[test]
fn every_published_vector_fails_when_tampered() {
    for v in &vectors() {
        let scheme = v["scheme"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap();
        let verifier = verifier_for(scheme, secret);
        let now = vector_time_ms(v);

        let mut c = case(v);
        if v.get("form").is_some() {
            c.body.extend_from_slice(b"&Extra=1");
        } else {
            c.body.push(b' ');
        }
        if v.get("body_signed") != Some(&Value::Bool(false)) {
            assert!(
                run(&*verifier, &c, now).is_err(),
                "{scheme}: tampered body accepted"
            );
        }

        let c = case(v);
        if c.headers.contains_key("webhook-timestamp")
            || c.headers.contains_key("telnyx-timestamp")
            || scheme == "retell"
        {
            assert!(
                run(&*verifier, &c, now + 301_000).is_err(),
                "{scheme}: stale accepted"
            );
            assert!(
                run(&*verifier, &c, now - 301_000).is_err(),
                "{scheme}: future accepted"
            );
        }

        let wrong = if scheme == "telnyx" {
            sign::telnyx_public_key(&[42; 32])
        } else if scheme == "standard-webhooks" {
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
        } else {
            format!("{secret}x")
        };
        assert!(
            run(&*verifier_for(scheme, &wrong), &c, now).is_err(),
            "{scheme}: wrong secret accepted"
        );
        // The right secret second in the list still verifies (rotation).
        let rotated = verifier_with(scheme, &[&wrong, secret]);
        assert!(
            run(&*rotated, &c, now).is_ok(),
            "{scheme}: second secret rejected"
        );
    }
}
