//! `switchboard-ingest [--config PATH] [--check-config]`
//!
//! Config comes from `--config` or `SWITCHBOARD_CONFIG`; see docs/configuration.md.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut config_path: Option<PathBuf> = None;
    let mut check_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                config_path = Some(args.next().context("--config needs a path")?.into())
            }
            "--check-config" => check_only = true,
            "--help" | "-h" => {
                eprintln!(
                    "usage: switchboard-ingest [--config PATH] [--check-config]\n\
                           config file from --config or SWITCHBOARD_CONFIG (see docs/configuration.md)"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    switchboard_telemetry::init_tracing();
    let config = switchboard_config::Config::load(config_path.as_deref())?;
    if check_only {
        switchboard_ingest::check_config(&config)?;
        eprintln!(
            "config OK: {} tenant(s), {} source(s)",
            config.tenants.len(),
            config.sources().count()
        );
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async {
            let app = switchboard_ingest::Application::build(config).await?;
            app.run_until_stopped().await
        })
}
