//! The ops port: `/metrics`, `/health` (the process is up and its engine thread has not
//! failed) and `/ready` (the engine is running and taking commands).

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cex_runtime::{EngineState, Monitor};
use serde_json::json;
use tokio::sync::oneshot;

use crate::metrics::MetricsRenderer;

struct Ops {
    metrics: MetricsRenderer,
    monitor: Monitor,
}

/// The ops HTTP server, on a thread of its own with a single-threaded tokio runtime: it must
/// never compete with the engine for more than a sliver of one core.
pub struct OpsServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OpsServer {
    pub fn start(address: SocketAddr, monitor: Monitor) -> std::io::Result<OpsServer> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let ops = Arc::new(Ops { metrics: MetricsRenderer::new(monitor.clone()), monitor });
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/health", get(health))
            .route("/ready", get(ready))
            .fallback(not_found)
            .with_state(ops);
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("cex-ops".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => return tracing::error!("ops listener: {error}"),
                };
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                    tracing::error!("ops server: {error}");
                }
            })
        })?;
        Ok(OpsServer { address, stop: Some(stop), thread: Some(thread) })
    }

    /// Where it listens (the port is resolved if the config asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.stop_now();
    }
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
