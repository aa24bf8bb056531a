//! The consumer runtime against a real nats-server: what it does with each decision, and
//! that it survives a deleted consumer and a restarted server without exiting.

use async_nats::jetstream::{self, consumer, stream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::bucket::{Bucket, Updated};
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec, Handler, Settle, Settled};
use switchboard_test_support::{NatsServer, eventually, stream_messages};
use tokio_util::sync::CancellationToken;

/// Decides by payload: `ok…`, `retry` (always fails transiently), `dead`; counts settles
/// and remembers what it acked.
#[derive(Default)]
struct ByPayload {
    acked_payloads: std::sync::Mutex<Vec<String>>,
    handled: AtomicUsize,
    acked: AtomicUsize,
    retried: AtomicUsize,
    dead: AtomicUsize,
}

impl Handler for ByPayload {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        self.handled.fetch_add(1, Ordering::Relaxed);
        match &message.payload[..] {
            p if p.starts_with(b"ok") => {
                let text = String::from_utf8_lossy(p).into_owned();
                self.acked_payloads.lock().unwrap().push(text);
                Settle::Ack
            }
            b"dead" => Settle::dead_letter("malformed", "the payload says so"),
            _ => Settle::retry(Duration::from_millis(50), "ServiceTitan answered 500"),
        }
    }

    fn settled(&self, _message: &jetstream::Message, settled: Settled) {
        match settled {
            Settled::Acked => &self.acked,
            Settled::Retried => &self.retried,
            Settled::DeadLettered => &self.dead,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

fn spec() -> ConsumerSpec {
    let config = switchboard_config::NatsConfig::default();
    ConsumerSpec {
        stream: "WORK".into(),
        ensure_streams: vec![
            stream::Config {
                name: "WORK".into(),
                subjects: vec!["work.>".into()],
                ..Default::default()
            },
            switchboard_bus::dlq::dlq_stream_config(&config),
        ],
        config: consumer::pull::Config {
            durable_name: Some("worker".into()),
            max_deliver: 3,
            ack_wait: Duration::from_secs(2),
            ..Default::default()
        },
        concurrency: 4,
        batch: 8,
        expires: Duration::from_secs(2),
        dead_letter_as: None,
    }
}

async fn publish(js: &jetstream::Context, payload: &'static str) {
    js.publish("work.x", payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_acted_on_and_exhausted_retries_are_dead_lettered() {
    switchboard_test_support::init_logs();
    let mut nats = NatsServer::start();
    let client = nats.client().await;
    let js = switchboard_bus::jetstream(client.clone(), Duration::from_secs(5));
    let runtime = ConsumerRuntime::new(js.clone(), client.clone(), spec());
    let handler = Arc::new(ByPayload::default());
    let stop = CancellationToken::new();
    let run = {
        let (runtime, handler, stop) = (runtime.clone(), handler.clone(), stop.clone());
        tokio::spawn(async move { runtime.run(&*handler, &stop).await })
    };
    assert!(
        eventually(Duration::from_secs(10), || async {
            runtime.ready().load(Ordering::Acquire)
        })
        .await
    );

    publish(&js, "ok").await;
    publish(&js, "dead").await;
    publish(&js, "retry").await;
    let settled = eventually(Duration::from_secs(10), || async {
        handler.dead.load(Ordering::Relaxed) == 2
    })
    .await;
    assert!(settled, "both failures end in the DLQ");
    assert_eq!(handler.acked.load(Ordering::Relaxed), 1);
    assert_eq!(
        handler.retried.load(Ordering::Relaxed),
        2,
        "deliveries 1 and 2"
    );
    let letters: Vec<serde_json::Value> = stream_messages(&client, "DLQ")
        .await
        .iter()
        .map(|m| serde_json::from_slice(&m.payload).unwrap())
        .collect();
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["malformed", "max_deliveries"]);
    let exhausted = &letters[1];
    assert_eq!(exhausted["deliveries"], 3);
    assert_eq!(exhausted["consumer"], "worker");
    let error = exhausted["error"].as_str().unwrap();
    assert!(
        error.contains("last error: ServiceTitan answered 500"),
        "{error}"
    );

    // The consumer is deleted under it, then the server restarts: the runtime rebuilds
    // and goes on, without exiting. (A re-created durable starts from the stream's
    // beginning, so earlier messages come again: handlers are idempotent.)
    let acked = |payload: &'static str| {
        let handler = handler.clone();
        move || {
            let handler = handler.clone();
            async move {
                handler
                    .acked_payloads
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|p| p == payload)
            }
        }
    };
    js.delete_consumer_from_stream("worker", "WORK")
        .await
        .unwrap();
    publish(&js, "ok-after-delete").await;
    assert!(
        eventually(Duration::from_secs(20), acked("ok-after-delete")).await,
        "not consuming again after the consumer was deleted"
    );
    nats.restart();
    let js = switchboard_bus::jetstream(nats.client().await, Duration::from_secs(5));
    publish(&js, "ok-after-restart").await;
    assert!(
        eventually(Duration::from_secs(30), acked("ok-after-restart")).await,
        "not consuming again after the server restarted"
    );
    assert!(!run.is_finished(), "the runtime never exits on its own");

    // Shutdown: returns once cancelled.
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stops when cancelled")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_json_loses_no_concurrent_change() {
    let nats = NatsServer::start();
    let js = switchboard_bus::jetstream(nats.client().await, Duration::from_secs(5));
    let bucket = Bucket::open(&js, "COUNTERS", "test", 1, None)
        .await
        .unwrap();
    // 8 writers each add their 10 numbers to one set, racing on the same key.
    let writers = (0..8u32).map(|w| {
        let bucket = bucket.clone();
        tokio::spawn(async move {
            for i in 0..10u32 {
                let n = w * 100 + i;
                bucket
                    .update_json("k", |set: Option<Vec<u32>>| {
                        let mut set = set.unwrap_or_default();
                        (!set.contains(&n)).then(|| {
                            set.push(n);
                            set
                        })
                    })
                    .await
                    .unwrap();
            }
        })
    });
    for w in writers {
        w.await.unwrap();
    }
    let (bytes, _) = bucket.get("k").await.unwrap();
    let set: Vec<u32> = serde_json::from_slice(&bytes.unwrap()).unwrap();
    assert_eq!(set.len(), 80, "every writer's every change is there");
    // A change function that wants no change writes nothing.
    let unchanged = bucket
        .update_json("k", |_: Option<Vec<u32>>| None)
        .await
        .unwrap();
    assert_eq!(unchanged, Updated::Unchanged);
    // A value that does not decode is an error naming the bucket and key.
    bucket.put("bad", b"not json".to_vec()).await.unwrap();
    let err = bucket
        .update_json("bad", |v: Option<Vec<u32>>| v)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("COUNTERS") && err.contains("bad"), "{err}");
}
