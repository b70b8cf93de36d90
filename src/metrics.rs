//! Prometheus metrics, process-wide like the logger. Counters and histograms
//! are bumped where things happen (a request, a token, an audited event, a
//! pool checkout, a background job run); gauges that describe state (pool,
//! feed, signing key) are read when `/metrics` is scraped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    tokens_issued: IntCounterVec,
    events: IntCounterVec,
    pool_wait: Histogram,
    jobs: IntCounterVec,
    pool_connections: IntGaugeVec,
    feed_entries: IntGauge,
    key_age: IntGauge,
}

/// Latency buckets in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

// Built once; `None` only if the fixed names below were invalid, in which
// case nothing is counted and `/metrics` reports the failure.
static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match Metrics::new() {
    Ok(m) => Some(m),
    Err(e) => {
        log::error!("metrics disabled: {e}");
        None
    }
});

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("tessera".into()), None)?;
        let m = Metrics {
            http_requests: IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests by route and status."),
                &["route", "status"],
            )?,
            http_duration: HistogramVec::new(
                HistogramOpts::new("http_request_duration_seconds", "HTTP request latency.")
                    .buckets(BUCKETS.to_vec()),
                &["route"],
            )?,
            tokens_issued: IntCounterVec::new(
                Opts::new(
                    "tokens_issued_total",
                    "Access tokens issued by /token, by grant type (refresh_token: rotations).",
                ),
                &["grant_type"],
            )?,
            events: IntCounterVec::new(
                Opts::new(
                    "events_total",
                    "Audited events: sign_in.succeeded/failed/throttled, refresh.reuse_detected, token.revoked, session.revoked, keys.rotated, ...",
                ),
                &["event"],
            )?,
            pool_wait: Histogram::with_opts(
                HistogramOpts::new(
                    "db_pool_wait_seconds",
                    "Time a request waited for a database connection.",
                )
                .buckets(BUCKETS.to_vec()),
            )?,
            jobs: IntCounterVec::new(
                Opts::new(
                    "background_job_runs_total",
                    "Runs of the key check and housekeeping, by outcome.",
                ),
                &["job", "outcome"],
            )?,
            pool_connections: IntGaugeVec::new(
                Opts::new("db_pool_connections", "Database pool connections by state."),
                &["state"],
            )?,
            feed_entries: IntGauge::new(
                "revocation_feed_entries",
                "Entries on the revocation feed.",
            )?,
            key_age: IntGauge::new(
                "signing_key_age_seconds",
                "Seconds since the longest-serving active signing key started signing.",
            )?,
            registry,
        };
        let r = &m.registry;
        r.register(Box::new(m.http_requests.clone()))?;
        r.register(Box::new(m.http_duration.clone()))?;
        r.register(Box::new(m.tokens_issued.clone()))?;
        r.register(Box::new(m.events.clone()))?;
        r.register(Box::new(m.pool_wait.clone()))?;
        r.register(Box::new(m.jobs.clone()))?;
        r.register(Box::new(m.pool_connections.clone()))?;
        r.register(Box::new(m.feed_entries.clone()))?;
        r.register(Box::new(m.key_age.clone()))?;
        Ok(m)
    }
}

/// Counts one request to `route` (its pattern, so ids never become labels).
pub fn request(route: &str, status: u16, seconds: f64) {
    if let Some(m) = &*METRICS {
        m.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        m.http_duration.with_label_values(&[route]).observe(seconds);
    }
}

/// Counts an access token issued with `grant_type`.
pub fn token_issued(grant_type: &str) {
    if let Some(m) = &*METRICS {
        m.tokens_issued.with_label_values(&[grant_type]).inc();
    }
}

/// Counts an audited event. An event recorded inside a transaction that is
/// later retried can be counted once per attempt.
pub fn event(action: &str) {
    if let Some(m) = &*METRICS {
        m.events.with_label_values(&[action]).inc();
    }
}

/// Records how long a connection checkout took.
pub fn pool_wait(seconds: f64) {
    if let Some(m) = &*METRICS {
        m.pool_wait.observe(seconds);
    }
}

/// Counts one run of a background job.
pub fn job(name: &str, ok: bool) {
    if let Some(m) = &*METRICS {
        let outcome = if ok { "ok" } else { "failed" };
        m.jobs.with_label_values(&[name, outcome]).inc();
    }
}

/// State read at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub pool_in_use: u32,
    pub pool_idle: u32,
    pub feed_entries: Option<i64>,
    pub key_age: Option<i64>,
}

/// The text exposition format, with `snapshot` set first.
pub fn render(snapshot: Snapshot) -> Result<String, String> {
    let m = METRICS.as_ref().ok_or("metrics are disabled")?;
    m.pool_connections
        .with_label_values(&["in_use"])
        .set(i64::from(snapshot.pool_in_use));
    m.pool_connections
        .with_label_values(&["idle"])
        .set(i64::from(snapshot.pool_idle));
    if let Some(n) = snapshot.feed_entries {
        m.feed_entries.set(n);
    }
    if let Some(age) = snapshot.key_age {
        m.key_age.set(age);
    }
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut out)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}
