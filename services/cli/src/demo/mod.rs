//! `switchboard demo`: a realistic week of traffic for one tenant, signed and sent through
//! ingest exactly as the providers would send it, so the pipeline, the analytics page and
//! `nats sub 'events.demo.>'` have something real to show.
//!
//! For every call of the week it plays three parties:
//! - **the phone system** reports the call to ServiceTitan (st-sim's admin API, which then
//!   sends ingest its own signed `CallCompleted` webhook) and sends Twilio status callbacks
//!   (`initiated`, `in-progress`, `completed`, signed with the tenant's Twilio auth token
//!   over the public URL, as Twilio signs);
//! - **the AI agent** books a job in ServiceTitan for the calls it booked and reports every
//!   call's outcome (`booked`, `unbooked`, `excused`, `not_lead`, `abandoned`) in the agent
//!   format, Standard Webhooks-signed; later it confirms or reschedules appointments;
//! - **a CSR** misclassifies a few booked calls in ServiceTitan after the calls worker has
//!   set them right, so analytics finds the discrepancies and, with `auto_reclassify = "on"`,
//!   has them fixed — which the demo waits for and reports.
//!
//! Secrets come from the same config the services use, so the demo signs with whatever the
//! tenant is configured with. Each run sends a new week (fresh call ids); nothing is
//! deduplicated away.
mod plan;

use anyhow::{Context as _, bail};
use jiff::{Timestamp, ToSpan as _, Zoned, tz::TimeZone};
use plan::{Account, Caller, DemoCall, plan};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_config::{Config, PayloadFormat, SourceConfig};
use switchboard_signatures::{MacAlgorithm, sign};

/// `switchboard demo`'s defaults, shared by [`DemoOptions::default`] and `--help`.
pub(crate) const DEFAULT_TENANT: &str = "demo";
pub(crate) const DEFAULT_INGEST_URL: &str = "http://localhost:8080";
pub(crate) const DEFAULT_ST_SIM_URL: &str = "http://localhost:8090";
pub(crate) const DEFAULT_DAYS: u32 = 7;
pub(crate) const DEFAULT_WAIT_SECS: u64 = 180;

/// `switchboard demo` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    pub tenant: String,
    pub ingest_url: String,
    pub st_sim_url: String,
    pub days: u32,
    /// How long to wait for the calls worker, then analytics, to settle the CSR's
    /// misclassified calls. 0 leaves the CSR out: the week is sent and nothing is waited for.
    pub wait_secs: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            tenant: DEFAULT_TENANT.into(),
            ingest_url: DEFAULT_INGEST_URL.into(),
            st_sim_url: DEFAULT_ST_SIM_URL.into(),
            days: DEFAULT_DAYS,
            wait_secs: DEFAULT_WAIT_SECS,
        }
    }
}

const BUSINESS_NUMBER: &str = "+15125550000";
const AGENT_ID: i64 = 41;

/// Where the tenant's deliveries go and what they are signed with.
struct Target {
    tenant: String,
    st_tenant: u64,
    zone: TimeZone,
    twilio_path: String,
    twilio_url: String,
    twilio_token: SecretString,
    agent_path: String,
    agent_secret: SecretString,
}

impl Target {
    fn from_config(config: &Config, tenant: &str) -> anyhow::Result<Self> {
        let t = config.tenants.get(tenant).with_context(|| {
            format!("tenant `{tenant}` is not in the config (pass --tenant or --config)")
        })?;
        let st = t.servicetitan.as_ref().with_context(|| {
            format!("tenant `{tenant}` has no [tenants.{tenant}.servicetitan]: the demo needs its st-sim account")
        })?;
        let (twilio, twilio_source) = t
            .sources
            .iter()
            .find(|(_, s)| matches!(s, SourceConfig::Twilio(_)))
            .with_context(|| format!("tenant `{tenant}` has no source with scheme \"twilio\""))?;
        let (agent, agent_source) = t
            .sources
            .iter()
            .find(|(_, s)| s.format() == Some(PayloadFormat::Agent))
            .with_context(|| {
                format!("tenant `{tenant}` has no source with format \"agent\" (standard-webhooks)")
            })?;
        let secret = |s: &SourceConfig, name: &str| {
            s.secrets()
                .first()
                .cloned()
                .with_context(|| format!("tenants.{tenant}.sources.{name} has no secret"))
        };
        let public = config
            .ingest
            .public_url
            .clone()
            .unwrap_or_else(|| "http://localhost:8080".into());
        let twilio_path = format!("/v1/hooks/{tenant}/{twilio}");
        Ok(Self {
            tenant: tenant.to_owned(),
            st_tenant: st.tenant_id,
            zone: TimeZone::get(&t.timezone)
                .with_context(|| format!("tenants.{tenant}.timezone `{}`", t.timezone))?,
            twilio_url: format!("{}{twilio_path}", public.trim_end_matches('/')),
            twilio_path,
            twilio_token: secret(twilio_source, twilio.as_str())?,
            agent_path: format!("/v1/hooks/{tenant}/{agent}"),
            agent_secret: secret(agent_source, agent.as_str())?,
        })
    }
}

/// Runs the demo, reporting progress to `out`.
pub async fn run(
    config: &Config,
    options: &DemoOptions,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let target = Target::from_config(config, &options.tenant)?;
    let http = switchboard_servicetitan::build_client(
        reqwest::Client::builder().timeout(Duration::from_secs(15)),
        "the demo's deliveries",
    )?;
    let demo = Demo {
        http,
        target,
        ingest: options.ingest_url.trim_end_matches('/').to_owned(),
        sim: options.st_sim_url.trim_end_matches('/').to_owned(),
        run: format!("{:08x}", fastrand::u32(..)),
    };
    let account = demo.account(&demo.sim_tenant().await?)?;
    let mut rng = fastrand::Rng::new();
    let now = Zoned::now().with_time_zone(demo.target.zone.clone());
    let calls = plan(&mut rng, &now, options.days, &account)?;
    writeln!(
        out,
        "demo: {} calls over {} days for tenant `{}` through {}",
        calls.len(),
        options.days,
        demo.target.tenant,
        demo.ingest
    )?;
    let mut booked = Vec::new();
    for call in &calls {
        let st_call = demo.report_call(call).await?;
        demo.twilio_lifecycle(call).await?;
        let job = if call.class == "booked" {
            Some(demo.book_job(call).await?)
        } else {
            None
        };
        demo.outcome(call, st_call, job).await?;
        if let Some(job) = job {
            booked.push((call.clone(), st_call, job));
        }
    }
    let count = |class: &str| calls.iter().filter(|c| c.class == class).count();
    writeln!(
        out,
        "demo: sent {} Twilio lifecycles and agent outcomes: {} booked, {} unbooked, {} excused, {} not_lead, {} abandoned",
        calls.len(),
        count("booked"),
        count("unbooked"),
        count("excused"),
        count("not_lead"),
        count("abandoned")
    )?;
    let confirmed = demo.confirmations(&booked).await?;
    writeln!(out, "demo: {confirmed} appointment confirmations sent")?;
    demo.misclassify(&booked, options.wait_secs, out).await?;
    writeln!(
        out,
        "demo: done. The page: http://localhost:8083/ ; events: nats sub 'events.{}.>'",
        demo.target.tenant
    )?;
    Ok(())
}

struct Demo {
    http: reqwest::Client,
    target: Target,
    ingest: String,
    sim: String,
    run: String,
}

impl Demo {
    /// One request to st-sim's admin API (`path` under its base URL); its JSON answer, or
    /// an error naming the request and what st-sim said.
    async fn sim(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.sim);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            anyhow::anyhow!(
                "st-sim did not answer {method} {url}: {}",
                switchboard_servicetitan::error_chain(&e)
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            bail!("st-sim answered {status} to {method} {url}: {text}");
        }
        response
            .json()
            .await
            .with_context(|| format!("st-sim's answer to {method} {url} is not JSON"))
    }

    /// `/_sim/tenants/{tenant}/{rest}` for the tenant's ServiceTitan account.
    fn tenant_path(&self, rest: &str) -> String {
        format!("/_sim/tenants/{}/{rest}", self.target.st_tenant)
    }

    /// The tenant's ServiceTitan account in st-sim's state.
    async fn sim_tenant(&self) -> anyhow::Result<Value> {
        let mut state = self.sim(reqwest::Method::GET, "/_sim/state", None).await?;
        let tenants = state["tenants"].as_array_mut().map(std::mem::take);
        tenants
            .into_iter()
            .flatten()
            .find(|t| t["tenant_id"] == self.target.st_tenant)
            .with_context(|| {
                format!(
                    "st-sim at {} has no ServiceTitan tenant {} (tenants.{}.servicetitan.tenant_id)",
                    self.sim, self.target.st_tenant, self.target.tenant
                )
            })
    }

    /// The customers, campaigns, business units and job types of the tenant's account.
    fn account(&self, tenant: &Value) -> anyhow::Result<Account> {
        let list = |key: &str| tenant[key].as_array().cloned().unwrap_or_default();
        let callers: Vec<Caller> = list("locations")
            .iter()
            .filter_map(|l| {
                let phone = l["contacts"].as_array()?.iter().find_map(|c| {
                    c["type"]
                        .as_str()?
                        .contains("Phone")
                        .then(|| c["value"].as_str())?
                })?;
                Some(Caller {
                    customer_id: l["customer_id"].as_i64()?,
                    location_id: l["id"].as_i64()?,
                    phone: phone.to_owned(),
                })
            })
            .collect();
        let named = |key: &str| -> Vec<(i64, String)> {
            list(key)
                .iter()
                .filter_map(|v| Some((v["id"].as_i64()?, v["name"].as_str()?.to_owned())))
                .collect()
        };
        let (campaigns, units) = (named("campaigns"), named("business_units"));
        let mut job_types: Vec<i64> = list("jobs")
            .iter()
            .filter_map(|j| j["job_type_id"].as_i64())
            .collect();
        job_types.sort_unstable();
        job_types.dedup();
        if callers.is_empty() || campaigns.is_empty() || units.is_empty() || job_types.is_empty() {
            bail!(
                "st-sim's tenant {} needs locations with a phone contact, campaigns, business units \
                 and at least one job (for a job type) for the demo; load the demo seed",
                self.target.st_tenant
            );
        }
        Ok(Account {
            callers,
            campaigns,
            business_units: units,
            job_types,
        })
    }

    /// The phone system reports the call to ServiceTitan; returns ServiceTitan's call id.
    async fn report_call(&self, call: &DemoCall) -> anyhow::Result<i64> {
        let body = json!({
            "from": call.caller.phone, "to": BUSINESS_NUMBER, "duration_secs": call.duration_secs,
            "received_on": call.started.to_string(), "customer_id": call.caller.customer_id,
            "location_id": call.caller.location_id, "campaign_id": call.campaign.0, "agent_id": AGENT_ID,
        });
        self.create("calls", &body).await
    }

    /// The agent books a job with one appointment in the coming days; returns the job id.
    async fn book_job(&self, call: &DemoCall) -> anyhow::Result<i64> {
        let start = call.started + (24 * (1 + call.index as i64 % 4)).hours();
        let body = json!({
            "customer_id": call.caller.customer_id, "location_id": call.caller.location_id,
            "business_unit_id": call.business_unit.0, "job_type_id": call.job_type_id,
            "campaign_id": call.campaign.0, "summary": "Booked by the AI agent (demo)",
            "appointment": {"start": start.to_string(), "end": (start + 2.hours()).to_string()},
        });
        self.create("jobs", &body).await
    }

    /// Creates one of the tenant's `records` (calls, jobs) in st-sim; returns its id.
    async fn create(&self, records: &str, body: &serde_json::Value) -> anyhow::Result<i64> {
        let created = self
            .sim(
                reqwest::Method::POST,
                &self.tenant_path(records),
                Some(body),
            )
            .await?;
        created["id"]
            .as_i64()
            .with_context(|| format!("st-sim's answer to a new record in {records} has no id"))
    }

    /// Twilio's status callbacks for the call, each signed over the public URL.
    async fn twilio_lifecycle(&self, call: &DemoCall) -> anyhow::Result<()> {
        let sid = format!("CA{}{:024x}", self.run, call.index);
        let ended = call.started + call.duration_secs.seconds();
        let duration = call.duration_secs.to_string();
        let mut steps = vec![("initiated", call.started, None)];
        if call.class != "abandoned" {
            steps.push(("in-progress", call.started + 2.seconds(), None));
        }
        steps.push(("completed", ended, Some(duration.as_str())));
        for (status, at, duration) in steps {
            let stamp = jiff::fmt::rfc2822::to_string(&at.to_zoned(TimeZone::UTC))?;
            let mut params = vec![
                ("CallSid", sid.as_str()),
                ("AccountSid", "ACdemo0000000000000000000000000000"),
                ("From", call.caller.phone.as_str()),
                ("To", BUSINESS_NUMBER),
                ("Direction", "inbound"),
                ("CallStatus", status),
                ("Timestamp", stamp.as_str()),
            ];
            if let Some(d) = duration {
                params.push(("CallDuration", d));
            }
            let signature = sign::twilio_form(
                self.target.twilio_token.expose_secret().as_bytes(),
                &self.target.twilio_url,
                &params,
                MacAlgorithm::Sha1,
            );
            let request = self
                .http
                .post(format!("{}{}", self.ingest, self.target.twilio_path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Twilio-Signature", signature)
                .body(sign::form_encode(&params));
            self.deliver(request, "twilio").await?;
        }
        Ok(())
    }

    /// The agent's end-of-call report.
    async fn outcome(&self, call: &DemoCall, st_call: i64, job: Option<i64>) -> anyhow::Result<()> {
        let ended = call.started + call.duration_secs.seconds();
        let mut servicetitan = json!({"call_id": st_call});
        if let Some(job) = job {
            servicetitan["job_id"] = json!(job);
        }
        let summary = match call.class {
            "booked" => "Caller's AC is not cooling; booked a technician visit.",
            "unbooked" => "Caller asked about pricing for a water heater; will call back.",
            "excused" => "Caller hung up before a booking was possible.",
            "not_lead" => "Vendor calling to sell advertising.",
            _ => "Caller hung up before the agent answered.",
        };
        let body = json!({
            "type": "call.outcome", "occurred_at": ended.to_string(),
            "call": {"id": self.agent_call_id(call), "from": call.caller.phone, "to": BUSINESS_NUMBER,
                     "started_at": call.started.to_string(), "ended_at": ended.to_string()},
            "outcome": call.class, "servicetitan": servicetitan, "summary": summary,
            "agent": "ava-hvac", "business_unit": call.business_unit.1, "campaign": call.campaign.1,
        });
        self.agent_report(&format!("msg_{}_{}", self.run, call.index), &body)
            .await
    }

    fn agent_call_id(&self, call: &DemoCall) -> String {
        format!("ag_{}_{}", self.run, call.index)
    }

    /// A Standard Webhooks-signed delivery to the agent source.
    async fn agent_report(&self, id: &str, body: &Value) -> anyhow::Result<()> {
        let body = serde_json::to_vec(body)?;
        let ts = Timestamp::now().as_second();
        let signature = sign::standard_webhooks(
            self.target.agent_secret.expose_secret(),
            id,
            ts,
            &body,
        )
        .with_context(|| {
            format!(
                "the agent source's secret for tenant `{}` is not a valid Standard Webhooks secret",
                self.target.tenant
            )
        })?;
        let request = self
            .http
            .post(format!("{}{}", self.ingest, self.target.agent_path))
            .header("Content-Type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body);
        self.deliver(request, "agent").await
    }

    /// The agent calls customers back about their appointments: most confirm, one
    /// reschedules. Returns how many reports were sent.
    async fn confirmations(&self, booked: &[(DemoCall, i64, i64)]) -> anyhow::Result<usize> {
        let tenant = self.sim_tenant().await?;
        let appointments = tenant["appointments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut sent = 0;
        for (i, (call, _, job)) in booked.iter().enumerate().filter(|(i, _)| i % 3 != 2) {
            let Some(appointment) = appointments
                .iter()
                .find(|a| a["job_id"] == *job)
                .and_then(|a| a["id"].as_i64())
            else {
                continue;
            };
            let occurred = (call.started + 1.hours()).min(Timestamp::now());
            let mut body = json!({
                "type": "appointment.confirmation", "occurred_at": occurred.to_string(),
                "call": {"id": format!("{}_confirm", self.agent_call_id(call))},
                "status": "confirmed", "servicetitan": {"job_id": job, "appointment_id": appointment},
            });
            if i == 1 {
                let start = call.started + 72.hours();
                body["status"] = json!("rescheduled");
                body["new_start"] = json!(start.to_string());
                body["new_end"] = json!((start + 2.hours()).to_string());
            }
            self.agent_report(&format!("msg_{}_{}_confirm", self.run, call.index), &body)
                .await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// A CSR marks up to three of the agent's booked calls Unbooked — after the calls worker
    /// set them Booked — and the demo waits for analytics and the calls worker to set them
    /// right again.
    async fn misclassify(
        &self,
        booked: &[(DemoCall, i64, i64)],
        wait_secs: u64,
        out: &mut (dyn Write + Send),
    ) -> anyhow::Result<()> {
        if wait_secs == 0 {
            return Ok(());
        }
        let picks: Vec<i64> = booked.iter().rev().take(3).map(|(_, id, _)| *id).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_secs);
        for id in &picks {
            self.wait_for(*id, "Booked", deadline).await.with_context(|| {
                format!("the calls worker did not set ServiceTitan call {id} Booked within {wait_secs} s (is `calls` running? see `switchboard dlq list`)")
            })?;
            let edit = json!({"call_type": "Unbooked"});
            self.sim(
                reqwest::Method::PATCH,
                &self.tenant_path(&format!("calls/{id}")),
                Some(&edit),
            )
            .await?;
        }
        writeln!(
            out,
            "demo: a CSR marked booked calls {picks:?} Unbooked in ServiceTitan; waiting for analytics to have them fixed"
        )?;
        for id in &picks {
            self.wait_for(*id, "Booked", deadline).await.with_context(|| {
                format!("ServiceTitan call {id} was not set Booked again within {wait_secs} s (is `analytics` running with auto_reclassify = \"on\"?)")
            })?;
        }
        writeln!(
            out,
            "demo: analytics found the discrepancies and the calls worker fixed them: {picks:?} are Booked again"
        )?;
        Ok(())
    }

    async fn wait_for(
        &self,
        call: i64,
        call_type: &str,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<()> {
        let path = self.tenant_path(&format!("calls/{call}"));
        loop {
            let last = match self.sim(reqwest::Method::GET, &path, None).await {
                Ok(c) if c["call_type"] == call_type => return Ok(()),
                Ok(c) => format!("it is {}", c["call_type"]),
                Err(e) => format!("{e:#}"),
            };
            if tokio::time::Instant::now() >= deadline {
                bail!("ServiceTitan call {call} is not {call_type}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Sends a delivery to ingest; a 503 (not stored, retry) or no answer is retried a few
    /// times, as providers do; anything else but 2xx is an error naming the source.
    async fn deliver(&self, request: reqwest::RequestBuilder, source: &str) -> anyhow::Result<()> {
        /// Why one attempt failed; only a 503 or no answer is worth another.
        enum Failed {
            Answered(reqwest::StatusCode, String),
            Unreachable(String),
        }
        // Checked once here, so each attempt's clone below cannot fail.
        let _ = request
            .try_clone()
            .context("a demo delivery cannot be retried")?;
        let request = &request;
        let delivered = (move || async move {
            let attempt = request.try_clone().expect("checked above");
            match attempt.send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => {
                    let status = r.status();
                    Err(Failed::Answered(status, r.text().await.unwrap_or_default()))
                }
                Err(e) => Err(Failed::Unreachable(switchboard_servicetitan::error_chain(
                    &e,
                ))),
            }
        })
        .retry(retry::attempts(
            5,
            Duration::from_millis(200),
            Duration::from_secs(2),
        ))
        .when(|f| match f {
            Failed::Answered(status, _) => status.as_u16() == 503,
            Failed::Unreachable(_) => true,
        })
        .await;
        match delivered {
            Ok(()) => Ok(()),
            Err(Failed::Answered(status, text)) => bail!(
                "ingest answered {status} to the demo's {source} delivery for tenant `{}`: {text}",
                self.target.tenant
            ),
            Err(Failed::Unreachable(cause)) => bail!(
                "cannot reach ingest at {} for the demo's {source} delivery: {cause}",
                self.ingest
            ),
        }
    }
}
