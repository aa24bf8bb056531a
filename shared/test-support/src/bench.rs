//! What every benchmark binary starts with: its knobs from the environment and the runtime
//! it measures on. Benchmarks are plain binaries (`harness = false`) that print figures;
//! each measures its baseline in the same run (docs/benchmarks.md).

/// `name` from the environment as a number, or `default` when unset or not a number.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The runtime a benchmark runs on: two worker threads, as a service on this two-core
/// class of machine gets.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a benchmark cannot start its tokio runtime")
}
