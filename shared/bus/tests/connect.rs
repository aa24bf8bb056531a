//! `nats.url` as documented: one URL or a comma-separated list of a cluster's servers.

use switchboard_test_support::NatsServer;

fn config(url: &str) -> switchboard_config::NatsConfig {
    switchboard_config::NatsConfig {
        url: url.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_server_list_connects_to_a_live_server_in_it() {
    let nats = NatsServer::start();
    // Two dead addresses and the live one, as a cluster with two nodes down looks.
    let url = format!("nats://127.0.0.1:1, {} ,nats://127.0.0.1:2", nats.url());
    let client = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        switchboard_bus::connect(&config(&url), "connect-test"),
    )
    .await
    .expect("connects within 20 s")
    .unwrap();
    client.flush().await.unwrap();
    assert_eq!(client.server_info().port, nats.port());
}

/// A NATS server that requires a user and password: the configured credentials are used,
/// and JetStream works through them.
#[tokio::test]
async fn user_and_password_from_the_config_are_used() {
    let nats = NatsServer::start_with_args(&["--user", "switchboard", "--pass", "s3cret-pw"]);
    let mut cfg = config(&nats.url());
    cfg.user = Some("switchboard".into());
    cfg.password = Some("s3cret-pw".to_owned().into());
    let client = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        switchboard_bus::connect(&cfg, "auth-test"),
    )
    .await
    .expect("connects within 20 s")
    .unwrap();
    let js = switchboard_bus::jetstream(client.clone(), std::time::Duration::from_secs(5));
    let info = switchboard_bus::ensure_stream(
        &js,
        switchboard_bus::async_nats::jetstream::stream::Config {
            name: "AUTH".into(),
            subjects: vec!["auth.>".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(info.config.name, "AUTH");
    assert!(switchboard_bus::is_connected(&client));
}

#[test]
fn every_entry_must_be_a_nats_url_and_the_error_names_it() {
    assert_eq!(
        switchboard_bus::server_addrs("nats://a:4222,nats://b:4222,nats://c:4222")
            .unwrap()
            .len(),
        3
    );
    let err = switchboard_bus::server_addrs("nats://a:4222,http://b:x").unwrap_err();
    assert!(err.contains("`http://b:x` in nats.url"), "{err}");
    assert!(
        switchboard_bus::server_addrs(" , ")
            .unwrap_err()
            .contains("empty")
    );
}
