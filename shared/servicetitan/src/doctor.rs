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

use crate::client::TenantClient;
use crate::error::StError;
use crate::models::CapacityRequest;
use serde::Serialize;
use switchboard_config::TenantConfig;

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

/// Runs every check for tenant `tenant` (configured as `config`) with `client`.
pub async fn diagnose(tenant: &str, config: &TenantConfig, client: &TenantClient) -> Report {
    let outcomes = &config.calls.outcomes;
    let calls = !outcomes.is_empty();
    let tagged = outcomes.values().any(|o| !o.tags.is_empty());
    let booking = config.booking.default_campaign.is_some();
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
        for (class, rule) in outcomes {
            if !reasons
                .data
                .iter()
                .any(|r| r.active && r.name == rule.reason)
            {
                reclass.note(
                    Status::Error,
                    format!(
                        "tenants.{tenant}.calls.outcomes.{class:?}: call reason `{}` is not an active reason in ServiceTitan",
                        rule.reason
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
        for rule in outcomes.values() {
            for tag in &rule.tags {
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

    let booking_line = check_booking(tenant, config, client, scopes, booking).await;

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
    config: &TenantConfig,
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
    if let (Some(campaigns), Some(wanted)) = (campaigns, &config.booking.default_campaign)
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
