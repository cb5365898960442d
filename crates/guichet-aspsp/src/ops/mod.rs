//! The operations listener: plain HTTP, bound to 127.0.0.1 by default (`--ops-listen`),
//! apart from the mutual-TLS API and the PSU's pages, for the probes and the scraper:
//!
//! - `GET /health/live`: 200 `{"status":"live"}` while the process answers;
//! - `GET /health/ready`: 200 `{"status":"ready"}`, or 503
//!   `{"status":"not ready","reasons":[…]}` when the database does not answer, no trust
//!   anchor is loaded, or a shutdown has begun ([`health`]);
//! - `GET /metrics`: the Prometheus metrics in the OpenMetrics text format ([`metrics`]).
//!
//! Its requests go through none of the API's layers and are not counted in the metrics.

pub mod health;
pub mod metrics;

pub use health::Readiness;
pub use metrics::{Metrics, Operation, ScaOutcome};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::SharedState;

/// The routes of the operations listener.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` turns true (or its sender is dropped),
/// then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let stopped = async move {
        loop {
            let stop = *shutdown.borrow_and_update();
            if stop || shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stopped)
        .await
}

async fn live() -> Response {
    (StatusCode::OK, Json(json!({"status": "live"}))).into_response()
}

async fn ready(State(state): State<SharedState>) -> Response {
    match health::check(&state).await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
        Err(reasons) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reasons": reasons})),
        )
            .into_response(),
    }
}

/// The metrics as they stand, the database pool's gauges read now.
async fn scrape(State(state): State<SharedState>) -> Response {
    let (size, idle) = state.store.pool_state();
    state.metrics.db_pool(size, idle);
    state.metrics.page_cache(state.store.page_cache_stats());
    state.metrics.token_reads(
        state.store.batched_token_reads(),
        state.store.kept_token_reads(),
        state.store.stale_token_reads(),
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.encode(),
    )
        .into_response()
}
