//! `switchboard-booking [--config PATH]` — see docs/booking.md and docs/configuration.md
//! (`[booking]`, `[tenants.x.booking]`).

fn main() -> anyhow::Result<()> {
    switchboard_bus::service_main::<switchboard_booking::Booking>(
        "switchboard-booking",
        "Switchboard booking: the voice agent's availability and booking tools, within ServiceTitan's capacity",
        None,
    )
}
