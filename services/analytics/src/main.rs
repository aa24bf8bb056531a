//! `switchboard-analytics [--config PATH]` — see docs/analytics.md and docs/configuration.md
//! (`[analytics]`, `[tenants.x.analytics]`).

fn main() -> anyhow::Result<()> {
    switchboard_telemetry::service_main(
        "switchboard-analytics",
        "Switchboard analytics: booking-rate facts, snapshots and discrepancies per tenant",
        None,
        |config| async move {
            let app = switchboard_analytics::Application::build(config).await?;
            Box::pin(app.run_until(switchboard_telemetry::shutdown_signal())).await
        },
    )
}
