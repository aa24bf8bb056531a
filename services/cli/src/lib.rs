//! `switchboard`, the operator CLI: the dead-letter queue, rejected deliveries, the
//! ServiceTitan doctor, a health probe and the demo.
//!
//! ```text
//! switchboard [--config PATH] [--nats-url URL] [--json] dlq list [--consumer NAME]
//! switchboard … dlq show ID
//! switchboard … dlq replay ID | --all
//! switchboard … dlq purge --yes
//! switchboard … rejected list [--tenant T] [--source S] [--since 24h] [--limit 50]
//! switchboard … rejected show ID
//! switchboard … trace TENANT KEY [--since 7d]
//! switchboard health URL
//! switchboard [--config PATH] [--json] doctor [--tenant NAME]
//! switchboard [--config PATH] demo [--tenant NAME] [--ingest-url URL] [--st-sim-url URL] [--days N] [--wait-secs N]
//! ```
//!
//! `ID` is the dead letter's sequence in the `DLQ` stream (the first column of `list`).
//! Listing, replaying and tracing live in `switchboard-ops` (shared with the console).
//!
//! Replay is described in `switchboard_ops::dlq`.

use anyhow::Context as _;
use async_nats::jetstream;
use std::io::Write;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::dlq::DLQ_STREAM;

mod args;
mod demo;
mod doctor;
mod health;
mod rejected;
mod trace;

pub use rejected::ListFilter;
pub use switchboard_ops::TraceQuery;
use switchboard_ops::dlq::find;
pub use switchboard_ops::dlq::{dead_letters, replay_one};

pub use args::{parse, usage};

pub use demo::DemoOptions;

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub config: Option<std::path::PathBuf>,
    pub nats_url: Option<String>,
    pub json: bool,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    DlqList {
        consumer: Option<String>,
    },
    DlqShow {
        id: u64,
    },
    DlqReplay {
        target: ReplayTarget,
    },
    DlqPurge,
    /// Everything recorded about one call.
    Trace(TraceQuery),
    /// Deliveries ingest refused, newest last.
    RejectedList(ListFilter),
    RejectedShow {
        id: u64,
    },
    /// GET a URL (a service's `/readyz`); exit 0 only on 2xx.
    Health {
        url: String,
    },
    /// Send a week of signed demo traffic through ingest.
    Demo(DemoOptions),
    /// Each tenant's ServiceTitan access against what its config uses.
    Doctor {
        tenant: Option<String>,
    },
    /// Print this text and exit 0: `--help` (of the command asked about), `--version`, or
    /// the usage when no command is given.
    Help(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    One(u64),
    All,
}

/// The NATS URL: flag, environment, then config file.
fn nats_url(cli: &Cli) -> anyhow::Result<String> {
    if let Some(url) = cli.nats_url.as_ref().filter(|u| !u.is_empty()) {
        return Ok(url.clone());
    }
    if let Ok(url) = std::env::var(switchboard_config::NATS_URL_ENV)
        && !url.is_empty()
    {
        return Ok(url);
    }
    let config = switchboard_config::Config::load(cli.config.as_deref())
        .context("cannot tell where NATS is: pass --nats-url or --config")?;
    Ok(config.nats.url)
}

/// Runs `cli`, writing human (or `--json`) output to `out`.
pub async fn run(cli: &Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    match &cli.command {
        Command::Help(text) => {
            writeln!(out, "{}", text.trim_end())?;
            return Ok(());
        }
        Command::Health { url } => return health::check(url, Duration::from_secs(3), out).await,
        Command::Demo(options) => {
            let config = switchboard_config::Config::load(cli.config.as_deref())
                .context("the demo signs with the tenant's configured secrets: pass --config or set SWITCHBOARD_CONFIG")?;
            return demo::run(&config, options, out).await;
        }
        Command::Doctor { tenant } => {
            let config = switchboard_config::Config::load(cli.config.as_deref()).context(
                "the doctor checks the configured tenants: pass --config or set SWITCHBOARD_CONFIG",
            )?;
            return doctor::run(&config, tenant.as_deref(), cli.json, out).await;
        }
        _ => {}
    }
    let url = nats_url(cli)?;
    let servers = switchboard_bus::server_addrs(&url).map_err(anyhow::Error::msg)?;
    let client = tokio::time::timeout(Duration::from_secs(10), async_nats::connect(servers))
        .await
        .with_context(|| format!("NATS at {url} did not answer within 10 s"))?
        .with_context(|| format!("cannot connect to NATS at {url}"))?;
    let js = jetstream::new(client.clone());
    let result = match &cli.command {
        Command::DlqList { consumer } => list(&js, consumer.as_deref(), cli.json, out).await,
        Command::DlqShow { id } => show(&js, *id, cli.json, out).await,
        Command::DlqReplay { target } => replay(&js, target, cli.json, out).await,
        Command::DlqPurge => purge(&js, cli.json, out).await,
        Command::Trace(query) => trace::run(&js, query, cli.json, out).await,
        Command::RejectedList(filter) => rejected::list(&js, filter, cli.json, out).await,
        Command::RejectedShow { id } => rejected::show(&js, *id, cli.json, out).await,
        Command::Help(_) | Command::Health { .. } | Command::Demo(_) | Command::Doctor { .. } => {
            Ok(())
        }
    };
    client.flush().await.ok();
    result
}

async fn list(
    js: &jetstream::Context,
    consumer: Option<&str>,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let letters: Vec<_> = dead_letters(js)
        .await?
        .into_iter()
        .filter(|(_, l)| consumer.is_none_or(|c| l.consumer == c))
        .collect();
    if json {
        let items: Vec<_> = letters
            .iter()
            .map(|(id, l)| serde_json::json!({"id": id, "dead_letter": l}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if letters.is_empty() {
        writeln!(out, "no dead letters")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>6}  {:<24}  {:<16}  {:<14}  original",
        "ID", "FAILED AT", "CONSUMER", "REASON"
    )?;
    for (id, l) in &letters {
        writeln!(
            out,
            "{id:>6}  {:<24}  {:<16}  {:<14}  {} #{} ({})",
            l.failed_at, l.consumer, l.reason, l.stream, l.stream_seq, l.subject
        )?;
    }
    writeln!(
        out,
        "\n{} dead letter(s); `switchboard dlq show ID` for the error",
        letters.len()
    )?;
    Ok(())
}

async fn show(
    js: &jetstream::Context,
    id: u64,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let l = find(js, id).await?;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"id": id, "dead_letter": l}))?
        )?;
    } else {
        writeln!(
            out,
            "dead letter {id}\n  failed at:  {}\n  consumer:   {}\n  reason:     {}\n  error:      {}\n  original:   {} #{} on {}\n  msg id:     {}\n  deliveries: {}",
            l.failed_at,
            l.consumer,
            l.reason,
            l.error,
            l.stream,
            l.stream_seq,
            l.subject,
            l.original_msg_id.as_deref().unwrap_or("-"),
            l.deliveries
        )?;
    }
    Ok(())
}

async fn replay(
    js: &jetstream::Context,
    target: &ReplayTarget,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let ids: Vec<u64> = match target {
        ReplayTarget::One(id) => vec![*id],
        ReplayTarget::All => dead_letters(js)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    };
    let mut replayed = Vec::new();
    for id in ids {
        let letter = replay_one(js, id).await?;
        if !json {
            writeln!(
                out,
                "replayed {id}: {} #{} back onto {} for {}",
                letter.stream, letter.stream_seq, letter.subject, letter.consumer
            )?;
        }
        replayed.push(id);
    }
    if json {
        writeln!(out, "{}", serde_json::json!({ "replayed": replayed }))?;
    } else if replayed.is_empty() {
        writeln!(out, "no dead letters to replay")?;
    }
    Ok(())
}

async fn purge(
    js: &jetstream::Context,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut stream = js.get_stream(DLQ_STREAM).await.context("no DLQ stream")?;
    let n = stream.info().await?.state.messages;
    stream.purge().await.context("purge DLQ")?;
    if json {
        writeln!(out, "{}", serde_json::json!({ "purged": n }))?;
    } else {
        writeln!(out, "purged {n} dead letter(s)")?;
    }
    Ok(())
}
