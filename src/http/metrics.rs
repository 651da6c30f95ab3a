//! Prometheus metrics kept by hand: request counts by method, route and status, and a
//! latency histogram per route. Extra gauges (queue depth, jobs) are rendered by
//! whoever owns them through `render_extra`.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    requests: RwLock<HashMap<(String, String, u16), Arc<AtomicU64>>>,
    latency: RwLock<HashMap<String, Arc<Histogram>>>,
}

fn get_or_insert<K, V>(map: &RwLock<HashMap<K, Arc<V>>>, key: K) -> Arc<V>
where
    K: std::hash::Hash + Eq,
    V: Default,
{
    if let Some(v) = map.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return v.clone();
    }
    map.write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        get_or_insert(
            &self.requests,
            (method.to_owned(), route.to_owned(), status),
        )
        .fetch_add(1, Ordering::Relaxed);
        let h = get_or_insert(&self.latency, route.to_owned());
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        h.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        let requests = self.requests.read().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = requests.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for ((method, route, status), n) in rows {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time from request to response, by route.\n",
        );
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        let latency = self.latency.read().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = latency.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (route, h) in rows {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/a", 200, Duration::from_micros(700));
        m.observe("GET", "/a", 200, Duration::from_millis(30));
        m.observe("GET", "/a", 404, Duration::from_millis(2));
        let text = m.render();
        assert!(text.contains(r#"http_requests_total{method="GET",route="/a",status="200"} 2"#));
        assert!(text.contains(r#"http_requests_total{method="GET",route="/a",status="404"} 1"#));
        assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/a",le="0.001"} 1"#));
        assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/a",le="0.0025"} 2"#));
        assert!(text.contains(r#"http_request_duration_seconds_bucket{route="/a",le="+Inf"} 3"#));
        assert!(text.contains(r#"http_request_duration_seconds_count{route="/a"} 3"#));
    }
}
