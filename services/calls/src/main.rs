//! `switchboard-calls [--config PATH]` — see docs/configuration.md (`[calls]`,
//! `[tenants.x.calls]`) and docs/servicetitan.md.

fn main() -> anyhow::Result<()> {
    switchboard_bus::service_main::<switchboard_calls::CallsWorker>(
        "switchboard-calls",
        "Switchboard calls worker: links, classifies and confirms the agent's calls in ServiceTitan",
        None,
    )
}
