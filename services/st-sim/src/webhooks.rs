//! Signed ServiceTitan-style webhooks from st-sim to a configured URL (ingest, in the
//! demo), so changes made through the API or the admin endpoints flow end to end.
//! Signature: HMAC-SHA256 of the body, hex, in `X-ServiceTitan-Signature` (scheme
//! `servicetitan`), the same guess the ingest default makes — see docs/signatures.md.

use crate::Shared;
use crate::seed::Webhook;
use std::time::Duration;
use switchboard_signatures::{SigEncoding, sign};

/// Sends `event` in the background (never blocks or fails the API request); retries like
/// ServiceTitan (after 10, 30, 60 s — compressed to 1, 3, 6 s here).
pub(crate) fn send(
    shared: &Shared,
    webhook: Option<Webhook>,
    tenant_id: u64,
    event: &str,
    data: serde_json::Value,
) {
    let Some(webhook) = webhook else { return };
    let body = serde_json::json!({
        "eventType": event,
        "tenantId": tenant_id,
        "timestamp": crate::clock::now(),
        "eventId": format!("evt_{:032x}", fastrand::u128(..)),
        "data": data,
    })
    .to_string();
    let signature =
        sign::servicetitan(webhook.secret.as_bytes(), body.as_bytes(), SigEncoding::Hex);
    let header = webhook
        .header
        .clone()
        .unwrap_or_else(|| "X-ServiceTitan-Signature".into());
    let http = shared.http.clone();
    let event = event.to_owned();
    tokio::spawn(async move {
        for (attempt, delay) in [0u64, 1, 3, 6].into_iter().enumerate() {
            tokio::time::sleep(Duration::from_secs(delay)).await;
            let result = http
                .post(&webhook.url)
                .header("Content-Type", "application/json")
                .header(header.as_str(), signature.as_str())
                .body(body.clone())
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(%event, tenant_id, url = %webhook.url, "webhook delivered");
                    return;
                }
                Ok(r) => {
                    tracing::warn!(%event, attempt, status = r.status().as_u16(), "webhook refused; will retry")
                }
                Err(e) => tracing::warn!(%event, attempt, error = %e, "webhook failed; will retry"),
            }
        }
        tracing::error!(%event, tenant_id, "webhook given up after 4 attempts");
    });
}
