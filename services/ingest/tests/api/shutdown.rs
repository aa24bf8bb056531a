//! SIGTERM: stop accepting, let in-flight requests finish, exit 0.

use crate::helpers::{config_toml, secret_for};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchboard_test_support::{HookSpec, NatsServer, TestScheme};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let nats = NatsServer::start();
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("sb-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(&path, config_toml(&nats.url(), "")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-ingest"))
        .arg("--config")
        .arg(&path)
        .env("SWITCHBOARD_INGEST_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait for readiness.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut r = String::new();
            let _ = s.read_to_string(&mut r);
            if r.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "ingest did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }

    // An in-flight request: headers and half the body sent before SIGTERM.
    let scheme = TestScheme::ServiceTitan;
    let body = br#"{"eventType":"CallCompleted","pad":"0123456789"}"#;
    let spec = HookSpec {
        public_url: "",
        tenant: "acme",
        source: scheme.source_name(),
        body,
        timestamp: 0,
        id: "",
    };
    let hook = scheme.sign(&secret_for("acme", scheme), &spec);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
        hook.path_and_query,
        hook.body.len()
    );
    for (k, v) in &hook.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let (first, rest) = hook.body.split_at(10);
    stream.write_all(first).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));

    // New connections are refused once shutdown began...
    let refused = std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
    // ...while the in-flight request completes and is stored.
    stream.write_all(rest).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"accepted\""), "{response}");

    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "ingest did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "exit status {exit}: {stderr}");
    assert!(refused, "a new connection was accepted after SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}
