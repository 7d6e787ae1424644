//! Shutdown orchestration.
//!
//! Order on SIGTERM/SIGINT: readiness turns false (the load balancer stops sending), intake
//! stops (consumers stop fetching, servers stop accepting), in-flight work drains within a
//! bound, servers stop, telemetry flushes last. Unacknowledged messages are redelivered to
//! another replica, so a drain that times out loses nothing.

use std::{future::Future, time::Duration};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The process's shutdown signal and the tasks that must finish before it exits.
#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh, not-yet-triggered shutdown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelled when shutdown starts: intake loops select on it.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Whether shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Starts shutdown.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Runs a task that shutdown waits for.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Waits for shutdown to start, then for every spawned task, at most `grace`. Returns
    /// false if the grace period ran out.
    pub async fn wait(&self, grace: Duration) -> bool {
        self.token.cancelled().await;
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// Triggers `shutdown` on SIGTERM or SIGINT (Ctrl-C).
pub fn shutdown_on_signals(shutdown: &Shutdown) {
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = terminate => tracing::info!("SIGTERM: shutting down"),
            result = tokio::signal::ctrl_c() => match result {
                Ok(()) => tracing::info!("SIGINT: shutting down"),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGINT");
                    return;
                }
            },
            _ = shutdown.token.cancelled() => return,
        }
        shutdown.trigger();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_tasks_and_bounds_the_wait() {
        let shutdown = Shutdown::new();
        let token = shutdown.token();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        shutdown.spawn(async move {
            token.cancelled().await;
            let _ = done_tx.send(());
        });
        shutdown.trigger();
        assert!(shutdown.wait(Duration::from_secs(5)).await);
        assert!(done_rx.await.is_ok());

        let stuck = Shutdown::new();
        stuck.spawn(std::future::pending::<()>());
        stuck.trigger();
        assert!(!stuck.wait(Duration::from_millis(50)).await);
    }
}
