//! Prometheus metrics, on `prometheus-client` (the Prometheus project's own Rust client).
//!
//! Services register every family at start-up and resolve each label set they will use
//! once, into a plain handle (`Counter`, `Gauge`, `Histogram`: an `Arc` around atomics). The
//! hot path then only touches atomics: no label hashing, no lock, no allocation per message.
//! [`MetricVec::with`] is that resolution step; it takes the family's lock, so it belongs in
//! set-up code, not in a per-message handler.
//!
//! `GET /metrics` answers OpenMetrics 1.0 text, which Prometheus scrapes natively. Names,
//! labels and values are the ones the services always exposed (docs/runbook.md).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use std::sync::{Arc, Mutex};

pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::metrics::gauge::Gauge;
pub use prometheus_client::metrics::histogram::Histogram;

/// The content type of [`Registry::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, from 250 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A label set in the family's label-name order.
type Labels = Vec<(&'static str, String)>;

/// Builds a family's histograms with the bucket bounds it was registered with.
#[derive(Debug, Clone)]
pub struct Buckets(Arc<[f64]>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// How a family makes a new child; counters and gauges start at zero.
#[derive(Debug, Clone, Default)]
pub struct Zero;

impl MetricConstructor<Counter> for Zero {
    fn new_metric(&self) -> Counter {
        Counter::default()
    }
}

impl MetricConstructor<Gauge> for Zero {
    fn new_metric(&self) -> Gauge {
        Gauge::default()
    }
}

/// A labelled metric family. [`MetricVec::with`] resolves one child per label-value set.
#[derive(Debug, Clone)]
pub struct MetricVec<T, C = Zero> {
    name: Arc<str>,
    label_names: Arc<[&'static str]>,
    family: Family<Labels, T, C>,
}

pub type CounterVec = MetricVec<Counter>;
pub type GaugeVec = MetricVec<Gauge>;
pub type HistogramVec = MetricVec<Histogram, Buckets>;

impl<T: Clone, C: MetricConstructor<T>> MetricVec<T, C> {
    /// The child for `values` (one per label name, in order). Resolve once, keep the handle.
    pub fn with(&self, values: &[&str]) -> T {
        assert_eq!(
            values.len(),
            self.label_names.len(),
            "label count for {}",
            self.name
        );
        let labels: Labels = self
            .label_names
            .iter()
            .zip(values)
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect();
        self.family.get_or_create(&labels).clone()
    }
}

/// All metrics of one process, rendered by `GET /metrics`.
#[derive(Debug, Clone, Default)]
pub struct Registry(Arc<Mutex<prometheus_client::registry::Registry>>);

impl Registry {
    fn family<T, C>(
        &self,
        name: &str,
        help: &str,
        labels: &[&'static str],
        family: Family<Labels, T, C>,
    ) -> MetricVec<T, C>
    where
        Family<Labels, T, C>: prometheus_client::registry::Metric + Clone,
    {
        let (registered, help) = Self::names(name, help);
        self.0
            .lock()
            .expect("metrics registry lock")
            .register(registered, help, family.clone());
        MetricVec {
            name: name.into(),
            label_names: labels.into(),
            family,
        }
    }

    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&'static str]) -> CounterVec {
        self.family(name, help, labels, Family::new_with_constructor(Zero))
    }

    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&'static str]) -> GaugeVec {
        self.family(name, help, labels, Family::new_with_constructor(Zero))
    }

    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&'static str],
        buckets: &[f64],
    ) -> HistogramVec {
        let constructor = Buckets(buckets.into());
        self.family(
            name,
            help,
            labels,
            Family::new_with_constructor(constructor),
        )
    }

    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.single(name, help, Counter::default())
    }

    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.single(name, help, Gauge::default())
    }

    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        self.single(name, help, Histogram::new(buckets.iter().copied()))
    }

    /// A metric without labels: registered as itself, so it renders as `name value`.
    fn single<M: prometheus_client::registry::Metric + Clone>(
        &self,
        name: &str,
        help: &str,
        metric: M,
    ) -> M {
        let (registered, help) = Self::names(name, help);
        self.0
            .lock()
            .expect("metrics registry lock")
            .register(registered, help, metric.clone());
        metric
    }

    /// The library appends `_total` to counters itself, and ends help text with a full stop.
    fn names<'a>(name: &'a str, help: &'a str) -> (&'a str, &'a str) {
        (
            name.strip_suffix("_total").unwrap_or(name),
            help.strip_suffix('.').unwrap_or(help),
        )
    }

    /// OpenMetrics 1.0 text ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        encode(&mut out, &self.0.lock().expect("metrics registry lock"))
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openmetrics_text() {
        let r = Registry::default();
        let c = r.counter_vec("x_requests_total", "Requests.", &["tenant", "outcome"]);
        c.with(&["acme", "accepted"]).inc_by(3);
        c.with(&["acme", "accepted"]).inc();
        let g = r.gauge("x_in_flight", "In flight.");
        g.inc();
        let h = r.histogram("x_seconds", "Latency.", &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        let text = r.render();
        assert!(text.contains("# TYPE x_requests counter\n"), "{text}");
        assert!(text.contains("# HELP x_requests Requests.\n"), "{text}");
        assert!(
            text.contains("x_requests_total{tenant=\"acme\",outcome=\"accepted\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("x_in_flight 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"0.1\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"1.0\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("x_seconds_count 3\n"), "{text}");
        assert!(text.contains("x_seconds_sum 5.55"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let r = Registry::default();
        r.counter_vec("y_total", "Y.", &["v"])
            .with(&["a\"b\\c\nd"])
            .inc();
        let text = r.render();
        assert!(text.contains("y_total{v=\"a\\\"b\\\\c\\nd\"} 1"), "{text}");
    }

    #[test]
    fn a_resolved_handle_is_the_family_child() {
        let r = Registry::default();
        let family = r.gauge_vec("z", "Z.", &["k"]);
        let held = family.with(&["a"]);
        held.set(7);
        assert_eq!(family.with(&["a"]).get(), 7);
        assert!(r.render().contains("z{k=\"a\"} 7\n"));
    }
}
