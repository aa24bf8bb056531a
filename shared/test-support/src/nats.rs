//! A real `nats-server` per test: free port, temporary store directory, JetStream on.
//! Tests can kill it (SIGKILL, like a crash), stop it (SIGTERM) and restart it on the same
//! port and store, which is how the "nothing lost" tests exercise reconnection.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the nats-server binary (default: `nats-server` on `PATH`).
pub const NATS_SERVER_BIN_ENV: &str = "NATS_SERVER_BIN";

#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    store: tempfile::TempDir,
    /// Arguments after the common ones (a cluster node's name, routes, monitor port).
    extra: Vec<String>,
    child: Option<Child>,
}

fn find_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os(NATS_SERVER_BIN_ENV) {
        return PathBuf::from(bin);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "nats-server not found: install it (apt-get install nats-server, or scripts/test does it) \
             or set {NATS_SERVER_BIN_ENV} to its path"
        )
    })
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl NatsServer {
    /// Starts a JetStream-enabled server and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(free_port(), Vec::new())
    }

    /// A server with `extra` command-line arguments (e.g. `--user`/`--pass`).
    pub fn start_with_args(extra: &[&str]) -> Self {
        Self::start_with(free_port(), extra.iter().map(|a| (*a).to_owned()).collect())
    }

    /// A server on `port` with `extra` arguments (see [`crate::NatsCluster`]).
    pub(crate) fn start_with(port: u16, extra: Vec<String>) -> Self {
        let mut server = Self {
            binary: find_binary(),
            port,
            store: tempfile::Builder::new()
                .prefix("sb-nats-")
                .tempdir()
                .expect("temp store dir"),
            extra,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        self.wait_until_accepting();
    }

    fn wait_until_accepting(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "nats-server exited during start-up with {status} (port {} taken?)",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not accept connections within 15 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A Switchboard config on this server: `[nats] url`, then `rest` (TOML).
    pub fn config(&self, rest: &str) -> switchboard_config::Config {
        format!("[nats]\nurl = \"{}\"\n{rest}", self.url())
            .parse()
            .unwrap_or_else(|e| panic!("test config: {e}"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL, as in a crash. Acknowledged messages are already on disk (JetStream writes
    /// before it acks), so a restart must find them.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts the server again after `kill`/`stop`.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// A connected client (waits for the connection).
    pub async fn client(&self) -> switchboard_bus::async_nats::Client {
        switchboard_bus::async_nats::connect(self.url())
            .await
            .expect("connect to test nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
