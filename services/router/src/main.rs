//! `switchboard-router [--config PATH]` — see docs/events.md and docs/configuration.md.

fn main() -> anyhow::Result<()> {
    switchboard_bus::service_main::<switchboard_router::Router>(
        "switchboard-router",
        "Switchboard router: verified deliveries in INBOUND become canonical events in EVENTS",
        None,
    )
}
