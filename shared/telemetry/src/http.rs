//! One way for a service to serve HTTP: bind (port 0 picks a free port, which is how tests
//! start services), answer unknown paths with the documented JSON 404, and stop gracefully.
//!
//! Every service used to carry its own copy of this, and the copies had drifted: only
//! ingest answered `404 {"error":"not_found",…}` as docs/subjects.md promises.

use anyhow::Context as _;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::time::Duration;

/// A JSON error body, `{"error": code, "message": message}`, with its status.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A bound listener and the router it will serve.
pub struct HttpServer {
    listener: tokio::net::TcpListener,
    router: Router,
    local_addr: SocketAddr,
    name: &'static str,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("name", &self.name)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// Binds `addr`. `name` is the service (for logs), `key` the setting `addr` came from
    /// (for the error), and `hint` tells a caller of an unknown path where to go instead.
    pub async fn bind(
        name: &'static str,
        key: &str,
        addr: SocketAddr,
        router: Router,
        hint: &'static str,
    ) -> anyhow::Result<Self> {
        let router = router
            .fallback(move || async move { json_error(StatusCode::NOT_FOUND, "not_found", hint) });
        Self::bind_with_own_fallback(name, key, addr, router).await
    }

    /// [`Self::bind`] for a server that answers unknown paths its own way: st-sim, which
    /// answers as ServiceTitan does.
    pub async fn bind_with_own_fallback(
        name: &'static str,
        key: &str,
        addr: SocketAddr,
        router: Router,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("{name} cannot listen on {addr} ({key}): is another process using it?")
        })?;
        let local_addr = listener
            .local_addr()
            .with_context(|| format!("{name}: the listener on {addr} has no local address"))?;
        Ok(Self {
            listener,
            router,
            local_addr,
            name,
        })
    }

    /// Adds `routes` (the host's admin endpoints) beside the service's own.
    pub fn merge(mut self, routes: Router) -> Self {
        self.router = self.router.merge(routes);
        self
    }

    /// The bound address (useful when the configured port is 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The service's name, as its logs give it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Serves until `shutdown` resolves, then stops accepting connections and gives
    /// requests in flight up to `grace` to finish.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let name = self.name;
        tracing::info!(addr = %self.local_addr, "{name} listening");
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            let _ = stopping_tx.send(());
        };
        let serve = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => result.with_context(|| format!("{name}: the HTTP server failed"))?,
            () = async {
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "{name}: requests in flight did not finish in time; stopping anyway");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn an_unknown_path_is_a_json_404_and_known_ones_still_answer() {
        let router = Router::new().route("/here", axum::routing::get(|| async { "here" }));
        let server = HttpServer::bind(
            "test",
            "test.listen",
            "127.0.0.1:0".parse().unwrap(),
            router,
            "try /here",
        )
        .await
        .unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(1),
        ));

        let missing = get(addr, "/nope").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        assert!(
            missing
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{missing}"
        );
        assert!(
            missing.ends_with(r#"{"error":"not_found","message":"try /here"}"#),
            "{missing}"
        );
        assert!(get(addr, "/here").await.ends_with("here"));

        stop.send(()).unwrap();
        serving.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_busy_port_names_the_service_and_the_setting() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = HttpServer::bind("router", "router.listen", addr, Router::new(), "")
            .await
            .unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("router cannot listen on"), "{message}");
        assert!(message.contains("(router.listen)"), "{message}");
    }
}
