//! `switchboard demo` against real ingest (on a real nats-server) and st-sim: every delivery
//! it signs is accepted — Twilio's over the public URL, the agent's with Standard Webhooks —
//! and ServiceTitan (st-sim) gets the week's calls and the agent's jobs.

use std::time::Duration;
use switchboard_cli::{Cli, Command, DemoOptions};
use switchboard_e2e::{Service, spawn_service};
use switchboard_test_support::{NatsServer, eventually, inbound_messages};

const ST_KEY: &str = "e2e-servicetitan-webhook-key-0123456789";
const TWILIO_TOKEN: &str = "e2e-twilio-auth-token";
const AGENT_SECRET: &str = "whsec_ZGVtby1hZ2VudC13ZWJob29rLXNlY3JldA==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_week_is_signed_accepted_and_lands_in_servicetitan() {
    let nats = NatsServer::start();
    let sim_url = switchboard_st_sim::spawn_demo(|_| {}).await;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", &sim_url);
    let toml = format!(
        "[nats]\nurl = \"{nats}\"\n\
         [ingest]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://hooks.example.com\"\n\
         [tenants.demo]\ntimezone = \"America/Chicago\"\n\
         {st}\
         [tenants.demo.sources.servicetitan]\nscheme = \"servicetitan\"\nsecrets = [\"{ST_KEY}\"]\n\
         [tenants.demo.sources.twilio]\nscheme = \"twilio\"\nsecrets = [\"{TWILIO_TOKEN}\"]\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nformat = \"agent\"\nsecrets = [\"{AGENT_SECRET}\"]\n",
        nats = nats.url()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, &toml).unwrap();
    let config = toml.parse::<switchboard_config::Config>().unwrap();
    let (ingest_url, _ingest) = spawn_service(Service::Ingest, config).await;
    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{ingest_url}/readyz")).await;

    let cli = Cli {
        config: Some(path),
        nats_url: None,
        json: false,
        command: Command::Demo(DemoOptions {
            ingest_url: ingest_url.clone(),
            st_sim_url: sim_url.clone(),
            wait_secs: 0,
            ..DemoOptions::default()
        }),
    };
    let mut out = Vec::new();
    switchboard_cli::run(&cli, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    // How many depends on the weekday and the hour (today's calls only up to now).
    let planned: usize = out
        .strip_prefix("demo: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no call count in {out}"));
    assert!((28..=40).contains(&planned), "{out}");
    assert!(
        out.contains(&format!("demo: {planned} calls over 7 days")),
        "{out}"
    );

    let state = switchboard_st_sim::SimClient::new(&sim_url).state().await;
    let tenant = &state["tenants"][0];
    let calls = tenant["calls"].as_array().unwrap();
    let new_calls: Vec<_> = calls
        .iter()
        .filter(|c| c["id"].as_i64() > Some(9010))
        .collect();
    assert_eq!(new_calls.len(), planned);
    let jobs = tenant["jobs"].as_array().unwrap().len() - 3;
    assert!(jobs >= 1, "the agent booked no job");

    // Every delivery was accepted, hence verified and stored.
    let client = nats.client().await;
    let abandoned = new_calls.iter().filter(|c| c["duration_secs"] == 0).count();
    let twilio = 3 * planned - abandoned;
    let settled = eventually(Duration::from_secs(15), || async {
        let messages = inbound_messages(&client).await;
        messages
            .iter()
            .filter(|m| m.subject == "inbound.demo.twilio")
            .count()
            == twilio
    })
    .await;
    assert!(settled, "not every Twilio callback reached INBOUND");
    let messages = inbound_messages(&client).await;
    let agent = messages
        .iter()
        .filter(|m| m.subject == "inbound.demo.agent")
        .count();
    // One outcome per call, plus the appointment confirmations.
    assert!(agent > planned, "{agent} agent deliveries");
    let servicetitan = messages
        .iter()
        .filter(|m| m.subject == "inbound.demo.servicetitan")
        .count();
    assert_eq!(
        servicetitan, 0,
        "st-sim had no webhook configured in this test"
    );
}
