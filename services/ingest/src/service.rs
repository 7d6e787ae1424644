//! The ingest service: state, router and serving.

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::{Router, extract::DefaultBodyLimit, routing::post};
use object_store::ObjectStore;
use parley_apple::{
    body::BodyLimits,
    client::{AppleClient, ClientConfig},
    jwt::{Direction, JwtSigner, JwtVerifier},
};
use parley_runtime::{Backends, PlatformConfig, ServiceContext, open_blob_store};
use parley_types::PartitionCount;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What ingest is built from.
pub struct IngestParts {
    /// The platform configuration.
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// Where attachments go.
    pub blobs: Arc<dyn ObjectStore>,
}

pub(crate) struct Inner {
    pub(crate) verifier: JwtVerifier,
    pub(crate) limits: BodyLimits,
    pub(crate) businesses: HashSet<String>,
    pub(crate) backends: Backends,
    pub(crate) partitions: PartitionCount,
    pub(crate) apple: AppleClient,
    pub(crate) blobs: Arc<dyn ObjectStore>,
    pub(crate) dedup_ttl: Duration,
    pub(crate) download_budget: Duration,
    pub(crate) download_attempts: u32,
    pub(crate) max_attachment_bytes: u64,
}

/// The ingest service. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    pub(crate) inner: Arc<Inner>,
}

impl Ingest {
    /// Builds ingest; fails with a message naming the setting when the configuration cannot
    /// work (no MSP secret, …).
    pub fn new(parts: IngestParts) -> Result<Self, String> {
        let config = &parts.config;
        let secret = config
            .msp
            .secret
            .as_ref()
            .ok_or("invalid setting `msp.secret`: ingest needs the MSP's API secret")?;
        let verifier = JwtVerifier::new(
            secret.expose(),
            &config.msp.id,
            Direction::Inbound,
            config.ingest.token_max_age,
        )
        .map_err(|e| format!("invalid setting `msp.secret`: {e}"))?;
        let signer = JwtSigner::new(secret.expose(), &config.msp.id, Direction::Outbound)
            .map_err(|e| format!("invalid setting `msp.secret`: {e}"))?;
        let apple = AppleClient::new(
            ClientConfig {
                base_url: config.msp.apple_base_url.clone(),
                max_attachment_bytes: config.ingest.max_attachment_bytes,
                ..ClientConfig::default()
            },
            Arc::new(signer),
        )
        .map_err(|e| format!("apple client: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                verifier,
                limits: BodyLimits {
                    max_encoded: config.ingest.max_body_bytes,
                    max_decoded: config.ingest.max_decoded_bytes,
                },
                businesses: config
                    .businesses
                    .iter()
                    .map(|b| b.id.as_str().to_owned())
                    .collect(),
                backends: parts.backends,
                partitions: config.partitions,
                apple,
                blobs: parts.blobs,
                dedup_ttl: config.redis.dedup_ttl,
                download_budget: config.ingest.download_budget,
                download_attempts: config.ingest.download_attempts,
                max_attachment_bytes: config.ingest.max_attachment_bytes,
            }),
        })
    }

    /// `POST /message`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/message", post(crate::webhook::message))
            // Past this, axum answers 413 before the body is read in full.
            .layer(DefaultBodyLimit::max(self.inner.limits.max_encoded))
            .with_state(self.clone())
    }

    /// Serves on `listener` until `stop` fires, then finishes the requests in flight.
    pub async fn serve(self, listener: TcpListener, stop: CancellationToken) -> Result<(), String> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(|e| format!("ingest server: {e}"))
    }
}

/// Runs ingest as a service: serves `ingest.listen` until shutdown.
pub async fn run(ctx: ServiceContext) -> Result<(), String> {
    let blobs = open_blob_store(&ctx.config.blobs).map_err(|e| e.to_string())?;
    let ingest = Ingest::new(IngestParts {
        config: ctx.config.clone(),
        backends: ctx.backends.clone(),
        blobs,
    })?;
    let listener = TcpListener::bind(ctx.config.ingest.listen)
        .await
        .map_err(|e| format!("invalid setting `ingest.listen`: {e}"))?;
    tracing::info!(listen = %ctx.config.ingest.listen, "ingest listening");
    ingest.serve(listener, ctx.shutdown.token()).await
}
