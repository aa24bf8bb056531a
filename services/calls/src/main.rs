//! `switchboard-calls [--config PATH]` — see docs/configuration.md (`[calls]`,
//! `[tenants.x.calls]`) and docs/servicetitan.md.

fn main() -> anyhow::Result<()> {
    switchboard_telemetry::service_main(
        "switchboard-calls",
        "Switchboard calls worker: links, classifies and confirms the agent's calls in ServiceTitan",
        None,
        |config| async move {
            let app = switchboard_calls::Application::build(config).await?;
            // A large future (consumers and export followers in one): boxed.
            Box::pin(app.run_until(switchboard_telemetry::shutdown_signal())).await
        },
    )
}
