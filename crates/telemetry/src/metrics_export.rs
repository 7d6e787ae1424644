//! The Prometheus recorder behind the `metrics` facade.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::{Error, Result};

/// Renders the process's metrics in the Prometheus text format.
#[derive(Clone)]
pub struct MetricsHandle(PrometheusHandle);

impl MetricsHandle {
    /// The current metrics, Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.0.render()
    }
}

static HANDLE: OnceLock<MetricsHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder on first use and returns its handle; later
/// calls return the same handle. Libraries record with the `metrics` macros; the admin server
/// serves [`MetricsHandle::render`] at `/metrics`.
pub fn metrics_handle() -> Result<MetricsHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[
            0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
        .map_err(|e| Error::Metrics(e.to_string()))?
        .build_recorder();
    let handle = MetricsHandle(recorder.handle());
    // Only the first caller installs; a racing second caller's recorder is dropped and it
    // gets the installed handle.
    if HANDLE.set(handle).is_ok() && metrics::set_global_recorder(recorder).is_err() {
        return Err(Error::Metrics(
            "another metrics recorder is already installed".into(),
        ));
    }
    HANDLE
        .get()
        .cloned()
        .ok_or_else(|| Error::Metrics("recorder handle missing".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_recorded_metrics() {
        let handle = super::metrics_handle().unwrap();
        metrics::counter!("parley_test_total", "k" => "v").increment(3);
        let text = handle.render();
        assert!(text.contains("parley_test_total{k=\"v\"} 3"), "{text}");
        assert!(super::metrics_handle().is_ok());
    }
}
