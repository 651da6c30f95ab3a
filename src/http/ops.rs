//! Operations: liveness, readiness, Prometheus metrics.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::AppState;
use crate::actors::user_registry::CacheStats;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
}

/// `ok` from /healthz, `ready` from /readyz.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Ready,
}

/// 200 while the process serves.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: HealthStatus::Ok,
    })
}

/// 200 when the database and the job queue answer, else 503 naming what is down.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "A dependency is down", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    state.monitor.readiness().await?;
    Ok(web::Json(Health {
        status: HealthStatus::Ready,
    }))
}

/// Prometheus text format.
#[utoipa::path(
    tag = "ops",
    responses((status = 200, description = "Prometheus exposition format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    use std::fmt::Write;
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = state.metrics.render();
    out.push_str(&state.db_ops.render());
    if let Ok(jobs) = state.monitor.counters().await {
        out.push_str(
            "# HELP photoshare_jobs_total Transformation jobs handled by this process, by outcome.\n",
        );
        out.push_str("# TYPE photoshare_jobs_total counter\n");
        for (outcome, n) in [
            ("done", jobs.done),
            ("retried", jobs.retried),
            ("failed", jobs.failed),
        ] {
            let _ = writeln!(out, "photoshare_jobs_total{{outcome=\"{outcome}\"}} {n}");
        }
        single(
            &mut out,
            "photoshare_queue_queries_total",
            "counter",
            "Queue snapshots taken from the broker (or in-process queue) for reports.",
            jobs.queue_queries,
        );
        single(
            &mut out,
            "photoshare_admin_streams",
            "gauge",
            "Admin queue streams open on this process.",
            jobs.streams,
        );
    }
    let pool = state.workers.stats();
    single(
        &mut out,
        "photoshare_renders_total",
        "counter",
        "Images and QR codes rendered by this process's render pool.",
        pool.renders.load(Relaxed),
    );
    single(
        &mut out,
        "photoshare_variant_renders_total",
        "counter",
        "Display sizes made by this process (each once, however many asked at once).",
        state.variants_made.renders.load(Relaxed),
    );
    single(&mut out, "photoshare_baseline_copies_total", "counter", "Baseline copies of progressive JPEG originals made by this process (each once, read by later renders).", state.variants_made.baseline_copies.load(Relaxed));
    single(
        &mut out,
        "photoshare_renderer_restarts_total",
        "counter",
        "Renderers replaced after a panic.",
        pool.restarts.load(Relaxed),
    );
    if let Ok((hits, misses)) = state.registry.ask(CacheStats).await {
        out.push_str("# HELP photoshare_principal_cache_total Authenticated requests answered from this worker's principals cache, or read from the database.\n");
        out.push_str("# TYPE photoshare_principal_cache_total counter\n");
        let _ = writeln!(
            out,
            "photoshare_principal_cache_total{{result=\"hit\"}} {hits}"
        );
        let _ = writeln!(
            out,
            "photoshare_principal_cache_total{{result=\"miss\"}} {misses}"
        );
    }
    if let Ok(report) = state.monitor.report().await {
        out.push_str("# HELP photoshare_queue_depth Jobs waiting in a queue.\n");
        out.push_str("# TYPE photoshare_queue_depth gauge\n");
        for q in &report.queues {
            let _ = writeln!(
                out,
                "photoshare_queue_depth{{queue=\"{}\"}} {}",
                q.name, q.ready
            );
        }
        out.push_str("# HELP photoshare_queue_unacked Jobs delivered and not yet acknowledged.\n");
        out.push_str("# TYPE photoshare_queue_unacked gauge\n");
        for q in &report.queues {
            let _ = writeln!(
                out,
                "photoshare_queue_unacked{{queue=\"{}\"}} {}",
                q.name, q.unacked
            );
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

/// One metric with one value and no labels, with its `HELP` and `TYPE` lines.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
    );
}
