//! `switchboard doctor [--tenant T] [--json]`: each tenant's ServiceTitan access against
//! what its configuration uses (`switchboard_servicetitan::doctor`), as a table or JSON.
//! Reads only. Exits non-zero when a configured feature cannot work, so a platform team
//! can run it after a business changes its grant, or in a deploy pipeline.

use anyhow::Context as _;
use std::io::Write;
use switchboard_config::Config;
use switchboard_servicetitan::ServiceTitan;
use switchboard_servicetitan::doctor::{Report, Uses, diagnose};

pub async fn run(
    config: &Config,
    only: Option<&str>,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    if let Some(wanted) = only
        && !config.tenants.keys().any(|t| t.as_str() == wanted)
    {
        let known: Vec<&str> = config.tenants.keys().map(|t| t.as_str()).collect();
        anyhow::bail!(
            "no tenant `{wanted}` in the config; the tenants are: {}",
            known.join(", ")
        );
    }
    let st = ServiceTitan::from_config(config)
        .context("cannot build the ServiceTitan clients from the config")?;
    let mut reports = Vec::new();
    for (name, tenant) in &config.tenants {
        if only.is_some_and(|w| w != name.as_str()) {
            continue;
        }
        let Some(client) = st.tenant(name.as_str()) else {
            if !json {
                writeln!(
                    out,
                    "tenant {name}: no ServiceTitan configured; nothing to check\n"
                )?;
            }
            continue;
        };
        reports.push(diagnose(name.as_str(), &Uses::of(tenant), client).await);
    }
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
    } else {
        for report in &reports {
            print_report(report, out)?;
        }
    }
    let failing: Vec<&str> = reports
        .iter()
        .filter(|r| !r.healthy())
        .map(|r| r.tenant.as_str())
        .collect();
    if failing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "configured features cannot work for tenant(s) {}: grant the permissions named above, or fix the config",
            failing.join(", ")
        )
    }
}

fn print_report(report: &Report, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    writeln!(out, "tenant {}", report.tenant)?;
    writeln!(out, "  {:<18} {:<6} detail", "FEATURE", "STATUS")?;
    for line in &report.lines {
        let feature = if line.configured {
            line.feature.to_owned()
        } else {
            format!("{} (unused)", line.feature)
        };
        writeln!(
            out,
            "  {feature:<18} {:<6} {}",
            line.status.as_str(),
            line.detail
        )?;
        if !line.grant.is_empty() {
            writeln!(
                out,
                "  {:<18} {:<6} grant: {}",
                "",
                "",
                line.grant.join(", ")
            )?;
        }
        for warning in &line.warnings {
            writeln!(out, "  {:<18} {:<6} warning: {warning}", "", "")?;
        }
    }
    writeln!(out)?;
    Ok(())
}
