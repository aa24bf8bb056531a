//! The ledger against a real nats-server: one winner per key, done stays done (across
//! restarts: it is on disk), stale claims are taken over, released claims can be retried.

use std::time::Duration;
use switchboard_calls::ledger::{Claim, Ledger};
use switchboard_test_support::NatsServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_exclusive_and_done_is_final() {
    let nats = NatsServer::start();
    let js = switchboard_bus::async_nats::jetstream::new(nats.client().await);
    let ledger = Ledger::open(&js, 1, Duration::from_secs(60)).await.unwrap();

    // Twenty concurrent claims of one event: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let l = ledger.clone();
        tasks.push(tokio::spawn(
            async move { l.claim("evt_abc").await.unwrap() },
        ));
    }
    let mut won = Vec::new();
    for t in tasks {
        if let Claim::Acquired(token) = t.await.unwrap() {
            won.push(token);
        }
    }
    assert_eq!(won.len(), 1, "exactly one claimer wins");
    assert_eq!(ledger.claim("evt_abc").await.unwrap(), Claim::Busy);
    assert!(ledger.complete("evt_abc", won[0]).await.unwrap());
    assert_eq!(ledger.claim("evt_abc").await.unwrap(), Claim::Done);

    // Done survives a new ledger (another replica, a restart, a replay days later).
    let other = Ledger::open(&js, 1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(other.claim("evt_abc").await.unwrap(), Claim::Done);

    // A released claim can be taken again; a stale token cannot complete.
    let Claim::Acquired(t1) = ledger.claim("evt_def").await.unwrap() else {
        panic!("claim")
    };
    assert!(ledger.release("evt_def", t1).await.unwrap());
    let short = Ledger::open(&js, 1, Duration::from_millis(0))
        .await
        .unwrap();
    let Claim::Acquired(t2) = short.claim("evt_def").await.unwrap() else {
        panic!("re-claim after release")
    };
    assert!(
        !ledger.complete("evt_def", t1).await.unwrap(),
        "the old holder's token is void"
    );
    assert!(short.complete("evt_def", t2).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_holders_claim_is_taken_over_once_stale() {
    let nats = NatsServer::start();
    let js = switchboard_bus::async_nats::jetstream::new(nats.client().await);
    let patient = Ledger::open(&js, 1, Duration::from_secs(60)).await.unwrap();
    let Claim::Acquired(_) = patient.claim("lock.acme.9001").await.unwrap() else {
        panic!("claim")
    };
    assert_eq!(patient.claim("lock.acme.9001").await.unwrap(), Claim::Busy);
    let eager = Ledger::open(&js, 1, Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        matches!(
            eager.claim("lock.acme.9001").await.unwrap(),
            Claim::Acquired(_)
        ),
        "stale claim taken over"
    );
}
