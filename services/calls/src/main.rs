//! `switchboard-calls [--config PATH]` — see docs/configuration.md (`[calls]`,
//! `[tenants.x.calls]`) and docs/servicetitan.md.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut config_path: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                config_path = Some(args.next().context("--config needs a path")?.into())
            }
            "--help" | "-h" => {
                eprintln!("usage: switchboard-calls [--config PATH]   (or SWITCHBOARD_CONFIG)");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    switchboard_telemetry::init_tracing();
    let config = switchboard_config::Config::load(config_path.as_deref())?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app = switchboard_calls::Application::build(config).await?;
            // The worker's future is large (several consumers and followers in one): box it.
            Box::pin(app.run_until(switchboard_telemetry::shutdown_signal())).await
        })
}
