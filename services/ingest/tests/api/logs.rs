//! No secret appears in logs at any level: trace-level logs of a busy session (accepted,
//! rejected, duplicate and malformed deliveries for every scheme) are captured and searched.

use crate::helpers::{second_secret_for, secret_for, spawn_app};
use std::io::Write;
use std::sync::{Arc, Mutex};
use switchboard_test_support::TestScheme;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// current_thread: every task of the app runs on this thread, so the thread-local
// subscriber sees all of them.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_trace_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app().await;
    for scheme in TestScheme::ALL {
        let good = app.signed("acme", scheme, b"{\"hello\":1}", "log-test");
        app.send(&good).await;
        app.send(&good).await; // duplicate
        let mut bad = good.clone();
        bad.body.push(b'!');
        app.send(&bad).await;
        let wrong = scheme.sign(&scheme.secret(77), &app.spec("acme", scheme, b"{}", "w"));
        app.send(&wrong).await;
    }
    app.get("/metrics").await;
    app.stop().await.unwrap();

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("webhook rejected"),
        "trace logs were not captured"
    );
    for tenant in ["acme", "globex"] {
        for scheme in TestScheme::ALL {
            for secret in [
                secret_for(tenant, scheme),
                second_secret_for(tenant, scheme),
            ] {
                let forms = [
                    secret.config.clone(),
                    hex_lower(&secret.signing),
                    String::from_utf8_lossy(&secret.signing).into_owned(),
                ];
                for form in forms.iter().filter(|f| f.len() >= 16) {
                    assert!(
                        !logs.contains(form.as_str()),
                        "{scheme:?} secret leaked into logs"
                    );
                }
            }
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
