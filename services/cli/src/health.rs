//! `switchboard health URL`: asks a service's `/readyz` (or any URL) and exits 0 only on a
//! 2xx. The image has no curl or wget, so docker-compose.yml's health checks use this.

use anyhow::{Context as _, bail};
use std::io::Write;
use std::time::Duration;

/// GETs `url` within `timeout`; `Ok` on 2xx, else an error naming the URL and the answer.
pub async fn check(
    url: &str,
    timeout: Duration,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let http = switchboard_servicetitan::build_client(
        reqwest::Client::builder().timeout(timeout),
        "the health check",
    )?;
    let response = http.get(url).send().await.map_err(|e| {
        anyhow::anyhow!(
            "{url} did not answer (waited up to {} s): {}",
            timeout.as_secs(),
            switchboard_servicetitan::error_chain(&e)
        )
    })?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("{url} answered {status} but its body could not be read"))?;
    if !status.is_success() {
        bail!("{url} answered {status}: {}", body.trim());
    }
    writeln!(out, "{url}: {status} {}", body.trim())?;
    Ok(())
}
