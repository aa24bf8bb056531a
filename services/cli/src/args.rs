//! The command line, parsed by `clap` into [`Cli`], the plain value [`crate::run`] takes.
//!
//! [`Cli`] and [`Command`] stay separate from clap's derive types so that tests and other
//! crates drive the CLI with ordinary values, and so that the rules clap cannot express
//! (`dlq purge` needs `--yes`) live next to the parsing, with their own messages.

use crate::{Cli, Command, DemoOptions, ReplayTarget, demo};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
NATS: --nats-url, else SWITCHBOARD_NATS_URL, else nats.url from --config / SWITCHBOARD_CONFIG.
A dead letter's ID is its sequence in the DLQ stream (the first column of `dlq list`);
a rejected delivery's, its sequence in REJECTED (the first column of `rejected list`).
See docs/runbook.md.";

/// `switchboard`: Switchboard's operator CLI.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, after_help = AFTER_HELP)]
struct Args {
    /// Config file (docs/configuration.md)
    #[arg(short, long, global = true, value_name = "PATH", env = switchboard_config::CONFIG_ENV)]
    config: Option<PathBuf>,
    /// NATS server URL, or a comma-separated list for a cluster
    #[arg(long, global = true, value_name = "URL", env = switchboard_config::NATS_URL_ENV)]
    nats_url: Option<String>,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The dead-letter queue: list, show, replay, purge
    #[command(subcommand)]
    Dlq(Dlq),
    /// GET URL (a service's /readyz); exit 0 only on 2xx
    Health { url: String },
    /// Send a week of signed demo traffic through ingest (secrets from the config)
    Demo(DemoArgs),
    /// Everything recorded about one call, in time order: deliveries, events, dead
    /// letters, the calls ledger and ServiceTitan writes, bookings, analytics
    Trace {
        /// The tenant
        tenant: String,
        /// A provider call id, a ServiceTitan call or job id, a phone number, an event id
        /// or a tool request id
        key: String,
        /// How far back to read the streams: 90s, 30m, 24h, 7d
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = crate::rejected::parse_since)]
        since: std::time::Duration,
    },
    /// Deliveries ingest refused (400/401/413/415), redacted: list, show
    #[command(subcommand)]
    Rejected(Rejected),
    /// Check each tenant's ServiceTitan access against what the config uses (reads only);
    /// exit 1 when a configured feature cannot work
    Doctor {
        /// Only this configured tenant
        #[arg(long, value_name = "NAME")]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum Dlq {
    /// Dead letters: ID, when, consumer, reason, original
    List {
        /// Only this consumer's dead letters
        #[arg(long, value_name = "NAME")]
        consumer: Option<String>,
    },
    /// One dead letter in full
    Show {
        #[arg(value_parser = dead_letter_id)]
        id: u64,
    },
    /// Put the original message(s) back in front of their consumer
    Replay {
        #[arg(value_parser = dead_letter_id, required_unless_present = "all", conflicts_with = "all")]
        id: Option<u64>,
        /// Replay every dead letter
        #[arg(long)]
        all: bool,
    },
    /// Delete every dead letter
    Purge {
        /// Confirm: purge cannot be undone
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Rejected {
    /// The newest rejected deliveries: ID, when, tenant/source, status, reason
    List {
        /// Only this tenant's
        #[arg(long, value_name = "NAME")]
        tenant: Option<String>,
        /// Only this source's (with --tenant, or across tenants)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// How far back: 90s, 30m, 24h, 7d
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = crate::rejected::parse_since)]
        since: std::time::Duration,
        /// Show the newest N
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
    },
    /// One rejected delivery: its answer, every header (secret values redacted, their
    /// shape kept), the body's size and SHA-256
    Show {
        #[arg(value_parser = rejected_id)]
        id: u64,
    },
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// The configured tenant to send as
    #[arg(long, value_name = "NAME", default_value = demo::DEFAULT_TENANT)]
    tenant: String,
    #[arg(long, value_name = "URL", default_value = demo::DEFAULT_INGEST_URL)]
    ingest_url: String,
    #[arg(long, value_name = "URL", default_value = demo::DEFAULT_ST_SIM_URL)]
    st_sim_url: String,
    /// Days of traffic, 1 to 30 (the page shows 30 days)
    #[arg(long, value_name = "N", default_value_t = demo::DEFAULT_DAYS, value_parser = days)]
    days: u32,
    /// How long to wait for the CSR's misclassified calls to settle; 0 leaves them out
    #[arg(long, value_name = "N", default_value_t = demo::DEFAULT_WAIT_SECS)]
    wait_secs: u64,
}

fn dead_letter_id(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a dead-letter ID (see `dlq list`)"))
}

fn rejected_id(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a rejected-delivery ID (see `rejected list`)"))
}

fn days(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|d| (1..=30).contains(d))
        .ok_or_else(|| format!("--days must be 1 to 30 (the page shows 30 days), not `{s}`"))
}

/// The full `--help` text.
pub fn usage() -> String {
    Args::command().render_long_help().to_string()
}

/// Parses `args` (without the program name). `--help` and `--version` parse to
/// [`Command::Help`] with the text to print; an unknown command or a refused one is an error with its reason.
pub fn parse(args: &[String]) -> anyhow::Result<Cli> {
    let argv = std::iter::once("switchboard").chain(args.iter().map(String::as_str));
    let matches = match Args::command().try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(e) => {
            use clap::error::ErrorKind as K;
            return match e.kind() {
                K::DisplayHelp | K::DisplayVersion => Ok(Cli {
                    config: None,
                    nats_url: None,
                    json: false,
                    command: Command::Help(e.render().to_string()),
                }),
                K::InvalidSubcommand => {
                    use clap::error::{ContextKind, ContextValue};
                    let word = match e.get(ContextKind::InvalidSubcommand) {
                        Some(ContextValue::String(word)) => word.as_str(),
                        _ => "",
                    };
                    anyhow::bail!("unknown command `{word}` (try --help)")
                }
                _ => Err(anyhow::anyhow!("{}", e.render().to_string().trim_end())),
            };
        }
    };
    let args = Args::from_arg_matches(&matches).map_err(|e| anyhow::anyhow!("{e}"))?;
    let command = match args.command {
        None => Command::Help(usage()),
        Some(Sub::Dlq(Dlq::List { consumer })) => Command::DlqList { consumer },
        Some(Sub::Dlq(Dlq::Show { id })) => Command::DlqShow { id },
        Some(Sub::Dlq(Dlq::Replay { id, all })) => Command::DlqReplay {
            target: match id {
                Some(id) if !all => ReplayTarget::One(id),
                _ => ReplayTarget::All,
            },
        },
        Some(Sub::Dlq(Dlq::Purge { yes: true })) => Command::DlqPurge,
        Some(Sub::Dlq(Dlq::Purge { yes: false })) => {
            anyhow::bail!("`dlq purge` deletes every dead letter: add --yes to confirm")
        }
        Some(Sub::Health { url }) => Command::Health { url },
        Some(Sub::Trace { tenant, key, since }) => {
            Command::Trace(crate::TraceQuery { tenant, key, since })
        }
        Some(Sub::Rejected(Rejected::List {
            tenant,
            source,
            since,
            limit,
        })) => Command::RejectedList(crate::rejected::ListFilter {
            tenant,
            source,
            since,
            limit,
        }),
        Some(Sub::Rejected(Rejected::Show { id })) => Command::RejectedShow { id },
        Some(Sub::Doctor { tenant }) => Command::Doctor { tenant },
        Some(Sub::Demo(d)) => Command::Demo(DemoOptions {
            tenant: d.tenant,
            ingest_url: d.ingest_url,
            st_sim_url: d.st_sim_url,
            days: d.days,
            wait_secs: d.wait_secs,
        }),
    };
    Ok(Cli {
        config: args.config,
        nats_url: args.nats_url,
        json: args.json,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_dlq_commands() {
        assert_eq!(
            parse(&args("dlq list")).unwrap().command,
            Command::DlqList { consumer: None }
        );
        let cli = parse(&args(
            "--json --nats-url nats://x:1 dlq list --consumer router",
        ))
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.nats_url.as_deref(), Some("nats://x:1"));
        assert_eq!(
            cli.command,
            Command::DlqList {
                consumer: Some("router".into())
            }
        );
        assert_eq!(
            parse(&args("dlq show 7")).unwrap().command,
            Command::DlqShow { id: 7 }
        );
        assert_eq!(
            parse(&args("dlq replay --all")).unwrap().command,
            Command::DlqReplay {
                target: ReplayTarget::All
            }
        );
        assert_eq!(
            parse(&args("dlq replay 3")).unwrap().command,
            Command::DlqReplay {
                target: ReplayTarget::One(3)
            }
        );
        assert_eq!(
            parse(&args("dlq purge --yes")).unwrap().command,
            Command::DlqPurge
        );
    }

    #[test]
    fn parses_trace() {
        assert_eq!(
            parse(&args("trace demo 9003")).unwrap().command,
            Command::Trace(crate::TraceQuery {
                tenant: "demo".into(),
                key: "9003".into(),
                since: std::time::Duration::from_secs(7 * 86_400),
            })
        );
        assert!(parse(&args("trace demo")).is_err());
        let err = parse(&args("trace demo x --since forever"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a duration"), "{err}");
    }

    #[test]
    fn parses_the_rejected_commands() {
        assert_eq!(
            parse(&args("rejected list")).unwrap().command,
            Command::RejectedList(crate::ListFilter {
                tenant: None,
                source: None,
                since: std::time::Duration::from_secs(86_400),
                limit: 50,
            })
        );
        assert_eq!(
            parse(&args(
                "rejected list --tenant acme --source st --since 30m --limit 5"
            ))
            .unwrap()
            .command,
            Command::RejectedList(crate::ListFilter {
                tenant: Some("acme".into()),
                source: Some("st".into()),
                since: std::time::Duration::from_secs(1800),
                limit: 5,
            })
        );
        assert_eq!(
            parse(&args("rejected show 12")).unwrap().command,
            Command::RejectedShow { id: 12 }
        );
        for (line, wanted) in [
            ("rejected list --since 5", "not a duration"),
            ("rejected show x", "not a rejected-delivery ID"),
        ] {
            let err = parse(&args(line)).unwrap_err().to_string();
            assert!(err.contains(wanted), "{line}: {err}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for (line, wanted) in [
            ("dlq purge", "--yes"),
            ("dlq show x", "not a dead-letter ID"),
            ("frobnicate", "unknown command"),
            (
                "--nats-url nats://x dlq frobnicate",
                "unknown command `frobnicate`",
            ),
        ] {
            let err = parse(&args(line)).unwrap_err().to_string();
            assert!(err.contains(wanted), "{line}: {err}");
        }
    }

    #[test]
    fn help_is_for_the_command_asked_about_and_version_is_the_version() {
        let text = |line: &str| match parse(&args(line)).unwrap().command {
            Command::Help(text) => text,
            other => panic!("`{line}` parsed to {other:?}"),
        };
        assert!(text("health --help").contains("Usage: switchboard health"));
        assert!(text("demo --help").contains("--ingest-url"));
        assert!(text("--version").contains(env!("CARGO_PKG_VERSION")));
        assert!(text("").contains("Commands:"));
    }
}
