//! Stream set-up converges what Switchboard owns and keeps what the operator set.

use std::time::Duration;
use switchboard_test_support::NatsServer;

#[tokio::test]
async fn an_operators_retention_limits_survive_every_set_up() {
    let nats = NatsServer::start();
    let js = switchboard_bus::jetstream(nats.client().await, Duration::from_secs(5));
    let config = switchboard_config::NatsConfig::default();
    let wanted = switchboard_bus::inbound_stream_config(&config);
    switchboard_bus::ensure_stream(&js, wanted.clone())
        .await
        .unwrap();
    // `nats stream edit INBOUND --max-age 90d --max-bytes 1GB`
    let mut edited = wanted.clone();
    edited.max_age = Duration::from_secs(90 * 86_400);
    edited.max_bytes = 1 << 30;
    js.update_stream(edited).await.unwrap();
    // A service starts again (or rebuilds its consumer), with a changed duplicate window.
    let mut again = wanted.clone();
    again.duplicate_window = Duration::from_secs(1800);
    let info = switchboard_bus::ensure_stream(&js, again).await.unwrap();
    assert_eq!(info.config.max_age, Duration::from_secs(90 * 86_400));
    assert_eq!(info.config.max_bytes, 1 << 30);
    assert_eq!(
        info.config.duplicate_window,
        Duration::from_secs(1800),
        "ours is applied"
    );
}
