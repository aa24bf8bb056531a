//! `switchboard doctor` against st-sim: a full grant, a partial one (scopes withheld, so
//! features turn off and the permissions to grant are named), a wrong one (bad client
//! secret), and a config that names what the tenant does not have.

use switchboard_cli::{Cli, Command, run};
use switchboard_st_sim::demo::{TENANT_ID, servicetitan_toml};

struct Doctor {
    sim: String,
    admin: switchboard_st_sim::SimClient,
}

impl Doctor {
    async fn start() -> Self {
        let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
        let admin = switchboard_st_sim::SimClient::new(&sim);
        Doctor { sim, admin }
    }

    /// Runs the doctor on the demo tenant with `extra` appended to its config: the
    /// output, and whether it exited well.
    async fn run(
        &self,
        json: bool,
        edit: impl Fn(String) -> String,
    ) -> (String, Result<(), String>) {
        let toml = edit(format!(
            "[tenants.demo]\ntimezone = \"America/Chicago\"\n{}\
             [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n\
             [tenants.demo.booking]\ndefault_campaign = \"Google Local Services\"\n",
            servicetitan_toml("demo", &self.sim)
        ));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), toml).unwrap();
        let cli = Cli {
            config: Some(file.path().to_owned()),
            nats_url: None,
            json,
            command: Command::Doctor {
                tenant: Some("demo".into()),
            },
        };
        let mut out = Vec::new();
        let result = run(&cli, &mut out).await.map_err(|e| format!("{e:#}"));
        (String::from_utf8(out).unwrap(), result)
    }
}

fn line<'a>(report: &'a serde_json::Value, feature: &str) -> &'a serde_json::Value {
    report[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["feature"] == feature)
        .unwrap_or_else(|| panic!("no {feature} line in {report}"))
}

#[tokio::test]
async fn a_full_grant_is_ok_everywhere() {
    let d = Doctor::start().await;
    let (text, result) = d.run(false, |t| t).await;
    assert!(result.is_ok(), "{result:?}\n{text}");
    for feature in [
        "token",
        "reclassification",
        "tags",
        "confirmation",
        "booking",
        "analytics",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(feature) && l.contains(" ok ")),
            "{feature} is not ok:\n{text}"
        );
    }
    assert!(!text.contains("grant:"), "{text}");
    // The demo's zero-duration job type limits booking without stopping it.
    assert!(
        text.contains("warning: job types without a duration") && text.contains("Panel Inspection"),
        "{text}"
    );
}

#[tokio::test]
async fn a_partial_grant_turns_features_off_and_names_the_permissions() {
    let d = Doctor::start().await;
    d.admin
        .withhold_scopes(
            TENANT_ID,
            &["tn.stt.tagtypes:r", "tn.dis.capacity:w", "tn.tlc.calls:w"],
        )
        .await;
    let (json, result) = d.run(true, |t| t).await;
    let err = result.unwrap_err();
    assert!(err.contains("demo"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tags = line(&report, "tags");
    assert_eq!(tags["status"], "off", "{tags}");
    assert!(
        tags["grant"]
            .to_string()
            .contains("Calls › Edit call forms/tags"),
        "{tags}"
    );
    let booking = line(&report, "booking");
    assert_eq!(booking["status"], "off", "{booking}");
    assert!(
        booking["grant"]
            .to_string()
            .contains("Capacity Planning › Edit business hours and capacity planning"),
        "{booking}"
    );
    // The write is judged from the token's scopes, without writing.
    let reclass = line(&report, "reclassification");
    assert_eq!(reclass["status"], "off", "{reclass}");
    assert!(
        reclass["detail"]
            .as_str()
            .unwrap()
            .contains("tn.tlc.calls:w"),
        "{reclass}"
    );
    assert_eq!(line(&report, "analytics")["status"], "ok");
    assert_eq!(line(&report, "confirmation")["status"], "ok");
    // Nothing was written while checking.
    for op in [
        "update call",
        "create job",
        "create customer",
        "reschedule appointment",
        "cancel job",
    ] {
        assert_eq!(d.admin.count(op).await, 0, "{op}");
    }
}

#[tokio::test]
async fn a_wrong_grant_is_a_token_error_and_every_feature_says_so() {
    let d = Doctor::start().await;
    let (text, result) = d
        .run(false, |t| {
            t.replace("cs1.demo-hvac-client-secret", "not-the-secret")
        })
        .await;
    let err = result.unwrap_err();
    assert!(err.contains("demo"), "{err}");
    assert!(
        text.contains("client_secret"),
        "names what to check:\n{text}"
    );
    assert!(
        !text.contains("not-the-secret"),
        "never prints the secret:\n{text}"
    );
    assert_eq!(text.matches(" error ").count(), 6, "{text}");
}

#[tokio::test]
async fn config_that_names_what_the_tenant_lacks_is_an_error_naming_it() {
    let d = Doctor::start().await;
    let (text, result) = d
        .run(false, |t| {
            t.replace("reason = \"Service Call\"", "reason = \"Sevrice Call\"")
                .replace("Google Local Services", "Billboards")
        })
        .await;
    assert!(result.is_err());
    assert!(
        text.contains("`Sevrice Call` is not an active reason"),
        "{text}"
    );
    assert!(
        text.contains("`Billboards` is not an active campaign"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unknown_tenant_is_refused_naming_the_known_ones() {
    let d = Doctor::start().await;
    let toml = format!(
        "[tenants.demo]\ntimezone = \"America/Chicago\"\n{}",
        servicetitan_toml("demo", &d.sim)
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    let cli = Cli {
        config: Some(file.path().to_owned()),
        nats_url: None,
        json: false,
        command: Command::Doctor {
            tenant: Some("acme".into()),
        },
    };
    let err = run(&cli, &mut Vec::new()).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("no tenant `acme`; the tenants are: demo")
            || format!("{err:#}").contains("no tenant `acme` in the config; the tenants are: demo"),
        "{err:#}"
    );
}
