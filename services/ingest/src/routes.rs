//! The routing table: one entry per configured `(tenant, source)`, built once at start-up
//! with everything the hot path needs already resolved — the verifier, the NATS subject and
//! the metric handles — so a request costs two hash lookups and no allocation for them.

use crate::metrics::{IngestMetrics, SourceMetrics};
use std::collections::HashMap;
use std::sync::Arc;
use switchboard_config::Config;
use switchboard_signatures::{BuildError, Verifier, build_verifier};

#[derive(Debug)]
pub(crate) struct SourceRoute {
    pub tenant: String,
    pub source: String,
    pub verifier: Box<dyn Verifier>,
    pub subject: String,
    pub metrics: SourceMetrics,
    /// How this source's tool calls are written (`POST /v1/tools/…`).
    pub tools: crate::tools::ToolFormat,
    /// Its rejections' rate cap, body prefix and counters (REJECTED).
    pub rejected: crate::rejected::SourceRecorder,
}

#[derive(Debug)]
pub(crate) struct TenantRoutes {
    pub sources: HashMap<String, Arc<SourceRoute>>,
    pub metrics: crate::metrics::TenantMetrics,
}

#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    pub tenants: HashMap<String, TenantRoutes>,
}

impl RouteTable {
    pub(crate) fn build(config: &Config, metrics: &IngestMetrics) -> Result<Self, BuildError> {
        let mut tenants = HashMap::new();
        for (tenant, tenant_config) in &config.tenants {
            let mut sources = HashMap::new();
            for (source, source_config) in &tenant_config.sources {
                let key = format!("tenants.{tenant}.sources.{source}");
                let verifier = build_verifier(&key, source_config)?;
                sources.insert(
                    source.to_string(),
                    Arc::new(SourceRoute {
                        tenant: tenant.to_string(),
                        source: source.to_string(),
                        subject: switchboard_bus::inbound_subject(tenant.as_str(), source.as_str()),
                        metrics: metrics.source(tenant.as_str(), source.as_str()),
                        tools: crate::tools::ToolFormat::of(source_config),
                        rejected: crate::rejected::SourceRecorder::new(
                            config.ingest.rejected.per_source_per_sec,
                            source_config.record_rejected_body_bytes(),
                            &metrics.rejections,
                            tenant.as_str(),
                            source.as_str(),
                        ),
                        verifier,
                    }),
                );
            }
            tenants.insert(
                tenant.to_string(),
                TenantRoutes {
                    sources,
                    metrics: metrics.tenant(tenant.as_str()),
                },
            );
        }
        Ok(Self { tenants })
    }
}
