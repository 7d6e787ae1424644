//! Installing the global subscriber, propagator and tracer provider.

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{
    EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::{Error, Result};

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (production).
    #[default]
    Json,
    /// Human-readable text (development).
    Text,
}

/// What the binary tells telemetry at start-up.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `service.name` of every span.
    pub service_name: String,
    /// `service.version`.
    pub service_version: String,
    /// The OTLP/gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); `None` turns export off.
    pub otlp_endpoint: Option<String>,
    /// The log filter (`RUST_LOG` syntax).
    pub log_filter: String,
    /// The log format.
    pub log_format: LogFormat,
}

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes pending spans.
#[must_use = "dropping the guard without shutdown may lose the last spans"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops span export. Blocking work runs off the async workers.
    pub async fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            let joined = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = joined {
                tracing::warn!(%error, "trace export did not shut down cleanly");
            }
        }
    }
}

/// Installs the W3C trace-context propagator, the tracer provider (with OTLP/gRPC export when
/// an endpoint is configured) and the global `tracing` subscriber.
///
/// Must be called inside a Tokio runtime when an OTLP endpoint is set (the tonic exporter needs
/// it). Fails if a subscriber is already installed.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.log_filter).map_err(|e| Error::Filter {
        filter: config.log_filter.clone(),
        reason: e.to_string(),
    })?;
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            config.service_version.clone(),
        ))
        .build();
    let (provider, otel_layer) = match config.otlp_endpoint.as_deref() {
        Some(endpoint) if !endpoint.is_empty() => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| Error::Exporter {
                    endpoint: endpoint.to_owned(),
                    reason: e.to_string(),
                })?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build();
            let tracer = provider.tracer("parley");
            global::set_tracer_provider(provider.clone());
            let layer = tracing_opentelemetry::layer().with_tracer(tracer);
            (Some(provider), Some(layer))
        }
        _ => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(|_| Error::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}
