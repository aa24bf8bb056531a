//! Ingest load benchmark: `cargo bench -p switchboard-ingest --bench ingest_load`
//!
//! Starts a real nats-server and the release `switchboard-ingest` binary, then, against the
//! same server and at the same concurrency and message size, measures:
//! - raw async-nats JetStream publish-with-ack (the ceiling), and
//! - ingest over HTTP/1.1 keep-alive with signed 1 KB JSON bodies (servicetitan scheme),
//!
//! printing requests/s, p50/p99 latency, ingest CPU per request (utime+stime from
//! /proc/<pid>/stat), the ingest ÷ raw ratio, a fixed-rate p99 (open loop, latency measured
//! from the scheduled send time so a stall is not hidden), and ingest's peak RSS.
//!
//! Env: `BENCH_SECS` (per point, default 5), `BENCH_RATE_RUNS` (default 5).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchboard_bus::async_nats;
use switchboard_signatures::{SigEncoding, sign};
use switchboard_test_support::NatsServer;
use switchboard_test_support::bench::env_u64;

const SECRET: &str = "bench-servicetitan-webhook-key";
const BODY_BYTES: usize = 1024;

/// A unique 1 KB JSON body (unique so JetStream dedup never short-cuts a publish).
fn body(n: u64) -> Vec<u8> {
    let head = format!("{{\"eventType\":\"CallCompleted\",\"n\":{n},\"pad\":\"");
    let mut b = head.into_bytes();
    b.resize(BODY_BYTES - 2, b'x');
    b.extend_from_slice(b"\"}");
    b
}

struct Ingest {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_ingest(nats_url: &str) -> Ingest {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nats]\nurl = \"{nats_url}\"\n[ingest]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://localhost\"\n\
         [tenants.bench.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"{SECRET}\"]\n"
    );
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard-ingest"))
        .arg("--config")
        .arg(&path)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start switchboard-ingest");
    Ingest {
        child,
        port,
        _dir: dir,
    }
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn connect(port: u16) -> SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn post(sender: &mut SendRequest<Full<Bytes>>, n: u64) -> bool {
    let body = body(n);
    let sig = sign::servicetitan(SECRET.as_bytes(), &body, SigEncoding::Hex);
    let request = hyper::Request::post("/v1/hooks/bench/st")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("x-servicetitan-signature", sig)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    if sender.ready().await.is_err() {
        return false;
    }
    match sender.send_request(request).await {
        Ok(response) => {
            let ok = response.status() == 200;
            let _ = response.into_body().collect().await;
            ok
        }
        Err(_) => false,
    }
}

#[derive(Debug, Default)]
struct Run {
    requests: u64,
    errors: u64,
    elapsed: f64,
    latencies_us: Vec<u32>,
}

impl Run {
    /// Counts one request that started at `since`.
    fn record(&mut self, ok: bool, since: Instant) {
        if ok {
            self.requests += 1;
            self.latencies_us
                .push(since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        } else {
            self.errors += 1;
        }
    }

    /// Adds up the workers' runs.
    async fn join(handles: Vec<tokio::task::JoinHandle<Run>>, started: Instant) -> Run {
        let mut total = Run::default();
        for h in handles {
            let r = h.await.unwrap();
            total.requests += r.requests;
            total.errors += r.errors;
            total.latencies_us.extend(r.latencies_us);
        }
        total.elapsed = started.elapsed().as_secs_f64();
        total
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed
    }
    fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Closed loop: `concurrency` workers, each sending its next request when the last returns.
async fn closed_loop<F, Fut>(concurrency: usize, secs: u64, make_worker: F) -> Run
where
    F: Fn() -> Fut,
    Fut: std::future::Future<
            Output = Box<
                dyn FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
                    + Send,
            >,
        >,
{
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..concurrency {
        let mut op = make_worker().await;
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let mut run = Run::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = op().await;
                run.record(ok, t);
            }
            run
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    Run::join(handles, started).await
}

async fn raw_jetstream(js: &async_nats::jetstream::Context, concurrency: usize, secs: u64) -> Run {
    closed_loop(concurrency, secs, || {
        let js = js.clone();
        async move {
            let op: Box<
                dyn FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
                    + Send,
            > = Box::new(move || {
                let js = js.clone();
                Box::pin(async move {
                    let n = SEQ.fetch_add(1, Ordering::Relaxed);
                    let message = async_nats::jetstream::message::PublishMessage::build()
                        .payload(Bytes::from(body(n)))
                        .message_id(format!("raw:{n}"));
                    match js.send_publish("inbound.bench.raw", message).await {
                        Ok(ack) => ack.await.is_ok(),
                        Err(_) => false,
                    }
                })
            });
            op
        }
    })
    .await
}

async fn ingest_http(port: u16, concurrency: usize, secs: u64) -> Run {
    closed_loop(concurrency, secs, || async move {
        let sender = Arc::new(tokio::sync::Mutex::new(connect(port).await));
        let op: Box<
            dyn FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send,
        > = Box::new(move || {
            let sender = sender.clone();
            Box::pin(async move {
                let n = SEQ.fetch_add(1, Ordering::Relaxed);
                post(&mut *sender.lock().await, n).await
            })
        });
        op
    })
    .await
}

/// Open loop at `rate` requests/s over a pool of connections; latency from scheduled time.
async fn fixed_rate(port: u16, rate: u64, secs: u64) -> Run {
    let pool_size = 64;
    let (tx, rx) = async_channel_like(4096);
    let mut handles = Vec::new();
    for _ in 0..pool_size {
        let rx = rx.clone();
        handles.push(tokio::spawn(async move {
            let mut sender = connect(port).await;
            let mut run = Run::default();
            while let Some(scheduled) = recv(&rx).await {
                let n = SEQ.fetch_add(1, Ordering::Relaxed);
                let ok = post(&mut sender, n).await;
                run.record(ok, scheduled);
            }
            run
        }));
    }
    let started = Instant::now();
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        if tx.send(due).await.is_err() {
            break;
        }
    }
    drop(tx);
    Run::join(handles, started).await
}

type Queue = Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Instant>>>;

fn async_channel_like(capacity: usize) -> (tokio::sync::mpsc::Sender<Instant>, Queue) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    (tx, Arc::new(tokio::sync::Mutex::new(rx)))
}

async fn recv(q: &Queue) -> Option<Instant> {
    q.lock().await.recv().await
}

#[allow(clippy::print_stdout)]
fn main() {
    let secs = env_u64("BENCH_SECS", 5);
    let rate_runs = env_u64("BENCH_RATE_RUNS", 5);
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async {
        let nats = NatsServer::start();
        let ingest = start_ingest(&nats.url());
        let pid = ingest.child.id();
        let ready = async {
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", ingest.port)).await.is_ok() {
                    let mut sender = connect(ingest.port).await;
                    let probe = hyper::Request::get("/readyz").header("host", "localhost").body(Full::new(Bytes::new())).unwrap();
                    if matches!(sender.send_request(probe).await, Ok(r) if r.status() == 200) {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), ready).await.expect("ingest ready");
        let client = nats.client().await;
        let js = async_nats::jetstream::new(client);

        println!("# ingest load benchmark ({secs} s per point, {BODY_BYTES}-byte signed JSON bodies)\n");
        println!("| concurrency | raw JetStream req/s | raw p50 / p99 ms | ingest req/s | ingest p50 / p99 ms | ingest CPU µs/req | ingest ÷ raw |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for concurrency in [16usize, 64, 256] {
            // Warm up both paths briefly.
            let _ = ingest_http(ingest.port, concurrency, 1).await;
            let mut raw = raw_jetstream(&js, concurrency, secs).await;
            let cpu_before = cpu_seconds(pid);
            let mut http = ingest_http(ingest.port, concurrency, secs).await;
            let cpu_after = cpu_seconds(pid);
            let cpu_us = (cpu_after - cpu_before) * 1e6 / http.requests.max(1) as f64;
            println!(
                "| {concurrency} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {cpu_us:.1} | {:.2} |{}",
                raw.rate(),
                raw.percentile_ms(0.5),
                raw.percentile_ms(0.99),
                http.rate(),
                http.percentile_ms(0.5),
                http.percentile_ms(0.99),
                http.rate() / raw.rate(),
                if raw.errors + http.errors > 0 { format!(" errors: raw {} ingest {}", raw.errors, http.errors) } else { String::new() },
            );
        }

        println!("\n## fixed rate: 2000 requests/s offered, {secs} s per run, {rate_runs} runs\n");
        println!("| run | achieved req/s | p50 ms | p99 ms | errors |");
        println!("|---:|---:|---:|---:|---:|");
        let mut p99s = Vec::new();
        for run in 1..=rate_runs {
            let mut r = fixed_rate(ingest.port, 2000, secs).await;
            let p99 = r.percentile_ms(0.99);
            p99s.push(p99);
            println!("| {run} | {:.0} | {:.2} | {p99:.2} | {} |", r.rate(), r.percentile_ms(0.5), r.errors);
        }
        p99s.sort_by(f64::total_cmp);
        println!("\nmedian p99 at 2000 req/s: {:.2} ms", p99s[p99s.len() / 2]);
        println!("ingest peak RSS (VmHWM): {:.1} MB", peak_rss_mb(pid));
    });
}
