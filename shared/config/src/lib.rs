//! Switchboard's configuration: one TOML file shared by every service.
//!
//! Loading runs in four steps, each with errors that name the offending key:
//! 1. parse the TOML;
//! 2. expand `${VAR}` / `${VAR:-default}` and resolve `*_file` secrets ([`expand`]);
//! 3. deserialize into [`Config`], rejecting unknown keys (with their path);
//! 4. apply the environment overrides (`SWITCHBOARD_NATS_URL`, `SWITCHBOARD_NATS_REPLICAS`, `SWITCHBOARD_INGEST_LISTEN`)
//!    and validate what types alone cannot express.
//!
//! Secrets are [`secrecy::SecretString`]: their `Debug` is redacted and they are never part
//! of an error message.

mod booking;
mod class;
pub mod expand;
mod fingerprint;
mod model;
mod name;
mod ops;
mod source;

pub use booking::{BookingConfig, TenantBooking};
pub use class::CallClass;
pub use expand::{Env, ProcessEnv};
pub use fingerprint::Fingerprint;
pub use model::*;
pub use name::Name;
pub use ops::{AdminConfig, DoctorConfig, RejectedConfig, TelemetryConfig};
pub use source::*;

use std::path::{Path, PathBuf};

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "SWITCHBOARD_CONFIG";
/// Overrides `nats.url`.
pub const NATS_URL_ENV: &str = "SWITCHBOARD_NATS_URL";
/// Overrides `nats.replicas` (docker-compose.cluster.yml sets 3).
pub const NATS_REPLICAS_ENV: &str = "SWITCHBOARD_NATS_REPLICAS";
/// Overrides `ingest.listen`.
pub const INGEST_LISTEN_ENV: &str = "SWITCHBOARD_INGEST_LISTEN";
/// Overrides `analytics.listen`.
pub const ANALYTICS_LISTEN_ENV: &str = "SWITCHBOARD_ANALYTICS_LISTEN";
/// Overrides `router.listen`.
pub const ROUTER_LISTEN_ENV: &str = "SWITCHBOARD_ROUTER_LISTEN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file: pass --config <path> or set {CONFIG_ENV} (see docs/configuration.md)")]
    NoConfigFile,
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config is not valid TOML: {0}")]
    Toml(String),
    #[error(
        "config key `{key}` uses ${{{variable}}}, but environment variable {variable} is not set (set it, or write ${{{variable}:-default}})"
    )]
    UnsetVariable { variable: String, key: String },
    #[error("config key `{key}`: cannot read secret file {path}: {reason}")]
    SecretFile {
        key: String,
        path: String,
        reason: String,
    },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// A config from TOML text alone, with no environment: a `${VAR}` reference is an error
/// naming it, as an unset variable would be. For tools and tests that write the whole text.
impl std::str::FromStr for Config {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_str(text, &|_: &str| None)
    }
}

impl Config {
    /// Loads the file named by `--config` (if given) or `SWITCHBOARD_CONFIG`, using the
    /// process environment.
    pub fn load(cli_path: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match cli_path {
            Some(p) => p.to_path_buf(),
            None => std::env::var_os(CONFIG_ENV)
                .map(PathBuf::from)
                .ok_or(ConfigError::NoConfigFile)?,
        };
        Self::load_file(&path, &ProcessEnv)
    }

    pub fn load_file(path: &Path, env: &dyn Env) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        Self::from_toml_str(&text, env)
    }

    /// Parses, expands, deserializes, overrides and validates `text`.
    pub fn from_toml_str(text: &str, env: &dyn Env) -> Result<Self, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
            ConfigError::Toml(err.to_string().trim_end().to_owned())
        })?;
        expand::expand_table(&mut table, "", env)?;
        let fingerprint = Fingerprint::of(&table);
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|err| {
                let key = err.path().to_string();
                ConfigError::Invalid {
                    key: if key == "." {
                        "(top level)".into()
                    } else {
                        key
                    },
                    message: redact_serde_message(&err.into_inner().to_string()),
                }
            })?;
        config.apply_overrides(env)?;
        config.validate()?;
        config.fingerprint = fingerprint;
        Ok(config)
    }

    fn apply_overrides(&mut self, env: &dyn Env) -> Result<(), ConfigError> {
        if let Some(url) = env.var(NATS_URL_ENV).filter(|v| !v.is_empty()) {
            self.nats.url = url;
        }
        if let Some(replicas) = env.var(NATS_REPLICAS_ENV).filter(|v| !v.is_empty()) {
            self.nats.replicas = replicas.parse().map_err(|_| ConfigError::Invalid {
                key: format!("nats.replicas (from {NATS_REPLICAS_ENV})"),
                message: format!("`{replicas}` is not a number of stream replicas (1, 3 or 5)"),
            })?;
        }
        // Each service's listener, from its own variable (compose sets them per service).
        for (var, key, example, listen) in [
            (
                INGEST_LISTEN_ENV,
                "ingest.listen",
                8080,
                &mut self.ingest.listen,
            ),
            (
                ANALYTICS_LISTEN_ENV,
                "analytics.listen",
                8083,
                &mut self.analytics.listen,
            ),
            (
                ROUTER_LISTEN_ENV,
                "router.listen",
                8081,
                &mut self.router.listen,
            ),
        ] {
            if let Some(value) = env.var(var).filter(|v| !v.is_empty()) {
                *listen = value.parse().map_err(|_| ConfigError::Invalid {
                    key: format!("{key} (from {var})"),
                    message: format!("`{value}` is not a socket address like 0.0.0.0:{example}"),
                })?;
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        fn valid_consumer(name: &str) -> bool {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        for server in self.nats.url.split(',') {
            match server.trim().split_once("://") {
                Some(("nats" | "tls" | "ws" | "wss", _)) | None => {}
                Some(_) => {
                    return Err(invalid(
                        "nats.url",
                        format!("`{server}`: use a nats:// URL"),
                    ));
                }
            }
        }
        if self.nats.user.is_some() != self.nats.password.is_some() {
            return Err(invalid(
                "nats",
                "set both `user` and `password`, or neither".into(),
            ));
        }
        if !(1..=5).contains(&self.nats.replicas) {
            return Err(invalid("nats.replicas", "must be between 1 and 5".into()));
        }
        if self.nats.duplicate_window_secs < 1200 {
            return Err(invalid(
                "nats.duplicate_window_secs",
                "must be at least 1200 (20 minutes): providers retry for that long".into(),
            ));
        }
        if self.nats.request_timeout_secs == 0 {
            return Err(invalid("nats.request_timeout_secs", "must be > 0".into()));
        }
        if self.ingest.max_body_bytes == 0 || self.ingest.max_body_bytes > 64 * 1024 * 1024 {
            return Err(invalid(
                "ingest.max_body_bytes",
                "must be between 1 and 67108864".into(),
            ));
        }
        if self.ingest.body_timeout_secs == 0 {
            return Err(invalid("ingest.body_timeout_secs", "must be > 0".into()));
        }
        if self.ingest.publish_timeout_ms == 0 {
            return Err(invalid("ingest.publish_timeout_ms", "must be > 0".into()));
        }
        if self.ingest.max_in_flight == 0 {
            return Err(invalid("ingest.max_in_flight", "must be > 0".into()));
        }
        if !valid_consumer(&self.router.consumer) {
            return Err(invalid(
                "router.consumer",
                "use letters, digits, - and _".into(),
            ));
        }
        if self.router.max_deliver < 1 || self.router.batch == 0 || self.router.ack_wait_secs == 0 {
            return Err(invalid(
                "router",
                "max_deliver, batch and ack_wait_secs must be > 0".into(),
            ));
        }
        let a = &self.analytics;
        if a.max_deliver < 1
            || a.batch == 0
            || a.ack_wait_secs == 0
            || a.sweep_secs == 0
            || !valid_consumer(&a.consumer)
        {
            return Err(invalid(
                "analytics",
                "max_deliver, batch, ack_wait_secs and sweep_secs must be > 0; consumer: letters, digits, - and _".into(),
            ));
        }
        let b = &self.booking;
        if b.capacity_ttl_secs == 0
            || b.export_poll_secs == 0
            || b.hold_ttl_secs == 0
            || b.answers_ttl_days == 0
            || b.queue_group.is_empty()
        {
            return Err(invalid(
                "booking",
                "capacity_ttl_secs, export_poll_secs, hold_ttl_secs and answers_ttl_days must be > 0, and queue_group set".into(),
            ));
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid(
                "telemetry.otlp_endpoint",
                format!(
                    "`{endpoint}` is not an http:// or https:// URL of an OTLP/HTTP collector (port 4318)"
                ),
            ));
        }
        let r = &self.ingest.rejected;
        if r.per_source_per_sec == 0
            || r.queue == 0
            || r.max_age_hours == 0
            || r.max_bytes < 1024 * 1024
        {
            return Err(invalid(
                "ingest.rejected",
                "per_source_per_sec, queue and max_age_hours must be > 0 and max_bytes at least 1048576 (to stop recording, set enabled = false)".into(),
            ));
        }
        if self.ingest.tools_timeout_ms == 0 {
            return Err(invalid("ingest.tools_timeout_ms", "must be > 0".into()));
        }
        for (tenant, t) in &self.tenants {
            let priority = t.booking.default_priority.as_str();
            if !matches!(priority, "Low" | "Normal" | "High" | "Urgent") {
                return Err(invalid(
                    &format!("tenants.{tenant}.booking.default_priority"),
                    format!(
                        "`{priority}` is not one of ServiceTitan's priorities: Low, Normal, High, Urgent"
                    ),
                ));
            }
            if t.analytics.auto_reclassify != AutoReclassify::Off && t.servicetitan.is_none() {
                return Err(invalid(
                    &format!("tenants.{tenant}.analytics.auto_reclassify"),
                    format!(
                        "needs [tenants.{tenant}.servicetitan]: the calls worker applies the requests there"
                    ),
                ));
            }
        }
        if let Some(url) = &self.ingest.public_url {
            parse_public_url(url).map_err(|m| invalid("ingest.public_url", m))?;
        }
        for (tenant, t) in &self.tenants {
            if let Some(st) = &t.servicetitan {
                for (field, value) in [("api_base", &st.api_base), ("auth_base", &st.auth_base)] {
                    if let Some(v) = value
                        && !(v.starts_with("http://") || v.starts_with("https://"))
                    {
                        return Err(invalid(
                            &format!("tenants.{tenant}.servicetitan.{field}"),
                            "must be an http:// or https:// URL".into(),
                        ));
                    }
                }
                if st.rate_limit_per_sec == Some(0) {
                    return Err(invalid(
                        &format!("tenants.{tenant}.servicetitan.rate_limit_per_sec"),
                        "must be > 0".into(),
                    ));
                }
            }
            for (source, s) in &t.sources {
                let key = format!("tenants.{tenant}.sources.{source}");
                if s.secrets().is_empty() {
                    return Err(invalid(
                        &format!("{key}.secrets"),
                        "needs at least one secret (sources fail closed)".into(),
                    ));
                }
                if let Some(i) = s
                    .secrets()
                    .iter()
                    .position(|x| secrecy::ExposeSecret::expose_secret(x).is_empty())
                {
                    return Err(invalid(&format!("{key}.secrets[{i}]"), "is empty".into()));
                }
                if s.record_rejected_body_bytes() > 4096 {
                    return Err(invalid(
                        &format!("{key}.record_rejected_body_bytes"),
                        "must be at most 4096 (REJECTED keeps the first bytes, for inspection)"
                            .into(),
                    ));
                }
                if s.secret_in_body() && s.record_rejected_body_bytes() > 0 {
                    return Err(invalid(
                        &format!("{key}.record_rejected_body_bytes"),
                        format!(
                            "must be 0: scheme {}'s bodies carry the source's token, which \
                             REJECTED must never keep",
                            s.scheme_name()
                        ),
                    ));
                }
                if s.signs_url() && self.ingest.public_url.is_none() {
                    return Err(invalid(
                        "ingest.public_url",
                        format!(
                            "is required by {key} (scheme {} signs the URL it called): \
                             set it to the https:// address providers use",
                            s.scheme_name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every `(tenant, source)` pair, for services that iterate sources.
    pub fn sources(&self) -> impl Iterator<Item = (&Name, &Name, &SourceConfig)> {
        self.tenants
            .iter()
            .flat_map(|(t, tc)| tc.sources.iter().map(move |(s, sc)| (t, s, sc)))
    }
}

/// serde's "invalid type: string \"<value>\", expected …" quotes the value, which may be a
/// secret (`secrets = "${KEY}"`): keep only what was expected. toml also repeats the path
/// on a second line ("in `...`"), which the error already names.
fn redact_serde_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    for prefix in ["invalid type: ", "invalid value: "] {
        if first.starts_with(prefix) {
            let expected = first.rsplit_once(", expected ").map_or("", |(_, e)| e);
            return format!("{}expected {expected}", prefix.replace(": ", ", "));
        }
    }
    first.to_owned()
}

/// Checks an absolute http(s) URL without query or fragment; returns it without a
/// trailing slash (ingest appends `/v1/hooks/...`).
pub fn parse_public_url(url: &str) -> Result<String, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("`{url}` is not a URL like https://hooks.example.com"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("`{url}` must start with http:// or https://")),
    }
    if uri.authority().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(format!("`{url}` must not have a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests;
