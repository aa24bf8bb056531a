//! `switchboard rejected list/show`: the deliveries ingest refused (400/401/413/415), from
//! the REJECTED stream (`switchboard_bus::rejected`). The first question when a provider's
//! webhooks "stopped working" is whether they arrive and are refused, and why: a rotated
//! secret (`bad_signature`), a clock off (`stale_timestamp`), a header that changed
//! (`missing_header`), a body grown past the limit (413).

use anyhow::Context as _;
use async_nats::jetstream;
use std::io::Write;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::rejected::{REJECTED_STREAM, RejectedDelivery};

/// At most this many records are read for one `list` (the stream's own cap keeps it far
/// below in practice).
const MAX_READ: u64 = 200_000;

/// What `rejected list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    pub tenant: Option<String>,
    pub source: Option<String>,
    /// Only records newer than this.
    pub since: Duration,
    /// The newest this many.
    pub limit: usize,
}

pub(crate) async fn list(
    js: &jetstream::Context,
    filter: &ListFilter,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let subject = format!(
        "rejected.{}.{}",
        filter.tenant.as_deref().unwrap_or("*"),
        filter.source.as_deref().unwrap_or("*")
    );
    let from = jiff::Timestamp::now()
        - jiff::SignedDuration::try_from(filter.since).context("--since is too long")?;
    let start_time = async_nats::datetime::parse_rfc3339(&from.to_string())
        .map_err(|e| anyhow::anyhow!("{from} as a NATS start time: {e}"))?;
    let messages = match switchboard_bus::scan::scan(
        js,
        REJECTED_STREAM,
        vec![subject],
        jetstream::consumer::DeliverPolicy::ByStartTime { start_time },
        MAX_READ,
    )
    .await
    {
        Ok(m) => m,
        Err(e) if js.get_stream(REJECTED_STREAM).await.is_err() => {
            anyhow::bail!(
                "no REJECTED stream on this NATS: ingest creates it at its first rejection (or ingest.rejected.enabled is false) ({e})"
            )
        }
        Err(e) => anyhow::bail!(e),
    };
    let mut records = Vec::with_capacity(messages.len());
    for m in &messages {
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
        let record: RejectedDelivery = serde_json::from_slice(&m.payload)
            .with_context(|| format!("REJECTED #{seq} is not a rejected-delivery record"))?;
        records.push((seq, record));
    }
    let skip = records.len().saturating_sub(filter.limit);
    let shown = &records[skip..];
    if json {
        let items: Vec<_> = shown
            .iter()
            .map(|(seq, r)| serde_json::json!({"id": seq, "rejected": r}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if shown.is_empty() {
        writeln!(
            out,
            "no rejected deliveries in the last {}",
            humantime(filter.since)
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>7}  {:<24}  {:<24}  {:>6}  {:<20}  message",
        "ID", "AT", "TENANT/SOURCE", "STATUS", "REASON"
    )?;
    for (seq, r) in shown {
        let message: String = r.message.chars().take(60).collect();
        writeln!(
            out,
            "{seq:>7}  {:<24}  {:<24}  {:>6}  {:<20}  {message}",
            r.at,
            format!("{}/{}", r.tenant, r.source),
            r.status,
            r.reason
        )?;
    }
    writeln!(
        out,
        "\n{} of {} rejected deliveries in the last {}; `switchboard rejected show ID` for headers and body",
        shown.len(),
        records.len(),
        humantime(filter.since)
    )?;
    Ok(())
}

pub(crate) async fn show(
    js: &jetstream::Context,
    id: u64,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let stream = js
        .get_stream(REJECTED_STREAM)
        .await
        .context("no REJECTED stream on this NATS (no rejection recorded yet)")?;
    let message = stream.get_raw_message(id).await.with_context(|| {
        format!("no rejected delivery {id} (older than the stream keeps? see `rejected list`)")
    })?;
    let r: RejectedDelivery = serde_json::from_slice(&message.payload)
        .with_context(|| format!("REJECTED #{id} is not a rejected-delivery record"))?;
    if json {
        let item = serde_json::json!({"id": id, "rejected": r});
        writeln!(out, "{}", serde_json::to_string_pretty(&item)?)?;
        return Ok(());
    }
    writeln!(out, "rejected delivery {id}")?;
    writeln!(out, "  at:       {}", r.at)?;
    writeln!(
        out,
        "  source:   {}/{} (scheme {})",
        r.tenant, r.source, r.scheme
    )?;
    writeln!(out, "  answer:   {} {} ({})", r.status, r.error, r.reason)?;
    writeln!(out, "  message:  {}", r.message)?;
    writeln!(out, "  path:     {}", r.path)?;
    if !r.query_keys.is_empty() {
        writeln!(
            out,
            "  query:    {} (values not kept)",
            r.query_keys.join(", ")
        )?;
    }
    writeln!(out, "  headers:")?;
    for h in &r.headers {
        match (&h.value, &h.shape) {
            (Some(v), _) => writeln!(out, "    {}: {v}", h.name)?,
            (None, Some(shape)) => writeln!(out, "    {}: <redacted: {shape}>", h.name)?,
            (None, None) => writeln!(out, "    {}: <redacted>", h.name)?,
        }
    }
    match &r.body.sha256 {
        Some(sha) => writeln!(out, "  body:     {} bytes, sha256 {sha}", r.body.size)?,
        None => writeln!(out, "  body:     {} bytes, refused unread", r.body.size)?,
    }
    if let Some(prefix) = &r.body.prefix {
        writeln!(out, "  body starts: {prefix}")?;
    }
    Ok(())
}

/// `90s` → `1m 30s`, for messages.
pub(crate) fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60) {
        (0, 0, 0, s) => format!("{s}s"),
        (0, 0, m, s) => format!("{m}m {s}s").replace(" 0s", ""),
        (0, h, m, _) => format!("{h}h {m}m").replace(" 0m", ""),
        (d, h, _, _) => format!("{d}d {h}h").replace(" 0h", ""),
    }
}

/// `30m`, `24h`, `7d`, `90s`: a `--since` value.
pub(crate) fn parse_since(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration like 90s, 30m, 24h or 7d");
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs == 0 || secs > 366 * 86_400 {
        return Err(format!("--since `{s}` must be between 1s and 366d"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_since("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_since("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_since("24").is_err());
        assert!(parse_since("h").is_err());
        assert!(parse_since("0m").is_err());
        assert_eq!(humantime(Duration::from_secs(86_400)), "1d");
        assert_eq!(humantime(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(humantime(Duration::from_secs(90)), "1m 30s");
    }
}
