//! `switchboard doctor`: can this tenant's ServiceTitan access do what Switchboard is
//! configured to do, and if not, which permission must the business grant?
//!
//! A business grants the integration's API user Admin or a custom permission set; with a
//! custom set "some features may have limitations". This module turns that into one line
//! per feature — `ok`, `off` (ServiceTitan refused: a permission is missing, named in the
//! words of the business's permission screen) or `error` (anything else: credentials,
//! configuration that does not match the tenant's data, ServiceTitan unreachable).
//!
//! It only reads. Write permissions cannot be probed without writing, so they are judged
//! from the scopes the token response grants; reads are probed with one small request each.

use crate::client::ServiceTitan;
use crate::client::TenantClient;
use crate::error::StError;
use crate::models::CapacityRequest;
use serde::Serialize;
use std::sync::Arc;
use switchboard_config::{CallClass, Config, TenantConfig};

/// A feature's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// ServiceTitan refused: a permission is missing.
    Off,
    /// Anything else that stops the feature.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Off => "off",
            Status::Error => "error",
        }
    }
}

/// One feature of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// `token`, `reclassification`, `tags`, `confirmation`, `booking`, `analytics`.
    pub feature: &'static str,
    /// Whether the tenant's configuration uses it (a feature that is not configured does
    /// not fail the doctor).
    pub configured: bool,
    pub status: Status,
    /// What was found, in words; empty when all is well.
    pub detail: String,
    /// The permissions to grant, as the business's permission screen names them.
    pub grant: Vec<&'static str>,
    /// What limits the feature without stopping it (a job type booking refuses).
    pub warnings: Vec<String>,
}

/// One tenant's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tenant: String,
    pub lines: Vec<Line>,
}

impl Report {
    /// Every configured feature can work.
    pub fn healthy(&self) -> bool {
        self.lines
            .iter()
            .all(|l| !l.configured || l.status == Status::Ok)
    }
}

/// The permissions (as the business's permission screen names them) behind a scope.
pub fn permissions_for(scope: &str) -> &'static [&'static str] {
    match scope.split(':').next().unwrap_or(scope) {
        "tn.tlc.calls" => &["Calls › Reclassify call", "Calls › Confirm call"],
        "tn.jbce.callreasons" => &["Calls › Edit call reason"],
        "tn.stt.tagtypes" => &["Calls › Edit call forms/tags", "General › Edit tag type"],
        "tn.stt.businessunits" => &["Other › View business units"],
        "tn.jpm.appointments" => &["Jobs › Edit job", "Jobs › Reschedule appointments"],
        "tn.jpm.jobs" | "tn.jpm.jobtypes" | "tn.jpm.jobcancelreasons" => {
            &["Jobs › Book job", "Jobs › View job", "Jobs › Cancel job"]
        }
        "tn.dis.capacity" | "tn.dis.arrivalwindows" | "tn.dis.businesshours" => {
            &["Capacity Planning › Edit business hours and capacity planning"]
        }
        "tn.dis.technicianshifts" => &["Capacity Planning › View technician shifts"],
        "tn.crm.customers" | "tn.crm.locations" => {
            &["Customers › View customers", "Customers › Add customer"]
        }
        "tn.mkt.campaigns" => &["Marketing › View campaigns"],
        _ => &[],
    }
}

/// Collects one feature's findings.
struct Check {
    line: Line,
}

impl Check {
    fn new(feature: &'static str, configured: bool) -> Self {
        Check {
            line: Line {
                feature,
                configured,
                status: Status::Ok,
                detail: String::new(),
                grant: Vec::new(),
                warnings: Vec::new(),
            },
        }
    }

    fn note(&mut self, status: Status, detail: String) {
        if status == Status::Error || self.line.status == Status::Ok {
            self.line.status = status;
        }
        if !self.line.detail.is_empty() {
            self.line.detail.push_str("; ");
        }
        self.line.detail.push_str(&detail);
    }

    fn warn(&mut self, warning: String) {
        self.line.warnings.push(warning);
    }

    fn grant(&mut self, scope: &str) {
        for p in permissions_for(scope) {
            if !self.line.grant.contains(p) {
                self.line.grant.push(p);
            }
        }
    }

    /// A read probe's result: a 403 turns the feature off and names the permission.
    fn probe<T>(&mut self, what: &str, scope: &str, result: Result<T, StError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) if e.status == Some(403) => {
                self.note(Status::Off, format!("{what}: refused (403, scope {scope})"));
                self.grant(scope);
                None
            }
            Err(e) => {
                self.note(Status::Error, format!("{what}: {e}"));
                None
            }
        }
    }

    /// A write the feature makes, judged from the granted scopes (`None`: the token
    /// response named none, so nothing can be said).
    fn needs_scope(&mut self, scopes: Option<&[String]>, scope: &str) {
        if let Some(scopes) = scopes
            && !scopes.iter().any(|s| s == scope)
        {
            self.note(Status::Off, format!("scope {scope} not granted"));
            self.grant(scope);
        }
    }
}

/// What a tenant's configuration asks of ServiceTitan: owned, so a check can run in the
/// background of a service that holds its config elsewhere.
#[derive(Debug, Clone)]
pub struct Uses {
    /// The outcome policy: class, call reason, tags.
    outcomes: Vec<(CallClass, String, Vec<String>)>,
    /// The booking default campaign (set when booking is configured).
    default_campaign: Option<String>,
}

impl Uses {
    pub fn of(config: &TenantConfig) -> Self {
        Uses {
            outcomes: config
                .calls
                .outcomes
                .iter()
                .map(|(class, rule)| (*class, rule.reason.clone(), rule.tags.clone()))
                .collect(),
            default_campaign: config.booking.default_campaign.clone(),
        }
    }
}

/// Runs every check for tenant `tenant` (whose configuration asks for `uses`) with `client`.
pub async fn diagnose(tenant: &str, uses: &Uses, client: &TenantClient) -> Report {
    let outcomes = &uses.outcomes;
    let calls = !outcomes.is_empty();
    let tagged = outcomes.iter().any(|(_, _, tags)| !tags.is_empty());
    let booking = uses.default_campaign.is_some();
    let mut token = Check::new("token", true);
    let scopes = match client.granted_scopes().await {
        Ok(s) => s,
        Err(e) => {
            token.note(Status::Error, e.to_string());
            let mut lines = vec![token.line];
            for (feature, configured) in [
                ("reclassification", calls),
                ("tags", tagged),
                ("confirmation", calls),
                ("booking", booking),
                ("analytics", true),
            ] {
                let mut c = Check::new(feature, configured);
                c.note(Status::Error, "no token".into());
                lines.push(c.line);
            }
            return Report {
                tenant: tenant.to_owned(),
                lines,
            };
        }
    };
    let scopes = scopes.as_deref();
    token.line.detail = match scopes {
        Some(s) => format!("{} scopes granted", s.len()),
        None => "the token response names no scopes".into(),
    };

    // Calls: reasons (and the policy's names), the calls list, the write.
    let mut reclass = Check::new("reclassification", calls);
    let reasons = reclass.probe(
        "call reasons",
        "tn.jbce.callreasons:r",
        client.call_reasons(1, 500).await,
    );
    if let Some(reasons) = reasons {
        for (class, reason, _) in outcomes {
            if !reasons.data.iter().any(|r| r.active && &r.name == reason) {
                reclass.note(
                    Status::Error,
                    format!(
                        "tenants.{tenant}.calls.outcomes.{class:?}: call reason `{}` is not an active reason in ServiceTitan",
                        reason
                    ),
                );
            }
        }
    }
    reclass.probe(
        "calls list",
        "tn.tlc.calls:r",
        client.list_calls(vec![("pageSize", "1".into())]).await,
    );
    reclass.needs_scope(scopes, "tn.tlc.calls:w");

    let mut tags = Check::new("tags", tagged);
    if let Some(types) = tags.probe(
        "tag types",
        "tn.stt.tagtypes:r",
        client.tag_types(1, 500).await,
    ) {
        for (_, _, rule_tags) in outcomes {
            for tag in rule_tags {
                if !types.data.iter().any(|t| &t.name == tag) {
                    tags.note(
                        Status::Error,
                        format!("tag `{tag}` is not a tag type in ServiceTitan"),
                    );
                }
            }
        }
    }

    let mut confirmation = Check::new("confirmation", calls);
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    confirmation.probe(
        "appointments export",
        "tn.jpm.appointments:r",
        client.export_appointments(Some(&today), false).await,
    );
    confirmation.needs_scope(scopes, "tn.jpm.appointments:w");

    let booking_line = check_booking(tenant, uses, client, scopes, booking).await;

    let mut analytics = Check::new("analytics", true);
    analytics.probe(
        "calls export",
        "tn.tlc.calls:r",
        client.export_calls(None, false).await,
    );

    Report {
        tenant: tenant.to_owned(),
        lines: vec![
            token.line,
            reclass.line,
            tags.line,
            confirmation.line,
            booking_line,
            analytics.line,
        ],
    }
}

/// Booking: job types (with durations), arrival windows for their business units, the
/// default campaign, capacity, customers, and the writes.
async fn check_booking(
    tenant: &str,
    uses: &Uses,
    client: &TenantClient,
    scopes: Option<&[String]>,
    configured: bool,
) -> Line {
    let mut c = Check::new("booking", configured);
    let all = || vec![("pageSize", "500".to_owned())];
    let job_types = c.probe(
        "job types",
        "tn.jpm.jobtypes:r",
        client.job_types(all()).await,
    );
    let windows = c.probe(
        "arrival windows",
        "tn.dis.arrivalwindows:r",
        client.arrival_windows(all()).await,
    );
    if let Some(types) = &job_types {
        let active: Vec<_> = types.data.iter().filter(|j| j.active).collect();
        let no_duration: Vec<&str> = active
            .iter()
            .filter(|j| j.duration.unwrap_or(0) <= 0)
            .map(|j| j.name.as_str())
            .collect();
        if !no_duration.is_empty() {
            c.warn(format!(
                "job types without a duration, which booking refuses (ServiceTitan would overbook them): {}; set their duration in ServiceTitan",
                no_duration.join(", ")
            ));
        }
        if let Some(windows) = &windows {
            let mut bare: Vec<i64> = active
                .iter()
                .flat_map(|j| j.business_unit_ids.iter().copied())
                .filter(|bu| {
                    !windows.data.iter().any(|w| {
                        w.active
                            && (w.business_unit_ids.is_empty() || w.business_unit_ids.contains(bu))
                    })
                })
                .collect();
            bare.sort_unstable();
            bare.dedup();
            if !bare.is_empty() {
                c.warn(format!(
                    "business units with bookable job types but no active arrival window (nothing can be offered there): {bare:?}"
                ));
            }
        }
    }
    let campaigns = c.probe(
        "campaigns",
        "tn.mkt.campaigns:r",
        client.campaigns(all()).await,
    );
    if let (Some(campaigns), Some(wanted)) = (campaigns, &uses.default_campaign)
        && !campaigns
            .data
            .iter()
            .any(|x| x.active && x.name.eq_ignore_ascii_case(wanted))
    {
        c.note(
            Status::Error,
            format!(
                "tenants.{tenant}.booking.default_campaign: `{wanted}` is not an active campaign in ServiceTitan"
            ),
        );
    }
    let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    c.probe(
        "capacity",
        "tn.dis.capacity:w",
        client
            .capacity(&CapacityRequest {
                starts_on_or_after: jiff::Timestamp::now().to_string(),
                ends_on_or_before: tomorrow.to_string(),
                business_unit_ids: None,
                job_type_id: None,
                skill_based_availability: false,
            })
            .await,
    );
    c.probe(
        "customers",
        "tn.crm.customers:r",
        client.customers(vec![("pageSize", "1".into())]).await,
    );
    for scope in [
        "tn.jpm.jobs:w",
        "tn.jpm.appointments:w",
        "tn.crm.customers:w",
    ] {
        c.needs_scope(scopes, scope);
    }
    c.line
}

/// Where a service puts each feature's state: `(tenant, feature, ok)`, for the
/// `switchboard_tenant_feature_ok` gauge.
pub type FeatureSink = Arc<dyn Fn(&str, &str, bool) + Send + Sync>;

/// How soon a tenant whose report is not healthy is checked again (ServiceTitan still
/// starting, or the business about to fix its grant).
const RECHECK_UNHEALTHY: std::time::Duration = std::time::Duration::from_secs(300);
/// How often a healthy tenant is checked again (a business can take a permission away).
const RECHECK_HEALTHY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The doctor at service start (`[doctor] at_start`, on by default): every tenant with a
/// ServiceTitan client is checked in the background, so start-up never waits on
/// ServiceTitan. Each check logs one line per tenant (a warning naming what to grant or fix
/// when a configured feature cannot work) and sets each configured feature's state through
/// `sink`; an unused feature is not reported, so it cannot raise an alert.
///
/// A tenant is checked again every 5 minutes while it is not healthy and every hour once it
/// is, so the gauge follows a grant being fixed or taken away; a report is logged again only
/// when it changes. The checks stop when the returned [`Running`] is dropped.
pub fn spawn_at_start(
    service: &'static str,
    config: &Config,
    st: &ServiceTitan,
    sink: FeatureSink,
) -> Option<Running> {
    if !config.doctor.at_start {
        return None;
    }
    let tenants: Vec<(String, Uses, Arc<TenantClient>)> = config
        .tenants
        .iter()
        .filter_map(|(name, t)| {
            let client = st.tenant(name.as_str())?;
            Some((name.to_string(), Uses::of(t), client.clone()))
        })
        .collect();
    if tenants.is_empty() {
        return None;
    }
    let task = tokio::spawn(async move {
        let mut last: Vec<Option<String>> = vec![None; tenants.len()];
        let mut due = vec![tokio::time::Instant::now(); tenants.len()];
        loop {
            for (i, (tenant, uses, client)) in tenants.iter().enumerate() {
                if due[i] > tokio::time::Instant::now() {
                    continue;
                }
                let report = diagnose(tenant, uses, client).await;
                for line in report.lines.iter().filter(|l| l.configured) {
                    sink(tenant, line.feature, line.status == Status::Ok);
                }
                let text = summary(&report);
                if last[i].as_ref() != Some(&text) {
                    log_summary(service, &report, &text);
                    last[i] = Some(text);
                }
                let again = if report.healthy() {
                    RECHECK_HEALTHY
                } else {
                    RECHECK_UNHEALTHY
                };
                due[i] = tokio::time::Instant::now() + again;
            }
            let next = due
                .iter()
                .min()
                .copied()
                .unwrap_or_else(tokio::time::Instant::now);
            tokio::time::sleep_until(next).await;
        }
    });
    Some(Running(task.abort_handle()))
}

/// The doctor's background checks; they stop when this is dropped (with the service).
#[derive(Debug)]
pub struct Running(tokio::task::AbortHandle);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One line per tenant: `ok` features listed together, and each one that is not, with
/// why and what to grant.
fn log_summary(service: &str, report: &Report, summary: &str) {
    if report.healthy() {
        tracing::info!(service, tenant = %report.tenant, "doctor: {summary}");
    } else {
        tracing::warn!(
            service,
            tenant = %report.tenant,
            "doctor: {summary}; run `switchboard doctor --tenant {}` for the details",
            report.tenant
        );
    }
}

/// `token ok, reclassification ok, booking off (grant: Jobs › Book job), analytics error
/// (calls export: …)`; features the configuration does not use are left out.
pub fn summary(report: &Report) -> String {
    report
        .lines
        .iter()
        .filter(|l| l.configured)
        .map(|l| match l.status {
            Status::Ok => format!("{} ok", l.feature),
            Status::Off if !l.grant.is_empty() => {
                format!("{} off (grant: {})", l.feature, l.grant.join(", "))
            }
            s => format!("{} {} ({})", l.feature, s.as_str(), l.detail),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
