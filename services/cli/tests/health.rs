//! `switchboard health URL`, the probe docker-compose.yml's health checks run inside the
//! image, and what it says on a system without CA certificates.

use std::process::Command as Process;
use switchboard_cli::{Cli, Command, run};

async fn health(url: String) -> anyhow::Result<String> {
    let cli = Cli {
        config: None,
        nats_url: None,
        json: false,
        command: Command::Health { url },
    };
    let mut out = Vec::new();
    run(&cli, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn ready_is_success_and_anything_else_is_an_error_naming_the_url() {
    let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
    let ok = health(format!("{sim}/readyz")).await.unwrap();
    assert!(ok.contains("200 OK"), "{ok}");

    let err = health(format!("{sim}/no-such-path")).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("/no-such-path answered 404"), "{text}");

    let err = health("http://127.0.0.1:9/readyz".into())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("http://127.0.0.1:9/readyz did not answer"),
        "{text}"
    );
}

/// The image once shipped without CA certificates and every HTTP client failed with
/// "builder error". Now the message names the client and the fix.
#[test]
fn without_ca_certificates_the_error_says_to_install_them() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["health", "http://127.0.0.1:9/readyz"])
        .env("SSL_CERT_FILE", &empty)
        .env("SSL_CERT_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot build the HTTP client for the health check: no CA certificates")
            && stderr.contains("apt-get install --no-install-recommends ca-certificates")
            && !stderr.contains("builder error:\n"),
        "{stderr}"
    );
}
