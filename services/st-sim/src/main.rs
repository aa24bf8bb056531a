//! `st-sim [--seed PATH] [--listen ADDR]` — env `ST_SIM_SEED`, `ST_SIM_LISTEN`
//! (default 127.0.0.1:8090; docker compose sets 0.0.0.0:8090), and `ST_SIM_WEBHOOK_URL` + `ST_SIM_WEBHOOK_SECRET` to send
//! signed webhooks for every tenant. See docs/st-sim.md.

use anyhow::Context as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut seed: Option<PathBuf> = std::env::var_os("ST_SIM_SEED").map(PathBuf::from);
    let mut listen = std::env::var("ST_SIM_LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed = Some(args.next().context("--seed needs a path")?.into()),
            "--listen" => listen = args.next().context("--listen needs an address")?,
            "--help" | "-h" => {
                eprintln!(
                    "usage: st-sim [--seed PATH] [--listen ADDR]   (env ST_SIM_SEED, ST_SIM_LISTEN)"
                );
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    switchboard_telemetry::init_tracing();
    let seed_path = seed.context("no seed file: pass --seed PATH or set ST_SIM_SEED (the demo seed is services/st-sim/seed/demo.json)")?;
    let mut seed = switchboard_st_sim::load_seed(&seed_path)?;
    if let Ok(url) = std::env::var("ST_SIM_WEBHOOK_URL").map(|u| u.trim().to_owned())
        && !url.is_empty()
    {
        let secret = std::env::var("ST_SIM_WEBHOOK_SECRET").context(
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
    let listen = listen
        .parse()
        .with_context(|| format!("`{listen}` is not an address like 0.0.0.0:8090"))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let app = switchboard_st_sim::Application::build(seed, listen).await?;
            app.run_until(switchboard_telemetry::shutdown_signal())
                .await
        })
}
