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

/// 200 when the database answers, else 503 naming what is down.
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
        Ok(Ok(())) => Ok(web::Json(Health { status: "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %super::error::error_chain(&e), "readiness: database down");
            Err(ApiError::DependencyDown("database"))
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            Err(ApiError::DependencyDown("database"))
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
