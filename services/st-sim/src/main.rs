//! `st-sim`: the ServiceTitan simulator. See `st-sim --help` and docs/st-sim.md.

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A ServiceTitan simulator for tests and the demo: the REST endpoints Switchboard uses,
/// per-tenant data from a seed file, rate limits, fault injection and signed webhooks.
#[derive(Debug, clap::Parser)]
#[command(name = "st-sim", version, after_help = "See docs/st-sim.md.")]
struct Args {
    /// Seed file (tenants, calls, jobs…); the demo's is services/st-sim/seed/demo.json
    #[arg(long, value_name = "PATH", env = "ST_SIM_SEED")]
    seed: PathBuf,
    /// Address to listen on (docker compose sets 0.0.0.0:8090)
    #[arg(
        long,
        value_name = "ADDR",
        env = "ST_SIM_LISTEN",
        default_value = "127.0.0.1:8090"
    )]
    listen: SocketAddr,
    /// Send every tenant's webhooks here, signed with --webhook-secret
    #[arg(long, value_name = "URL", env = "ST_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// The webhooks' signing secret
    #[arg(
        long,
        value_name = "SECRET",
        env = "ST_SIM_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    webhook_secret: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = <Args as clap::Parser>::parse();
    switchboard_telemetry::init_tracing();
    let mut seed = switchboard_st_sim::load_seed(&args.seed)?;
    if let Some(url) = args.webhook_url.map(|u| u.trim().to_owned())
        && !url.is_empty()
    {
        let secret = args.webhook_secret.context(
            "ST_SIM_WEBHOOK_URL is set but ST_SIM_WEBHOOK_SECRET is not: webhooks must be signed",
        )?;
        for tenant in &mut seed.tenants {
            tenant.webhook = Some(switchboard_st_sim::seed::Webhook {
                url: url.clone(),
                secret: secret.clone(),
                header: None,
            });
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app = switchboard_st_sim::Application::build(seed, args.listen).await?;
            app.run_until(switchboard_telemetry::shutdown_signal())
                .await
        })
}
