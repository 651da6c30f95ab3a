//! Operations: liveness, readiness, Prometheus metrics.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// 200 while the process serves.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
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
    let ping = tokio::time::timeout(Duration::from_secs(3), state.store.health.ping()).await;
    match ping {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %super::error::error_chain(&e), "readiness: database down");
            return Err(ApiError::DependencyDown("database"));
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            return Err(ApiError::DependencyDown("database"));
        }
    }
    match tokio::time::timeout(Duration::from_secs(3), state.queue.stats()).await {
        Ok(Ok(_)) => Ok(web::Json(Health { status: "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %super::error::error_chain(&e), "readiness: job queue down");
            Err(ApiError::DependencyDown("job queue"))
        }
        Err(_) => {
            tracing::warn!("readiness: job queue timed out");
            Err(ApiError::DependencyDown("job queue"))
        }
    }
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
    let jobs = &state.job_metrics;
    out.push_str(
        "# HELP photoshare_jobs_total Transformation jobs handled by this process, by outcome.\n",
    );
    out.push_str("# TYPE photoshare_jobs_total counter\n");
    for (outcome, n) in [
        ("done", &jobs.done),
        ("retried", &jobs.retried),
        ("failed", &jobs.failed),
    ] {
        let _ = writeln!(
            out,
            "photoshare_jobs_total{{outcome=\"{outcome}\"}} {}",
            n.load(Relaxed)
        );
    }
    if let Ok(queues) = state.queue.stats().await {
        out.push_str("# HELP photoshare_queue_depth Jobs waiting in a queue.\n");
        out.push_str("# TYPE photoshare_queue_depth gauge\n");
        for q in &queues {
            let _ = writeln!(
                out,
                "photoshare_queue_depth{{queue=\"{}\"}} {}",
                q.name, q.ready
            );
        }
        out.push_str("# HELP photoshare_queue_unacked Jobs delivered and not yet acknowledged.\n");
        out.push_str("# TYPE photoshare_queue_unacked gauge\n");
        for q in &queues {
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
