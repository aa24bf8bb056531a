//! Router throughput: `cargo bench -p switchboard-router --bench router_throughput`
//!
//! Preloads INBOUND (real nats-server, file store) with `BENCH_MESSAGES` (default 20000)
//! deliveries, a mix of Twilio, Telnyx, Retell, agent and ServiceTitan payloads that each
//! yield one event, then measures, at the same batch size (128):
//! - raw: a pull consumer that copies each message to EVENTS with publish-and-ack, acking
//!   the inbound message after its copy's ack (JetStream consume + publish, nothing else);
//! - router: `switchboard-router` (in process) normalising and publishing CloudEvents.
//!
//! Prints messages/s for both and the ratio router ÷ raw.

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use switchboard_bus::async_nats::jetstream;
use switchboard_test_support::bench::env_u64;
use switchboard_test_support::{NatsServer, event_fixture, inbound_headers, spawn_service};

const BATCH: usize = 128;

/// (source, scheme, body) for delivery `i`: unique call ids so nothing deduplicates.
fn delivery(
    i: usize,
    templates: &[(String, String, serde_json::Value)],
    twilio: &str,
) -> (String, String, Vec<u8>) {
    let k = i % (templates.len() + 1);
    if k == templates.len() {
        let body = twilio.replace("CA5c9e2b7a1f6d4e3c8b0a9f1e2d3c4b5a", &format!("CA{i:032}"));
        return ("twilio".into(), "twilio".into(), body.into_bytes());
    }
    let (source, scheme, template) = &templates[k];
    let mut v = template.clone();
    let id = format!("bench-{i}");
    match source.as_str() {
        "telnyx" => v["data"]["payload"]["call_session_id"] = id.into(),
        "retell" => v["call"]["call_id"] = id.into(),
        "agent" => v["call"]["id"] = id.into(),
        _ => v["data"]["id"] = i.into(),
    }
    (
        source.clone(),
        scheme.clone(),
        serde_json::to_vec(&v).unwrap(),
    )
}

async fn preload(js: &jetstream::Context, n: usize) {
    let templates: Vec<(String, String, serde_json::Value)> = [
        ("telnyx", "telnyx", "telnyx/3-call.hangup.json"),
        ("retell", "retell", "retell/2-call_ended.json"),
        ("agent", "standard-webhooks", "agent/call-outcome.json"),
        ("st", "servicetitan", "servicetitan/job-booked.json"),
    ]
    .iter()
    .map(|(s, sc, f)| {
        (
            (*s).to_owned(),
            (*sc).to_owned(),
            serde_json::from_slice(&event_fixture(f)).unwrap(),
        )
    })
    .collect();
    let twilio = String::from_utf8(event_fixture("twilio/4-completed.form")).unwrap();
    let mut acks = Vec::new();
    for i in 0..n {
        let (source, scheme, body) = delivery(i, &templates, &twilio);
        let h = inbound_headers("bench", &source, &scheme, &i.to_string());
        acks.push(
            js.publish_with_headers(format!("inbound.bench.{source}"), h, body.into())
                .await
                .unwrap(),
        );
        if acks.len() == 1000 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
}

async fn events_count(js: &jetstream::Context) -> u64 {
    match js.get_stream("EVENTS").await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

async fn raw(js: &jetstream::Context, n: usize) -> f64 {
    let inbound = js.get_stream("INBOUND").await.unwrap();
    let consumer = inbound
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("raw".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            max_ack_pending: (BATCH * 4) as i64,
            ..Default::default()
        })
        .await
        .unwrap();
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .unwrap();
        let mut messages = Vec::new();
        while let Some(Ok(m)) = batch.next().await {
            messages.push(m);
        }
        let mut acks = Vec::with_capacity(messages.len());
        for m in &messages {
            let seq = m.info().unwrap().stream_sequence;
            let publish = jetstream::message::PublishMessage::build()
                .payload(m.payload.clone())
                .message_id(format!("raw-{seq}"));
            acks.push(js.send_publish("events.raw.copy", publish).await.unwrap());
        }
        for a in acks {
            a.await.unwrap();
        }
        for m in &messages {
            m.ack().await.unwrap();
        }
        done += messages.len();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

#[allow(clippy::print_stdout)]
fn main() {
    let n = env_u64("BENCH_MESSAGES", 20_000) as usize;
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async move {
        let nats = NatsServer::start();
        let toml = format!(
            "[nats]\nurl = \"{}\"\n[router]\nlisten = \"127.0.0.1:0\"\nbatch = {BATCH}\n\
             [tenants.bench.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n",
            nats.url()
        );
        let config = || toml.parse::<switchboard_config::Config>().unwrap();
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        for stream in [
            switchboard_bus::inbound_stream_config(&config().nats),
            switchboard_bus::events_stream_config(&config().nats),
        ] {
            switchboard_bus::ensure_stream(&js, stream).await.unwrap();
        }
        preload(&js, n).await;

        let raw_rate = raw(&js, n).await;
        js.get_stream("EVENTS").await.unwrap().purge().await.unwrap();

        // Steady state: count from the moment the router reports ready (streams and
        // consumer set up), over the events produced after that.
        let (url, _router) = spawn_service::<switchboard_router::Router>(config()).await;
        let ready = format!("{url}/readyz");
        let http = switchboard_test_support::http_client();
        while !matches!(http.get(&ready).send().await, Ok(r) if r.status() == 200) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let started = Instant::now();
        let at_ready = events_count(&js).await;
        while events_count(&js).await < n as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let router_rate = (n as u64 - at_ready) as f64 / started.elapsed().as_secs_f64();

        println!("# router throughput: {n} deliveries (twilio, telnyx, retell, agent, servicetitan), batch {BATCH}\n");
        println!("| pipeline | messages/s |");
        println!("|---|---:|");
        println!("| raw JetStream consume + publish-with-ack + ack | {raw_rate:.0} |");
        println!("| switchboard-router (normalise + CloudEvents + publish-with-ack + ack) | {router_rate:.0} |");
        println!("\nrouter ÷ raw: {:.2}", router_rate / raw_rate);
    });
}
