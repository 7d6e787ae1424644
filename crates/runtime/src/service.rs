//! Running one service process: configuration, telemetry, backends, admin server, signals,
//! drain, exit. Each service's `main` is a call to [`run_service`].

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use parley_telemetry::{LogFormat, TelemetryConfig};

use crate::{
    AdminServer, Backends, Error, LogFormatSetting, PlatformConfig, Result, Shutdown, load_config,
    shutdown_on_signals,
};

/// The command line every service binary takes. Parsing it reads `PARLEY_CONFIG`, which
/// the binary does (`ServiceArgs::parse()` in `main`), not this library.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    version,
    about = "A Parley service. Configuration: defaults, then --config, then PARLEY_* variables."
)]
pub struct ServiceArgs {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
}

/// What a service body receives.
pub struct ServiceContext {
    /// The loaded, validated configuration.
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// Triggered by SIGTERM/SIGINT; the body stops intake when it fires and returns once
    /// its in-flight work is drained.
    pub shutdown: Shutdown,
}

/// Telemetry settings for `service` from the configuration.
pub fn telemetry_config(service: &str, config: &PlatformConfig) -> TelemetryConfig {
    TelemetryConfig {
        service_name: service.to_owned(),
        service_version: env!("CARGO_PKG_VERSION").to_owned(),
        otlp_endpoint: config.telemetry.otlp_endpoint.clone(),
        log_filter: config.telemetry.log_filter.clone(),
        log_format: match config.telemetry.log_format {
            LogFormatSetting::Json => LogFormat::Json,
            LogFormatSetting::Text => LogFormat::Text,
        },
    }
}

/// Runs a service: loads the configuration (`config_file`, then the `PARLEY_*` entries of
/// `env`), installs telemetry, connects to NATS and Redis, serves `/livez`, `/readyz` and
/// `/metrics`, runs `body` until it returns (it watches `ctx.shutdown`), then stops the admin
/// server and flushes telemetry.
///
/// The binary passes `std::env::vars()`; nothing here reads the environment.
pub async fn run_service<F, Fut>(
    service: &'static str,
    config_file: Option<PathBuf>,
    env: Vec<(String, String)>,
    body: F,
) -> Result<()>
where
    F: FnOnce(ServiceContext) -> Fut,
    Fut: Future<Output = std::result::Result<(), String>>,
{
    let config = Arc::new(load_config(config_file.as_deref(), env)?);
    let telemetry = parley_telemetry::init(&telemetry_config(service, &config))
        .map_err(|e| Error::Load(e.to_string()))?;
    let metrics = parley_telemetry::metrics_handle().map_err(|e| Error::Load(e.to_string()))?;
    let shutdown = Shutdown::new();
    shutdown_on_signals(&shutdown);
    let outcome = async {
        let backends = Backends::connect(&config, service, Duration::from_secs(30)).await?;
        let listener = tokio::net::TcpListener::bind(config.admin.listen)
            .await
            .map_err(|e| Error::setting("admin.listen", e.to_string()))?;
        let stop_admin = tokio_util::sync::CancellationToken::new();
        let admin = tokio::spawn(
            AdminServer::new(backends.readiness_checks(), Some(metrics), shutdown.token())
                .serve(listener, stop_admin.clone()),
        );
        tracing::info!(service, admin = %config.admin.listen, "started");
        let result = body(ServiceContext {
            config: config.clone(),
            backends,
            shutdown: shutdown.clone(),
        })
        .await;
        stop_admin.cancel();
        if let Ok(Err(error)) = admin.await {
            tracing::warn!(%error, "admin server stopped with an error");
        }
        result.map_err(Error::Admin)
    }
    .await;
    match &outcome {
        Ok(()) => tracing::info!(service, "stopped"),
        Err(error) => tracing::error!(service, %error, "failed"),
    }
    telemetry.shutdown().await;
    outcome
}
