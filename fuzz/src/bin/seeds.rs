//! Writes the seed corpora: `corpus/verify_<scheme>/` gets a delivery signed for the fuzz
//! verifier's secret (so runs start past the checks that guard the rest) plus the test
//! vectors' deliveries; `corpus/normalise_<format>/` gets every fixture of that format.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --bin seeds` (scripts/fuzz runs it).

use serde_json::json;
use std::path::Path;
use switchboard_fuzz::{PUBLIC_URL, SCHEMES, SECRET, encode};
use switchboard_signatures::{MacAlgorithm, SigEncoding, sign};

const TS: i64 = 1_764_000_000;
const BODY: &str = r#"{"call_id":"c-1","event":"call.ended","status":"completed","token":"fuzz-secret-0123456789abcdef"}"#;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    std::fs::write(dir.join(name), bytes).expect("seed");
}

/// A delivery the fuzz verifier of `scheme` accepts, encoded.
fn signed(scheme: &str) -> Vec<u8> {
    let key = SECRET.as_bytes();
    let body = BODY.as_bytes();
    let t = TS.to_string();
    let hmac = |parts: &[&[u8]], alg, enc| sign::hmac(alg, key, parts, enc);
    let url = format!("{PUBLIC_URL}/v1/hooks/t/s");
    match scheme {
        "servicetitan" => encode(
            &[
                &sign::servicetitan(key, body, SigEncoding::Hex),
                "application/json",
            ],
            "",
            body,
        ),
        "standard_webhooks" => {
            let secret = "whsec_ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==";
            let sig = sign::standard_webhooks(secret, "msg_1", TS, body).expect("whsec");
            encode(&["msg_1", &t, &sig], "", body)
        }
        "twilio" => {
            let form = [("CallSid", "CA1"), ("CallStatus", "completed")];
            let sig = sign::twilio_form(key, &url, &form, MacAlgorithm::Sha1);
            encode(
                &[&sig, "", "application/x-www-form-urlencoded"],
                "",
                sign::form_encode(&form).as_bytes(),
            )
        }
        "telnyx" => encode(&[&sign::telnyx(&[7; 32], TS, body), &t], "", body),
        "retell" => encode(&[&sign::retell(key, body, TS * 1000)], "", body),
        "vapi" => encode(&[SECRET], "", body),
        "hmac" => {
            let sig = hmac(
                &[b"id-1.", t.as_bytes(), b".", body],
                MacAlgorithm::Sha256,
                SigEncoding::Hex,
            );
            encode(&[&format!("v0={sig}"), &t, "id-1"], "", body)
        }
        "hmac_combined" => {
            let sig = hmac(
                &[t.as_bytes(), b".", body],
                MacAlgorithm::Sha256,
                SigEncoding::Hex,
            );
            encode(&[&format!("t={t},v1={sig}")], "", body)
        }
        "plivo" => {
            let form = [("CallUUID", "c-1"), ("CallStatus", "completed")];
            let sig = sign::plivo(key, &url, &form, "n0nce");
            encode(
                &[&sig, "n0nce", "application/x-www-form-urlencoded"],
                "",
                sign::form_encode(&form).as_bytes(),
            )
        }
        // Both take `Authorization: Bearer` with a `payload_hash` claim.
        "vonage" | "jwt" => {
            let claims =
                json!({"iat": TS, "payload_hash": switchboard_signatures::sha256_hex(body)});
            encode(
                &[&format!("Bearer {}", sign::jwt_hs256(key, &claims))],
                "",
                body,
            )
        }
        "dialpad" => encode(
            &[],
            "",
            sign::jwt_hs256(key, &json!({"call_id": 1, "state": "hangup", "iat": TS})).as_bytes(),
        ),
        "ringcentral" => encode(&[SECRET, ""], "", body),
        "bandwidth" => encode(&[&sign::basic("bw", SECRET)], "", body),
        "basic" => encode(&[&sign::basic("hooks", SECRET)], "", body),
        "aircall" | "token" => encode(&[], "", body),
        "callrail" => encode(&[&sign::callrail(key, body)], "", body),
        "bland" => encode(&[&sign::bland(key, body)], "", body),
        "elevenlabs" => encode(&[&sign::elevenlabs(key, TS, body)], "", body),
        "synthflow" => encode(&[&sign::synthflow(key, "c-1")], "", body),
        other => panic!("no seed for {other}"),
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    for scheme in SCHEMES {
        write(
            &corpus.join(format!("verify_{}", scheme.name)),
            "signed",
            &signed(scheme.name),
        );
    }
    // The published and derived vectors, as structure (signed for other secrets).
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("../shared/signatures/tests/fixtures/signatures.json"))
            .expect("vectors"),
    )
    .expect("vectors json");
    for (i, v) in vectors["vectors"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = v["scheme"].as_str().unwrap_or_default().replace('-', "_");
        let Some(scheme) = SCHEMES.iter().find(|s| s.name == name) else {
            continue;
        };
        let header = |h: &str| {
            v["header"]
                .as_object()
                .into_iter()
                .flatten()
                .find(|(k, _)| k.eq_ignore_ascii_case(h))
                .and_then(|(_, x)| x.as_str())
                .unwrap_or("")
                .to_owned()
        };
        let values: Vec<String> = scheme.headers.iter().map(|h| header(h)).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let query = v["url"]
            .as_str()
            .and_then(|u| u.split_once('?'))
            .map_or("", |(_, q)| q);
        let body = v["body"].as_str().unwrap_or_default();
        write(
            &corpus.join(format!("verify_{}", scheme.name)),
            &format!("vector-{i}"),
            &encode(&refs, query, body.as_bytes()),
        );
    }
    let fixtures = root.join("../shared/events/fixtures");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures").flatten() {
        let format = entry.file_name().to_string_lossy().into_owned();
        let dir = corpus.join(format!("normalise_{format}"));
        for file in std::fs::read_dir(entry.path())
            .expect("format dir")
            .flatten()
        {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") {
                continue;
            }
            let bytes = std::fs::read(file.path()).expect("fixture");
            if format == "dialpad" {
                if let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    write(
                        &dir,
                        &format!("{name}.jwt"),
                        sign::jwt_hs256(SECRET.as_bytes(), &claims).as_bytes(),
                    );
                }
            }
            write(&dir, &name, &bytes);
        }
    }
    println!("seeds written under {}", corpus.display());
}
