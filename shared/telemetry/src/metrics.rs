//! A small Prometheus registry with text exposition (format 0.0.4).
//!
//! Why not a metrics crate: the services know every label value they will use at start-up
//! (tenants and sources come from config), so the hot path can hold plain `Arc<Atomic*>`
//! handles resolved once — no label hashing, no locks, no allocation per request. What is
//! left is a few dozen lines of text encoding, which is easier to own than to adapt.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The content type of [`Registry::render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A monotonically increasing count.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.inc_by(1);
    }
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A cumulative histogram with fixed bucket bounds.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: Vec<f64>,
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum in nanounits, so it can be an atomic integer.
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Self(Arc::new(HistogramInner {
            bounds: bounds.to_vec(),
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }))
    }

    pub fn observe(&self, value: f64) {
        let h = &self.0;
        if let Some(i) = h.bounds.iter().position(|b| value <= *b) {
            h.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        // Saturating conversion: negative or NaN observations count as zero.
        h.sum_nanos
            .fetch_add((value * 1e9).max(0.0) as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }
}

/// Latency buckets in seconds, from 250 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug)]
enum Child {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

#[derive(Debug)]
struct FamilyInner {
    name: String,
    help: String,
    kind: Kind,
    label_names: Vec<&'static str>,
    buckets: Vec<f64>,
    children: RwLock<BTreeMap<Vec<String>, Child>>,
}

/// A labelled metric family; `with` resolves (and creates) one child per label-value set.
#[derive(Debug, Clone)]
pub struct MetricVec<T> {
    family: Arc<FamilyInner>,
    _marker: std::marker::PhantomData<T>,
}

pub type CounterVec = MetricVec<Counter>;
pub type GaugeVec = MetricVec<Gauge>;
pub type HistogramVec = MetricVec<Histogram>;

macro_rules! with_impl {
    ($t:ident, $make:expr) => {
        impl MetricVec<$t> {
            /// The child for `values` (one per label name, in order). Resolve once, keep it.
            pub fn with(&self, values: &[&str]) -> $t {
                assert_eq!(
                    values.len(),
                    self.family.label_names.len(),
                    "label count for {}",
                    self.family.name
                );
                let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
                if let Some(Child::$t(c)) =
                    self.family.children.read().expect("metrics lock").get(&key)
                {
                    return c.clone();
                }
                let mut children = self.family.children.write().expect("metrics lock");
                let make: &dyn Fn(&FamilyInner) -> $t = &$make;
                match children
                    .entry(key)
                    .or_insert_with(|| Child::$t(make(&self.family)))
                {
                    Child::$t(c) => c.clone(),
                    _ => unreachable!("family kind is fixed at registration"),
                }
            }
        }
    };
}
with_impl!(Counter, |_| Counter::default());
with_impl!(Gauge, |_| Gauge::default());
with_impl!(Histogram, |f| Histogram::new(&f.buckets));

/// Sets `switchboard_tenant_feature_ok{tenant,feature}`: `(tenant, feature, ok)`.
pub type FeatureGauge = Arc<dyn Fn(&str, &str, bool) + Send + Sync>;

/// Counts one ServiceTitan request: `(tenant, operation, status, latency)` (the shape of
/// `switchboard_servicetitan::Observer`).
pub type StRequestObserver =
    Arc<dyn Fn(&str, &'static str, Option<u16>, std::time::Duration) + Send + Sync>;

/// All metrics of one process, rendered by `GET /metrics`.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    families: Arc<Mutex<Vec<Arc<FamilyInner>>>>,
}

impl Registry {
    fn register(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[&'static str],
        buckets: &[f64],
    ) -> Arc<FamilyInner> {
        let family = Arc::new(FamilyInner {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            label_names: labels.to_vec(),
            buckets: buckets.to_vec(),
            children: RwLock::default(),
        });
        self.families
            .lock()
            .expect("metrics lock")
            .push(family.clone());
        family
    }

    fn vec<T>(family: Arc<FamilyInner>) -> MetricVec<T> {
        MetricVec {
            family,
            _marker: std::marker::PhantomData,
        }
    }

    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&'static str]) -> CounterVec {
        Self::vec(self.register(name, help, Kind::Counter, labels, &[]))
    }

    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&'static str]) -> GaugeVec {
        Self::vec(self.register(name, help, Kind::Gauge, labels, &[]))
    }

    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&'static str],
        buckets: &[f64],
    ) -> HistogramVec {
        Self::vec(self.register(name, help, Kind::Histogram, labels, buckets))
    }

    /// One family with a single label whose values are all known up front (an outcome, a
    /// status), resolved at once: the counters in the order of `values`.
    pub fn counters<const N: usize>(
        &self,
        name: &str,
        help: &str,
        label: &'static str,
        values: [&str; N],
    ) -> [Counter; N] {
        let family = self.counter_vec(name, help, &[label]);
        values.map(|v| family.with(&[v]))
    }

    pub fn counter(&self, name: &str, help: &str) -> Counter {
        self.counter_vec(name, help, &[]).with(&[])
    }

    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        self.gauge_vec(name, help, &[]).with(&[])
    }

    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        self.histogram_vec(name, help, &[], buckets).with(&[])
    }

    /// `switchboard_tenant_feature_ok{tenant,feature}`, set by the doctor at start
    /// (`switchboard_servicetitan::doctor::spawn_at_start`) in every service that talks
    /// to ServiceTitan: 1 when a configured feature can work, 0 when it cannot.
    pub fn tenant_feature_ok(&self) -> FeatureGauge {
        let gauge = self.gauge_vec(
            "switchboard_tenant_feature_ok",
            "1 when a configured feature of a tenant can work against ServiceTitan (the doctor at start), 0 when it cannot.",
            &["tenant", "feature"],
        );
        Arc::new(move |tenant, feature, ok| gauge.with(&[tenant, feature]).set(i64::from(ok)))
    }

    /// `switchboard_{service}_servicetitan_requests_total{tenant,operation,status}`: every
    /// ServiceTitan API request a service makes, by its final HTTP status (`none`: no
    /// response). The alerts on a tenant's ServiceTitan auth read it.
    pub fn servicetitan_requests(&self, service: &str) -> StRequestObserver {
        let requests = self.counter_vec(
            &format!("switchboard_{service}_servicetitan_requests_total"),
            "ServiceTitan API requests by tenant, operation and final HTTP status (none: no response).",
            &["tenant", "operation", "status"],
        );
        Arc::new(move |tenant, operation, status, _latency| {
            let status = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
            requests.with(&[tenant, operation, &status]).inc();
        })
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        for f in self.families.lock().expect("metrics lock").iter() {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            for (values, child) in f.children.read().expect("metrics lock").iter() {
                let labels = label_string(&f.label_names, values, None);
                match child {
                    Child::Counter(c) => {
                        let _ = writeln!(out, "{}{labels} {}", f.name, c.get());
                    }
                    Child::Gauge(g) => {
                        let _ = writeln!(out, "{}{labels} {}", f.name, g.get());
                    }
                    Child::Histogram(h) => {
                        let mut cumulative = 0;
                        for (bound, n) in h.0.bounds.iter().zip(&h.0.buckets) {
                            cumulative += n.load(Ordering::Relaxed);
                            let le = label_string(&f.label_names, values, Some(&bound.to_string()));
                            let _ = writeln!(out, "{}_bucket{le} {cumulative}", f.name);
                        }
                        let count = h.count();
                        let inf = label_string(&f.label_names, values, Some("+Inf"));
                        let _ = writeln!(out, "{}_bucket{inf} {count}", f.name);
                        let sum = h.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
                        let _ = writeln!(out, "{}_sum{labels} {sum}", f.name);
                        let _ = writeln!(out, "{}_count{labels} {count}", f.name);
                    }
                }
            }
        }
        out
    }
}

fn label_string(names: &[&str], values: &[String], le: Option<&str>) -> String {
    if names.is_empty() && le.is_none() {
        return String::new();
    }
    let mut s = String::from("{");
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{n}=\"{}\"", escape_value(v));
    }
    if let Some(le) = le {
        if !names.is_empty() {
            s.push(',');
        }
        let _ = write!(s, "le=\"{le}\"");
    }
    s.push('}');
    s
}

fn escape_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
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
        assert!(text.contains("# TYPE x_requests_total counter\n"), "{text}");
        assert!(
            text.contains("x_requests_total{tenant=\"acme\",outcome=\"accepted\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("x_in_flight 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"0.1\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"1\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("x_seconds_count 3\n"), "{text}");
        assert!(text.contains("x_seconds_sum 5.55"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let r = Registry::default();
        r.counter_vec("y_total", "Y.", &["v"])
            .with(&["a\"b\\c\nd"])
            .inc();
        assert!(r.render().contains("y_total{v=\"a\\\"b\\\\c\\nd\"} 1"));
    }
}
