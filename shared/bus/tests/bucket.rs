//! Key-value buckets against a real nats-server.

use std::time::Duration;
use switchboard_bus::bucket::{Bucket, key_token};
use switchboard_test_support::NatsServer;

#[tokio::test]
async fn get_put_compare_and_set_delete_and_watch() {
    let nats = NatsServer::start();
    let client = nats.client().await;
    let js = switchboard_bus::jetstream(client, Duration::from_secs(5));
    let kv = Bucket::open(&js, "TEST", "test bucket", 1, None)
        .await
        .unwrap();

    assert_eq!(kv.get("a.b").await.unwrap(), (None, 0));
    let r1 = kv.update("a.b", b"one".to_vec(), 0).await.unwrap().unwrap();
    assert_eq!(
        kv.update("a.b", b"lost".to_vec(), 0).await.unwrap(),
        None,
        "a create races with an existing key and loses"
    );
    let r2 = kv
        .update("a.b", b"two".to_vec(), r1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kv.update("a.b", b"stale".to_vec(), r1).await.unwrap(), None);
    assert_eq!(kv.get("a.b").await.unwrap(), (Some(b"two".to_vec()), r2));
    assert!(
        !kv.delete_if("a.b", r1).await.unwrap(),
        "a stale delete loses"
    );
    let r3 = kv.update("a.tmp", b"x".to_vec(), 0).await.unwrap().unwrap();
    assert!(kv.delete_if("a.tmp", r3).await.unwrap());
    assert_eq!(kv.get("a.tmp").await.unwrap().0, None);
    kv.put("a.c", b"three".to_vec()).await.unwrap();
    kv.put("z.z", b"other prefix".to_vec()).await.unwrap();
    kv.delete("a.c").await.unwrap();
    assert_eq!(kv.get("a.c").await.unwrap().0, None);

    // A watch sees the current value of every key under the prefix, says when it has
    // caught up, then follows changes.
    let mut watch = kv.watch("a").await.unwrap();
    let mut seen = Vec::new();
    loop {
        let step = watch.next().await.unwrap();
        if let Some(e) = step.entry {
            seen.push((e.key, e.value));
        }
        if step.caught_up {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            ("a.b".to_owned(), Some(b"two".to_vec())),
            ("a.tmp".to_owned(), None),
            ("a.c".to_owned(), None)
        ]
    );
    kv.put("a.d", b"four".to_vec()).await.unwrap();
    let next = watch.next().await.unwrap().entry.unwrap();
    assert_eq!(
        (next.key.as_str(), next.value),
        ("a.d", Some(b"four".to_vec()))
    );

    // An empty prefix catches up at once.
    let mut empty = kv.watch("nothing").await.unwrap();
    let first = empty.next().await.unwrap();
    assert!(first.caught_up && first.entry.is_none());
}

#[test]
fn key_tokens_are_safe_and_distinct() {
    assert_eq!(key_token("CA_123-x"), "CA_123-x");
    assert_eq!(key_token("a.b"), "a=2Eb");
    assert_ne!(key_token("a.b"), key_token("a=2Eb"));
    assert_eq!(key_token(""), "=");
}
