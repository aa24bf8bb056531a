//! What the fuzz targets share: a verifier per scheme built once from config (with the
//! header names it reads), and the input encoding, `header₁ \0 header₂ … \0 query \0 body`,
//! which the seed writer (`src/bin/seeds.rs`) produces from the test vectors and fixtures.
//!
//! A target only requires that nothing panics (libFuzzer reports panics and sanitizer
//! faults as crashes); a rejection is a normal answer.

use http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::OnceLock;
use switchboard_signatures::{Delivery, Verifier, build_verifier};

pub const PUBLIC_URL: &str = "https://hooks.example.com";
pub const SECRET: &str = "fuzz-secret-0123456789abcdef";

/// One scheme under test: its source TOML (after the tenant header) and the headers the
/// fuzzer fills, in input order.
pub struct Scheme {
    pub name: &'static str,
    pub toml: &'static str,
    pub headers: &'static [&'static str],
}

/// Every verifier target, by target name (`verify_<name>`).
pub const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "servicetitan",
        toml: "scheme = \"servicetitan\"",
        headers: &["x-servicetitan-signature", "content-type"],
    },
    Scheme {
        name: "standard_webhooks",
        toml: "scheme = \"standard-webhooks\"",
        headers: &["webhook-id", "webhook-timestamp", "webhook-signature"],
    },
    Scheme {
        name: "twilio",
        toml: "scheme = \"twilio\"",
        headers: &[
            "x-twilio-signature",
            "x-twilio-webhooks-signature-settings",
            "content-type",
        ],
    },
    Scheme {
        name: "telnyx",
        toml: "scheme = \"telnyx\"",
        headers: &["telnyx-signature-ed25519", "telnyx-timestamp"],
    },
    Scheme {
        name: "retell",
        toml: "scheme = \"retell\"",
        headers: &["x-retell-signature"],
    },
    Scheme {
        name: "vapi",
        toml: "scheme = \"vapi\"",
        headers: &["x-vapi-secret"],
    },
    Scheme {
        name: "hmac",
        toml: "scheme = \"hmac\"\nheader = \"X-Sig\"\nprefix = \"v0=\"\npayload = \"{id}.{timestamp}.{body}\"\ntimestamp_header = \"X-Ts\"\nid_header = \"X-Id\"",
        headers: &["x-sig", "x-ts", "x-id"],
    },
    Scheme {
        name: "hmac_combined",
        toml: "scheme = \"hmac\"\nheader = \"X-Combined-Signature\"\ntimestamp_key = \"t\"",
        headers: &["x-combined-signature"],
    },
    Scheme {
        name: "plivo",
        toml: "scheme = \"plivo\"",
        headers: &[
            "x-plivo-signature-v3",
            "x-plivo-signature-v3-nonce",
            "content-type",
        ],
    },
    Scheme {
        name: "vonage",
        toml: "scheme = \"vonage\"",
        headers: &["authorization"],
    },
    Scheme {
        name: "dialpad",
        toml: "scheme = \"dialpad\"",
        headers: &[],
    },
    Scheme {
        name: "ringcentral",
        toml: "scheme = \"ringcentral\"",
        headers: &["verification-token", "validation-token"],
    },
    Scheme {
        name: "bandwidth",
        toml: "scheme = \"bandwidth\"\nusername = \"bw\"",
        headers: &["authorization"],
    },
    Scheme {
        name: "basic",
        toml: "scheme = \"basic\"\nusername = \"hooks\"",
        headers: &["authorization"],
    },
    Scheme {
        name: "aircall",
        toml: "scheme = \"aircall\"",
        headers: &[],
    },
    Scheme {
        name: "token",
        toml: "scheme = \"token\"\nfield = \"token\"",
        headers: &[],
    },
    Scheme {
        name: "jwt",
        toml: "scheme = \"jwt\"\npayload_hash_claim = \"payload_hash\"",
        headers: &["authorization"],
    },
    Scheme {
        name: "callrail",
        toml: "scheme = \"callrail\"",
        headers: &["signature"],
    },
    Scheme {
        name: "bland",
        toml: "scheme = \"bland\"",
        headers: &["x-webhook-signature"],
    },
    Scheme {
        name: "elevenlabs",
        toml: "scheme = \"elevenlabs\"",
        headers: &["elevenlabs-signature"],
    },
    Scheme {
        name: "synthflow",
        toml: "scheme = \"synthflow\"",
        headers: &["x-synthflow-signature"],
    },
];

pub fn scheme(name: &str) -> &'static Scheme {
    SCHEMES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no fuzz scheme {name}"))
}

/// The verifier for `scheme`, configured with [`SECRET`] (Telnyx: a fixed public key).
pub fn verifier(scheme: &Scheme) -> Box<dyn Verifier> {
    let secret = match scheme.name {
        "standard_webhooks" => "whsec_ZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==".to_owned(),
        "telnyx" => switchboard_signatures::sign::telnyx_public_key(&[7; 32]),
        _ => SECRET.to_owned(),
    };
    let toml = format!(
        "[ingest]\npublic_url = \"{PUBLIC_URL}\"\n[tenants.t.sources.s]\n{}\nsecrets = [{secret:?}]\n",
        scheme.toml
    );
    let config = toml
        .parse::<switchboard_config::Config>()
        .expect("fuzz config");
    build_verifier("tenants.t.sources.s", &config.tenants["t"].sources["s"]).expect("verifier")
}

/// Encodes one delivery in the targets' input format.
pub fn encode(headers: &[&str], query: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.push(0);
    }
    out.extend_from_slice(query.as_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

/// Runs `data` through the verifier of the scheme `name` (built once per process).
pub fn verify(name: &'static str, cell: &OnceLock<Box<dyn Verifier>>, data: &[u8]) {
    let scheme = scheme(name);
    let verifier = cell.get_or_init(|| verifier(scheme));
    let mut parts = data.splitn(scheme.headers.len() + 2, |b| *b == 0);
    let mut headers = HeaderMap::new();
    for name in scheme.headers {
        let Some(value) = parts.next() else { return };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let query = parts
        .next()
        .and_then(|q| std::str::from_utf8(q).ok())
        .filter(|q| !q.is_empty());
    let body = parts.next().unwrap_or_default();
    let url = match query {
        Some(q) => format!("{PUBLIC_URL}/v1/hooks/t/s?{q}"),
        None => format!("{PUBLIC_URL}/v1/hooks/t/s"),
    };
    let delivery = Delivery {
        headers: &headers,
        body,
        url: &url,
        query,
    };
    let _ = verifier.handshake(&delivery);
    let _ = verifier.verify(&delivery, 1_764_000_000_000);
}

/// Runs `data` through the normaliser of `format` as a stored delivery's body.
pub fn normalise(format: &str, data: &[u8]) {
    let format = switchboard_events::Format::parse(format).expect("format");
    let content_type = match format.as_str() {
        "twilio" | "plivo" => "application/x-www-form-urlencoded",
        _ => "application/json",
    };
    let delivery = switchboard_events::Delivery {
        tenant: "t",
        source: "s",
        scheme: format.as_str(),
        format,
        inbound_id: "t:s:fuzz",
        stream_seq: 1,
        received_at: "2026-11-23T15:00:00.000Z",
        content_type: Some(content_type),
        body: data,
    };
    let _ = switchboard_events::normalise(&delivery);
}

/// Declares a verifier target.
#[macro_export]
macro_rules! verify_target {
    ($name:literal) => {
        static VERIFIER: std::sync::OnceLock<Box<dyn switchboard_signatures::Verifier>> =
            std::sync::OnceLock::new();
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            switchboard_fuzz::verify($name, &VERIFIER, data);
        });
    };
}

/// Declares a normaliser target.
#[macro_export]
macro_rules! normalise_target {
    ($format:literal) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            switchboard_fuzz::normalise($format, data);
        });
    };
}
