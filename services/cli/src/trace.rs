//! `switchboard trace TENANT KEY [--since 7d] [--json]`: the trail of one call
//! (`switchboard_ops::trace`), as a table or JSON.

use async_nats::jetstream;
use serde_json::json;
use std::io::Write;
use switchboard_bus::async_nats;
use switchboard_ops::TraceQuery;

pub(crate) async fn run(
    js: &jetstream::Context,
    query: &TraceQuery,
    json_out: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let entries = switchboard_ops::collect(js, query).await?;
    if json_out {
        let doc = json!({"tenant": query.tenant, "key": query.key, "entries": entries});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    if entries.is_empty() {
        writeln!(
            out,
            "nothing about `{}` for tenant {} in the last {} (INBOUND, EVENTS, DLQ) nor in the calls ledger or analytics; widen --since, or check the tenant's name",
            query.key,
            query.tenant,
            crate::rejected::humantime(query.since)
        )?;
        return Ok(());
    }
    writeln!(out, "trace of `{}` (tenant {})", query.key, query.tenant)?;
    for e in &entries {
        writeln!(
            out,
            "{:<24}  {:<16}  {:<28}  {}",
            e.at, e.kind, e.at_ref, e.summary
        )?;
    }
    writeln!(
        out,
        "\n{} entries; `--json` prints every record in full",
        entries.len()
    )?;
    Ok(())
}
