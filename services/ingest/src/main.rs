//! `switchboard-ingest [--config PATH] [--check-config]`
//!
//! Config comes from `--config` or `SWITCHBOARD_CONFIG`; see docs/configuration.md.

fn main() -> anyhow::Result<()> {
    switchboard_bus::service_main::<switchboard_ingest::Ingest>(
        "switchboard-ingest",
        "Switchboard ingest: verifies webhooks and stores them durably in JetStream",
        Some(switchboard_ingest::check_config),
    )
}
