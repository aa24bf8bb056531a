//! `switchboard-ingest [--config PATH] [--check-config]`
//!
//! Config comes from `--config` or `SWITCHBOARD_CONFIG`; see docs/configuration.md.

fn main() -> anyhow::Result<()> {
    switchboard_telemetry::service_main(
        "switchboard-ingest",
        "Switchboard ingest: verifies webhooks and stores them durably in JetStream",
        Some(switchboard_ingest::check_config),
        |config| async move {
            let app = switchboard_ingest::Application::build(config).await?;
            app.run_until(switchboard_telemetry::shutdown_signal())
                .await
        },
    )
}
