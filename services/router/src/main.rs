//! `switchboard-router [--config PATH]` — see docs/events.md and docs/configuration.md.

fn main() -> anyhow::Result<()> {
    switchboard_telemetry::service_main(
        "switchboard-router",
        "Switchboard router: verified deliveries in INBOUND become canonical events in EVENTS",
        None,
        |config| async move {
            let app = switchboard_router::Application::build(config).await?;
            app.run_until(switchboard_telemetry::shutdown_signal())
                .await
        },
    )
}
