use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `toml`, loaded with no environment variables.
fn load(toml: &str) -> Config {
    Config::from_toml_str(toml, &env(&[])).unwrap()
}

/// The message of the error loading `toml` with environment `e` gives.
fn load_error(toml: &str, e: &HashMap<String, String>) -> String {
    Config::from_toml_str(toml, e).unwrap_err().to_string()
}

/// Asserts that the error message `msg` names each of `names`.
fn assert_names(msg: &str, names: &[&str]) {
    for name in names {
        assert!(msg.contains(name), "no {name} in: {msg}");
    }
}

const BLUEPRINT_EXAMPLE: &str = r#"
[nats]
url = "nats://127.0.0.1:4222"

[ingest]
listen = "0.0.0.0:8080"
public_url = "https://hooks.example.com"   # what providers call; Twilio signs it
max_body_bytes = 262144

[tenants.acme]
timezone = "America/Chicago"

[tenants.acme.servicetitan]
environment = "integration"
tenant_id = 1234567
client_id = "${ACME_ST_CLIENT_ID}"
client_secret = "${ACME_ST_CLIENT_SECRET}"
app_key = "${ST_APP_KEY}"

[tenants.acme.sources.servicetitan]
scheme = "servicetitan"
secrets = ["${ACME_ST_WEBHOOK_KEY}"]

[tenants.acme.sources.twilio]
scheme = "twilio"
secrets = ["${ACME_TWILIO_AUTH_TOKEN}"]
"#;

fn blueprint_env() -> HashMap<String, String> {
    env(&[
        ("ACME_ST_CLIENT_ID", "cid"),
        ("ACME_ST_CLIENT_SECRET", "csecret"),
        ("ST_APP_KEY", "appkey"),
        ("ACME_ST_WEBHOOK_KEY", "whkey"),
        ("ACME_TWILIO_AUTH_TOKEN", "twtoken"),
    ])
}

#[test]
fn blueprint_example_loads() {
    let config = Config::from_toml_str(BLUEPRINT_EXAMPLE, &blueprint_env()).unwrap();
    let acme = &config.tenants["acme"];
    assert_eq!(acme.timezone, "America/Chicago");
    let st = acme.servicetitan.as_ref().unwrap();
    assert_eq!(st.tenant_id, 1234567);
    assert_eq!(st.environment, StEnvironment::Integration);
    assert_eq!(st.client_secret.expose_secret(), "csecret");
    let SourceConfig::Twilio(tw) = &acme.sources["twilio"] else {
        panic!("twilio")
    };
    assert_eq!(tw.secrets[0].expose_secret(), "twtoken");
    assert_eq!(config.ingest.max_body_bytes, 262144);
    assert_eq!(config.nats.duplicate_window_secs, 1200);
    assert_eq!(config.sources().count(), 2);
}

#[test]
fn unset_variable_stops_loading_naming_variable_and_key() {
    let mut e = blueprint_env();
    e.remove("ACME_TWILIO_AUTH_TOKEN");
    let msg = load_error(BLUEPRINT_EXAMPLE, &e);
    assert_names(
        &msg,
        &[
            "ACME_TWILIO_AUTH_TOKEN",
            "tenants.acme.sources.twilio.secrets[0]",
        ],
    );
}

/// Configs that must not load (no environment variables needed), each with what its error
/// must name: where the problem is and what is wrong.
#[test]
fn invalid_configs_are_rejected_naming_where_and_what() {
    let cases: &[(&str, &[&str])] = &[
        // Unknown keys, with their path.
        ("[nats]\nurll = \"x\"", &["nats", "urll"]),
        (
            "[ingest]\nlisten = \"0.0.0.0:1\"\nmax_body = 1",
            &["ingest", "max_body"],
        ),
        (
            "[tenants.acme.sources.x]\nscheme = \"retell\"\nsecrets = [\"a\"]\nsecretz = 1",
            &["tenants.acme.sources.x", "secretz"],
        ),
        ("[tenants.acme]\nzone = \"UTC\"", &["tenants.acme", "zone"]),
        ("extra = 1", &["config key `extra`", "unknown field"]),
        // An unknown scheme.
        (
            "[tenants.acme.sources.x]\nscheme = \"md5\"\nsecrets = [\"a\"]",
            &["tenants.acme.sources.x", "md5"],
        ),
        // Tenant and source names outside [a-z0-9_-].
        ("[tenants.Acme]\n", &["[a-z0-9_-]", "tenants"]),
        ("[tenants.\"ac me\"]\n", &["[a-z0-9_-]", "tenants"]),
        ("[tenants.\"a.b\"]\n", &["[a-z0-9_-]", "tenants"]),
        (
            "[tenants.acme.sources.\"Twilio\"]\nscheme = \"twilio\"\nsecrets = [\"a\"]",
            &["[a-z0-9_-]", "tenants"],
        ),
        // A secrets file that is missing, or given as well as the secrets.
        (
            "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets_file = \"/nonexistent/x\"",
            &["tenants.a.sources.s.secrets_file"],
        ),
        (
            "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets = [\"x\"]\nsecrets_file = \"/x\"",
            &["not both"],
        ),
        // Fail closed: no secrets, or Twilio without the public URL it signs.
        (
            "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets = []",
            &["tenants.a.sources.s.secrets"],
        ),
        (
            "[tenants.a.sources.s]\nscheme = \"twilio\"\nsecrets = [\"t\"]",
            &["public_url"],
        ),
        // A duplicate window too short for redeliveries.
        (
            "[nats]\nduplicate_window_secs = 60",
            &["nats.duplicate_window_secs"],
        ),
        // NATS credentials come in pairs.
        ("[nats]\nuser = \"u\"", &["password"]),
        // A payload format no normaliser reads: the error lists the ones there are.
        (
            "[tenants.a.sources.s]\nscheme = \"hmac\"\nsecrets = [\"k\"]\nformat = \"xml\"",
            &["tenants.a.sources.s", "agent"],
        ),
        // A call class that does not exist.
        (
            "[tenants.acme.calls.outcomes.maybe]\nreason = \"x\"",
            &["tenants.acme.calls.outcomes", "maybe"],
        ),
        // A policy call type is spelled as ServiceTitan spells it.
        (
            "[tenants.acme.calls.outcomes.not_lead]\nreason = \"x\"\ncall_type = \"not_lead\"\n",
            &["call_type", "unknown variant `not_lead`", "`NotLead`"],
        ),
    ];
    for (toml, names) in cases {
        assert_names(&load_error(toml, &env(&[])), names);
    }
}

#[test]
fn tenant_without_servicetitan_is_valid() {
    let config = load("[tenants.acme.sources.retell]\nscheme = \"retell\"\nsecrets = [\"k\"]");
    assert!(config.tenants["acme"].servicetitan.is_none());
}

#[test]
fn environment_overrides_win() {
    let e = env(&[
        (NATS_URL_ENV, "nats://nats:4222"),
        (INGEST_LISTEN_ENV, "127.0.0.1:9999"),
        (NATS_REPLICAS_ENV, "3"),
    ]);
    let config = Config::from_toml_str("[nats]\nurl = \"nats://x:1\"", &e).unwrap();
    assert_eq!(config.nats.url, "nats://nats:4222");
    assert_eq!(config.nats.replicas, 3);
    let msg = load_error("", &env(&[(NATS_REPLICAS_ENV, "three")]));
    assert!(
        msg.contains("SWITCHBOARD_NATS_REPLICAS") && msg.contains("three"),
        "{msg}"
    );
    let msg = load_error("", &env(&[(NATS_REPLICAS_ENV, "9")]));
    assert!(msg.contains("nats.replicas"), "{msg}");
    assert_eq!(config.ingest.listen.port(), 9999);
    let msg = load_error("", &env(&[(INGEST_LISTEN_ENV, "nope")]));
    assert!(msg.contains("SWITCHBOARD_INGEST_LISTEN"), "{msg}");
}

#[test]
fn secret_files_are_read_and_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    std::fs::write(&one, "s3cret\n").unwrap();
    let many = dir.path().join("many");
    std::fs::write(&many, "first\n\nsecond\n").unwrap();
    let toml = format!(
        "[tenants.acme.servicetitan]\nenvironment = \"production\"\ntenant_id = 1\n\
         client_id = \"c\"\nclient_secret_file = \"{}\"\napp_key = \"k\"\n\
         [tenants.acme.sources.st]\nscheme = \"servicetitan\"\nsecrets_file = \"${{DIR}}/many\"",
        one.display()
    );
    let config =
        Config::from_toml_str(&toml, &env(&[("DIR", dir.path().to_str().unwrap())])).unwrap();
    let acme = &config.tenants["acme"];
    assert_eq!(
        acme.servicetitan
            .as_ref()
            .unwrap()
            .client_secret
            .expose_secret(),
        "s3cret"
    );
    let secrets: Vec<_> = acme.sources["st"]
        .secrets()
        .iter()
        .map(|s| s.expose_secret().to_owned())
        .collect();
    assert_eq!(secrets, ["first", "second"]);
}

#[test]
fn secrets_never_appear_in_errors_or_debug() {
    let e = env(&[("TOKEN", "hunter2-very-secret")]);
    let config = Config::from_toml_str(
        "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets = [\"${TOKEN}\"]",
        &e,
    )
    .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
    let msg = load_error(
        "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets = [\"${TOKEN}\"]\nbad = 1",
        &e,
    );
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn public_url_is_normalised() {
    for (url, normalised) in [
        ("https://h.example.com/", "https://h.example.com"),
        ("http://h:8080/prefix", "http://h:8080/prefix"),
    ] {
        assert_eq!(parse_public_url(url).unwrap(), normalised);
    }
    for bad in ["h.example.com", "ftp://h", "https://h/?a=1"] {
        assert!(parse_public_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn type_errors_do_not_echo_the_value() {
    let e = env(&[("KEY", "hunter2-very-secret")]);
    let msg = load_error(
        "[tenants.a.sources.s]\nscheme = \"retell\"\nsecrets = \"${KEY}\"",
        &e,
    );
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(
        msg.contains("tenants.a.sources.s") && msg.contains("expected a sequence"),
        "{msg}"
    );
}

#[test]
fn a_source_named_like_a_file_key_is_still_a_source() {
    let config = load("[tenants.a.sources.call_file]\nscheme = \"retell\"\nsecrets = [\"k\"]");
    assert!(config.tenants["a"].sources.contains_key("call_file"));
}

#[test]
fn a_source_can_name_its_payload_format() {
    let config = load(
        "[tenants.a.sources.s]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_AAAA\"]\nformat = \"agent\"",
    );
    assert_eq!(
        config.tenants["a"].sources["s"].format(),
        Some(PayloadFormat::Agent)
    );
}

#[test]
fn a_tenant_can_carry_a_calls_policy() {
    let toml = "[tenants.acme.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n\
                [tenants.acme.calls.outcomes.not_lead]\nreason = \"Wrong Number\"\ncall_type = \"NotLead\"\n";
    let config = load(toml);
    let policy = &config.tenants["acme"].calls;
    assert_eq!(
        policy.outcomes[&CallClass::Booked].tags,
        ["Booked by AI Agent"]
    );
    assert_eq!(
        policy.outcomes[&CallClass::NotLead].call_type,
        Some(CallClass::NotLead)
    );
}

#[test]
fn analytics_defaults_and_auto_reclassify_choices() {
    let config = Config::from_toml_str("", &|_: &str| None).unwrap();
    assert_eq!(config.analytics.listen.port(), 8083);
    assert_eq!(config.analytics.debounce_ms, 2000);
    let toml = "[tenants.acme.analytics]\nauto_reclassify = \"sometimes\"\n";
    let err = Config::from_toml_str(toml, &|_: &str| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tenants.acme.analytics.auto_reclassify"),
        "{err}"
    );
    assert!(err.contains("dry-run"), "lists the choices: {err}");
    let toml = "[tenants.acme.analytics]\nauto_reclassify = \"on\"\n";
    let err = Config::from_toml_str(toml, &|_: &str| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs [tenants.acme.servicetitan]"), "{err}");
    let toml = "[tenants.acme.analytics]\nauto_reclassify = \"dry-run\"\n[tenants.acme.servicetitan]\nenvironment = \"integration\"\ntenant_id = 1\nclient_id = \"c\"\nclient_secret = \"s\"\napp_key = \"k\"\n";
    let config = Config::from_toml_str(toml, &|_: &str| None).unwrap();
    assert_eq!(
        config.tenants["acme"].analytics.auto_reclassify,
        AutoReclassify::DryRun
    );
}

#[test]
fn text_alone_parses_and_a_variable_reference_is_an_error_naming_it() {
    let config: Config = "[ingest]\nlisten = \"127.0.0.1:0\"\n".parse().unwrap();
    assert_eq!(config.ingest.listen.port(), 0);
    let err = "[nats]\nurl = \"${NATS_URL}\"\n"
        .parse::<Config>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("NATS_URL"), "{err}");
}

#[test]
fn booking_settings_default_and_a_wrong_priority_names_its_key() {
    let config: Config = "[tenants.acme]\n".parse().unwrap();
    assert_eq!(config.booking.capacity_ttl_secs, 30);
    assert_eq!(config.booking.hold_ttl_secs, 120);
    assert_eq!(config.ingest.tools_timeout_ms, 8000);
    let acme = &config.tenants["acme"].booking;
    assert!(acme.respect_ideal_booking_percentage);
    assert_eq!(acme.default_priority, "Normal");
    let err = "[tenants.acme.booking]\ndefault_priority = \"ASAP\"\n"
        .parse::<Config>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tenants.acme.booking.default_priority") && err.contains("ASAP"),
        "{err}"
    );
    let err = "[booking]\nhold_ttl_secs = 0\n"
        .parse::<Config>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("booking"), "{err}");
}

#[test]
fn every_new_scheme_loads_and_its_unknown_options_are_refused_by_name() {
    let toml = "[ingest]\npublic_url = \"https://hooks.example.com\"\n\
        [tenants.a.sources.plivo]\nscheme = \"plivo\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.vonage]\nscheme = \"vonage\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.dialpad]\nscheme = \"dialpad\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.rc]\nscheme = \"ringcentral\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.bw]\nscheme = \"bandwidth\"\nusername = \"u\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.air]\nscheme = \"aircall\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.cr]\nscheme = \"callrail\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.bland]\nscheme = \"bland\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.el]\nscheme = \"elevenlabs\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.sf]\nscheme = \"synthflow\"\nheader = \"Synthflow-Signature\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.basic]\nscheme = \"basic\"\nusername = \"u\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.tok]\nscheme = \"token\"\nfield = \"token\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.jwt]\nscheme = \"jwt\"\nlocation = \"body\"\nsecrets = [\"t\"]\n\
        [tenants.a.sources.combined]\nscheme = \"hmac\"\nheader = \"Stripe-Signature\"\ntimestamp_key = \"t\"\nsecrets = [\"t\"]\n";
    let config = load(toml);
    let schemes: Vec<&str> = config.tenants["a"]
        .sources
        .values()
        .map(SourceConfig::scheme_name)
        .collect();
    assert_eq!(schemes.len(), 14, "{schemes:?}");

    for (source, extra) in [
        ("scheme = \"plivo\"", "header = \"x\""),
        ("scheme = \"bandwidth\"\nusername = \"u\"", "realm = \"x\""),
        ("scheme = \"jwt\"", "algorithm = \"HS512\""),
        ("scheme = \"elevenlabs\"", "timestamp_key = \"t\""),
    ] {
        let toml = format!("[tenants.a.sources.s]\n{source}\n{extra}\nsecrets = [\"t\"]\n");
        let key = extra.split(' ').next().unwrap();
        let msg = load_error(&toml, &env(&[]));
        assert_names(&msg, &["tenants.a.sources.s", key, "unknown field"]);
    }
    let msg = load_error(
        "[tenants.a.sources.s]\nscheme = \"bandwidth\"\nsecrets = [\"t\"]\n",
        &env(&[]),
    );
    assert_names(&msg, &["username"]);
}

#[test]
fn plivo_needs_the_public_url_and_body_token_sources_never_keep_bodies() {
    let msg = load_error(
        "[tenants.a.sources.p]\nscheme = \"plivo\"\nsecrets = [\"t\"]\n",
        &env(&[]),
    );
    assert_names(&msg, &["ingest.public_url", "plivo"]);
    for source in [
        "scheme = \"aircall\"",
        "scheme = \"token\"\nfield = \"token\"",
    ] {
        let msg = load_error(
            &format!(
                "[tenants.a.sources.s]\n{source}\nsecrets = [\"t\"]\nrecord_rejected_body_bytes = 64\n"
            ),
            &env(&[]),
        );
        assert_names(&msg, &["record_rejected_body_bytes", "must be 0"]);
    }
}
