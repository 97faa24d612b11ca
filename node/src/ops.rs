//! The ops port: `/metrics`, `/health` (the process is up and its engine thread has not
//! failed) and `/ready` (the engine is running and taking commands).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cex_gateway::GatewayStats;
use cex_history::HistoryProgress;
use cex_runtime::{EngineState, Monitor};
use cex_trading::SharedReadModel;
use serde_json::json;

use crate::http::HttpServer;
use crate::metrics::MetricsRenderer;

struct Ops {
    metrics: MetricsRenderer,
    monitor: Monitor,
}

/// The ops HTTP server, on a single-threaded tokio runtime of its own: it must never
/// compete with the engine for more than a sliver of one core.
pub fn start(
    address: SocketAddr,
    monitor: Monitor,
    gateway: Arc<GatewayStats>,
    read_model: Arc<SharedReadModel>,
    history: Option<Arc<HistoryProgress>>,
) -> std::io::Result<HttpServer> {
    let listener = std::net::TcpListener::bind(address)?;
    let ops = Arc::new(Ops { metrics: MetricsRenderer::new(monitor.clone(), gateway, read_model, history), monitor });
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .fallback(not_found)
        .with_state(ops);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    HttpServer::spawn("cex-ops", runtime, listener, router)
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    let body = ops.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn state_name(state: EngineState) -> &'static str {
    match state {
        EngineState::Running => "running",
        EngineState::Draining => "draining",
        EngineState::Stopped => "stopped",
        EngineState::Failed => "failed",
    }
}

fn status_body(ops: &Ops) -> serde_json::Value {
    json!({
        "engine": state_name(ops.monitor.stats().state()),
        "journal_sequence": ops.monitor.published_seq(),
        "durable_sequence": ops.monitor.durable_seq(),
    })
}

async fn health(State(ops): State<Arc<Ops>>) -> Response {
    let healthy = ops.monitor.stats().state() != EngineState::Failed;
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status_body(&ops))).into_response()
}

async fn ready(State(ops): State<Arc<Ops>>) -> Response {
    let ready = ops.monitor.stats().state() == EngineState::Running;
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status_body(&ops))).into_response()
}

async fn not_found() -> Response {
    let body = json!({"code": 404, "msg": "no such endpoint on the ops port: try /metrics, /health or /ready"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
