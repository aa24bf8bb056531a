//! The low test harness every Switchboard test builds on: NATS and signed webhooks, and
//! nothing that knows a service. It depends only on the shared bus and signature crates, so
//! even `switchboard-bus` can dev-depend on it without compiling a service, axum or the
//! ServiceTitan models. st-sim in a test is `switchboard_st_sim::spawn_demo`; a stack of
//! services is `switchboard_e2e::Stack` (the `tests/` crate).
//!
//! - [`NatsServer`]: a real `nats-server` per test (free port, temp store, JetStream), which
//!   a test can kill, stop and restart. There is no NATS mock anywhere in the project.
//! - [`NatsCluster`]: three of them clustered, for the tests about clustering.
//! - [`TestScheme`]: signed deliveries for every signature scheme, with the matching config.
//! - [`stream_messages`], [`inbound_messages`]: read back everything a stream holds, to
//!   assert on what was stored.
//! - [`spawn_service`], [`start_service`]: any service (a [`NatsService`]) on port 0, in a
//!   task a test can abort to play a crash.
//! - [`eventually`], [`wait_ready`], [`http_client`], [`init_logs`]: polling and plumbing.

pub mod bench;
pub mod browser;
mod cluster;
mod inbound;
mod nats;
mod schemes;
mod schemes_more;

pub use cluster::NatsCluster;
pub use inbound::{event_fixture, inbound_headers, msg_id, publish_acked, publish_inbound};
pub use nats::{NATS_SERVER_BIN_ENV, NatsServer};
pub use schemes::{Hook, HookSpec, TestScheme, TestSecret, agent_report};

use std::time::Duration;
use switchboard_bus::{Hosted, NatsService, async_nats};

/// Service logs on stderr when `SWITCHBOARD_TEST_LOG` is set (an env-filter, e.g.
/// `info` or `switchboard_bus=debug`); silent otherwise. Safe to call from every test.
pub fn init_logs() {
    if let Ok(filter) = std::env::var("SWITCHBOARD_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// An HTTP client for tests (installs the TLS crypto provider reqwest needs first).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Polls `url` until it answers 200 (20 s at most) and fails the test otherwise.
pub async fn wait_ready(http: &reqwest::Client, url: &str) {
    let ready = eventually(Duration::from_secs(20), || async {
        matches!(http.get(url).send().await, Ok(r) if r.status() == 200)
    })
    .await;
    assert!(ready, "{url} never became ready");
}

/// A service running in a test: the task it runs in, which a test may abort to play a
/// crash (dropping the service's future stops it at once, as SIGKILL would).
pub type ServiceTask = tokio::task::JoinHandle<anyhow::Result<()>>;

/// Builds the service `S` from `config` and runs it in a task, without waiting for it to be
/// ready; returns its base URL and the task. A service that cannot start fails the test
/// with its error.
pub async fn spawn_service<S: NatsService>(
    config: switchboard_config::Config,
) -> (String, ServiceTask) {
    let app = Hosted::<S>::build(config)
        .await
        .unwrap_or_else(|e| panic!("{} does not start: {e:#}", std::any::type_name::<S>()));
    let url = format!("http://{}", app.local_addr());
    (url, tokio::spawn(app.run_until(std::future::pending())))
}

/// [`spawn_service`], then waits for its `/readyz`.
pub async fn start_service<S: NatsService>(
    config: switchboard_config::Config,
) -> (String, ServiceTask) {
    let (url, task) = spawn_service::<S>(config).await;
    wait_ready(&http_client(), &format!("{url}/readyz")).await;
    (url, task)
}

/// The value of header `name` (any case) among `headers`.
pub(crate) fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One stored message, as read back from a stream.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub subject: String,
    pub sequence: u64,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl StoredMessage {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }
}

/// Every message currently in `stream`, in sequence order (reads by sequence number, so it
/// needs no consumer and changes nothing). A read that fails (a cluster between leaders) is
/// tried again, for 30 s, before the test fails: a listing never silently skips a message.
pub async fn stream_messages(client: &async_nats::Client, stream: &str) -> Vec<StoredMessage> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match try_stream_messages(client, stream).await {
            Ok(messages) => return messages,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("reading {stream} failed ({e}); reading again");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("cannot read stream {stream}: {e}"),
        }
    }
}

/// [`stream_messages`], once: any failure other than a deleted sequence is an error.
pub async fn try_stream_messages(
    client: &async_nats::Client,
    stream: &str,
) -> Result<Vec<StoredMessage>, String> {
    use async_nats::jetstream::stream::RawMessageErrorKind;
    let js = async_nats::jetstream::new(client.clone());
    let mut s = js.get_stream(stream).await.map_err(|e| e.to_string())?;
    let info = s.info().await.map_err(|e| e.to_string())?.clone();
    let mut out = Vec::with_capacity(info.state.messages as usize);
    if info.state.messages == 0 {
        return Ok(out);
    }
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let m = match s.get_raw_message(seq).await {
            Ok(m) => m,
            Err(e) if matches!(e.kind(), RawMessageErrorKind::NoMessageFound) => continue,
            Err(e) => return Err(format!("message {seq}: {e}")),
        };
        let headers = m
            .headers
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.to_string(), v.to_string())))
            .collect();
        out.push(StoredMessage {
            subject: m.subject.to_string(),
            sequence: m.sequence,
            payload: m.payload.to_vec(),
            headers,
        });
    }
    Ok(out)
}

/// Messages in INBOUND.
pub async fn inbound_messages(client: &async_nats::Client) -> Vec<StoredMessage> {
    stream_messages(client, switchboard_bus::INBOUND_STREAM).await
}

/// Polls `check` every 20 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
