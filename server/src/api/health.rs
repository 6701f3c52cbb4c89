//! `/healthz` (the process answers) and `/readyz` (it can do its work), for container health
//! checks and load balancers. Both stay open when access control is on; neither reveals
//! anything but yes or no.

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use serde_json::{json, Value};

use super::ApiState;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when every check passes, 503 otherwise; the body names the checks.
async fn readyz(State(service): State<ApiState>) -> (StatusCode, Json<Value>) {
    let checks = service.readiness().await;
    let (status, word) = if checks.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (status, Json(json!({ "status": word, "checks": checks })))
}
