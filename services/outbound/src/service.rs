//! The outbound service: state, consumer and running.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use object_store::ObjectStore;
use parley_apple::{
    client::{AppleClient, ClientConfig},
    jwt::{Direction, JwtSigner},
};
use parley_bus::{ConsumeOptions, ConsumerSpec, Namespace, StreamKind, run_consumer};
use parley_runtime::{Backends, PlatformConfig, ServiceContext, open_blob_store};
use parley_state::GatePolicy;
use tokio_util::sync::CancellationToken;

use crate::{
    breaker::Breaker,
    handler::{OutboundHandler, Shared},
    rate::RateLimiter,
};

/// The durable consumer outbound reads `amb.outbound` with. Waiting for an earlier message
/// of a conversation is a redelivery too, so the consume loop's own dead-letter threshold is
/// set out of reach: outbound dead-letters by its own count of attempts at Apple.
pub fn consumer_spec(namespace: &Namespace, config: &PlatformConfig) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Outbound, "outbound")
        .with_ack_wait(config.outbound.request_timeout * 2 + Duration::from_secs(10))
        .with_max_deliver(u32::MAX)
}

/// What outbound is built from.
pub struct OutboundParts {
    /// The platform configuration.
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// Where outbound attachments are read from.
    pub blobs: Arc<dyn ObjectStore>,
}

/// The outbound service.
pub struct Outbound {
    shared: Arc<Shared>,
    spec: ConsumerSpec,
    options: ConsumeOptions,
}

impl Outbound {
    /// Builds outbound and creates its consumer.
    pub async fn new(parts: OutboundParts) -> Result<Self, String> {
        let config = &parts.config;
        let secret = config
            .msp
            .secret
            .as_ref()
            .ok_or("invalid setting `msp.secret`: outbound needs the MSP's API secret")?;
        let signer = JwtSigner::new(secret.expose(), &config.msp.id, Direction::Outbound)
            .map_err(|e| format!("invalid setting `msp.secret`: {e}"))?;
        let apple = AppleClient::new(
            ClientConfig {
                base_url: config.msp.apple_base_url.clone(),
                request_timeout: config.outbound.request_timeout,
                ..ClientConfig::default()
            },
            Arc::new(signer),
        )
        .map_err(|e| format!("apple client: {e}"))?;
        let namespace = parts.backends.namespace.clone();
        let spec = consumer_spec(&namespace, config);
        parts
            .backends
            .bus
            .ensure(&parley_bus::Topology::default().with_consumer(spec.clone()))
            .await
            .map_err(|e| format!("outbound consumer: {e}"))?;
        let shared = Arc::new(Shared {
            store: parts.backends.store.clone(),
            bus: parts.backends.bus.clone(),
            dead_letter_subject: namespace.dead_letter_subject(&spec.durable),
            namespace,
            partitions: config.partitions,
            apple,
            blobs: parts.blobs,
            breaker: Breaker::new(
                config.outbound.breaker_failures,
                config.outbound.breaker_cooldown,
            ),
            rate: RateLimiter::new(
                config.outbound.rate_per_business,
                config.outbound.burst_per_business,
            ),
            attempts: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashMap::new()),
            max_attempts: config.outbound.max_attempts,
            backoff_initial: config.outbound.backoff_initial,
            backoff_max: config.outbound.backoff_max,
            dedup_ttl: config.redis.dedup_ttl,
            gate: GatePolicy {
                gap_timeout: config.outbound.gap_timeout,
                lease: config.outbound.claim_lease,
                // No poison bound through the gate here: outbound's retries (Apple's transient
                // answers, its own rate limit, milliseconds apart) are starts too and would
                // dead-letter healthy replies; outbound.max_attempts bounds Apple's failures.
                max_attempts: u32::MAX,
            },
        });
        Ok(Self {
            shared,
            spec,
            // Gated: a conversation holds at most ordered::PER_CONVERSATION deliveries.
            options: ConsumeOptions {
                max_in_flight: config.outbound.max_in_flight,
                ..parley_runtime::ordered::consume_options(config.admin.shutdown_grace)
            },
        })
    }

    /// Consumes until `stop` fires, then drains.
    pub async fn run(self, stop: CancellationToken) -> Result<(), String> {
        let report = run_consumer(
            self.shared.bus.clone(),
            &self.shared.namespace,
            &self.spec,
            Arc::new(OutboundHandler(self.shared.clone())),
            self.options,
            stop,
        )
        .await
        .map_err(|e| format!("outbound consumer: {e}"))?;
        tracing::info!(?report, "outbound drained");
        Ok(())
    }
}

/// Runs outbound as a service.
pub async fn run(ctx: ServiceContext) -> Result<(), String> {
    let blobs = open_blob_store(&ctx.config.blobs).map_err(|e| e.to_string())?;
    let outbound = Outbound::new(OutboundParts {
        config: ctx.config.clone(),
        backends: ctx.backends.clone(),
        blobs,
    })
    .await?;
    outbound.run(ctx.shutdown.token()).await
}
