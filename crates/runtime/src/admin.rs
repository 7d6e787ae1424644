//! The admin server: `/livez`, `/readyz`, `/metrics`.
//!
//! `/livez` answers 200 while the process's event loop runs. `/readyz` answers 200 only when
//! every readiness check passes (NATS answers a JetStream request, Redis answers PING, …)
//! and shutdown has not started; otherwise 503 with one line per failing check.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use parley_bus::Bus;
use parley_state::ConversationStore;
use parley_telemetry::MetricsHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Error, Result};

/// One dependency `/readyz` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    /// A short name shown in `/readyz`.
    fn name(&self) -> &str;
    /// Ok when ready; otherwise what is wrong.
    async fn check(&self) -> std::result::Result<(), String>;
}

/// Readiness of the event bus.
pub struct BusCheck(pub Arc<dyn Bus>);

#[async_trait]
impl ReadinessCheck for BusCheck {
    fn name(&self) -> &str {
        "nats"
    }
    async fn check(&self) -> std::result::Result<(), String> {
        self.0.health().await.map_err(|e| e.to_string())
    }
}

/// Readiness of the conversation store.
pub struct StoreCheck(pub Arc<dyn ConversationStore>);

#[async_trait]
impl ReadinessCheck for StoreCheck {
    fn name(&self) -> &str {
        "redis"
    }
    async fn check(&self) -> std::result::Result<(), String> {
        self.0.health().await.map_err(|e| e.to_string())
    }
}

#[derive(Clone)]
struct AdminState {
    checks: Arc<Vec<Arc<dyn ReadinessCheck>>>,
    metrics: Option<MetricsHandle>,
    shutting_down: CancellationToken,
    check_timeout: Duration,
}

/// The admin server.
pub struct AdminServer {
    state: AdminState,
}

impl AdminServer {
    /// A server with these readiness checks; `/readyz` turns 503 once `shutdown` is
    /// cancelled.
    pub fn new(
        checks: Vec<Arc<dyn ReadinessCheck>>,
        metrics: Option<MetricsHandle>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            state: AdminState {
                checks: Arc::new(checks),
                metrics,
                shutting_down: shutdown,
                check_timeout: Duration::from_secs(2),
            },
        }
    }

    /// The routes, for embedding or tests.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/livez", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self.state.clone())
    }

    /// Serves on `listener` until `stop` is cancelled. Keep it running through the drain
    /// (readiness already says 503) and stop it last.
    pub async fn serve(self, listener: TcpListener, stop: CancellationToken) -> Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(|e| Error::Admin(e.to_string()))
    }
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    if state.shutting_down.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        );
    }
    let results = futures::future::join_all(state.checks.iter().map(|check| {
        let timeout = state.check_timeout;
        async move {
            let outcome = tokio::time::timeout(timeout, check.check())
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
            (check.name().to_owned(), outcome)
        }
    }))
    .await;
    let mut body = String::new();
    let mut ready = true;
    for (name, outcome) in results {
        match outcome {
            Ok(()) => body.push_str(&format!("{name}: ok\n")),
            Err(reason) => {
                ready = false;
                body.push_str(&format!("{name}: {reason}\n"));
            }
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    match state.metrics {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (
            StatusCode::NOT_FOUND,
            "metrics are not enabled\n".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt as _;

    use super::*;

    struct Fixed(&'static str, std::result::Result<(), String>);

    #[async_trait]
    impl ReadinessCheck for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        async fn check(&self) -> std::result::Result<(), String> {
            self.1.clone()
        }
    }

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_reflects_checks_and_shutdown() {
        let token = CancellationToken::new();
        let ok = AdminServer::new(
            vec![
                Arc::new(Fixed("nats", Ok(()))),
                Arc::new(Fixed("redis", Ok(()))),
            ],
            None,
            token.clone(),
        );
        assert_eq!(get(ok.router(), "/livez").await.0, StatusCode::OK);
        let (status, body) = get(ok.router(), "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        token.cancel();
        assert_eq!(
            get(ok.router(), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );

        let failing = AdminServer::new(
            vec![Arc::new(Fixed("redis", Err("connection refused".into())))],
            None,
            CancellationToken::new(),
        );
        let (status, body) = get(failing.router(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("redis: connection refused"), "{body}");
    }

    #[tokio::test]
    async fn metrics_are_served() {
        let handle = parley_telemetry::metrics_handle().unwrap();
        metrics::counter!("parley_admin_test_total").increment(1);
        let server = AdminServer::new(Vec::new(), Some(handle), CancellationToken::new());
        let (status, body) = get(server.router(), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("parley_admin_test_total 1"), "{body}");
    }
}
