//! `switchboard-analytics [--config PATH]` — see docs/analytics.md and docs/configuration.md
//! (`[analytics]`, `[tenants.x.analytics]`).

fn main() -> anyhow::Result<()> {
    switchboard_bus::service_main::<switchboard_analytics::Analytics>(
        "switchboard-analytics",
        "Switchboard analytics: booking-rate facts, snapshots and discrepancies per tenant",
        None,
    )
}
