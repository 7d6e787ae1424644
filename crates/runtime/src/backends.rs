//! Connecting to the event bus and the conversation store a configuration names.

use std::{sync::Arc, time::Duration};

use parley_bus::{Bus, EmbeddedBus, JetStreamBus, JetStreamOptions, Namespace, Topology};
use parley_state::{ConversationStore, EmbeddedStore, RedisStore, RedisStoreOptions};

use crate::{BusCheck, Error, PlatformConfig, ReadinessCheck, Result, StoreCheck};

/// The bus and store a service works with, and the namespace of its streams.
#[derive(Clone)]
pub struct Backends {
    /// The event bus.
    pub bus: Arc<dyn Bus>,
    /// The conversation store.
    pub store: Arc<dyn ConversationStore>,
    /// Stream, subject and consumer names.
    pub namespace: Namespace,
}

fn namespace(config: &PlatformConfig) -> Result<Namespace> {
    if config.nats.prefix.is_empty() {
        Ok(Namespace::root())
    } else {
        Namespace::prefixed(&config.nats.prefix)
            .map_err(|e| Error::setting("nats.prefix", e.to_string()))
    }
}

impl Backends {
    /// JetStream at `nats.url` and Redis at `redis.url`; creates or updates the platform's
    /// streams, retrying for up to `wait` while NATS starts.
    pub async fn connect(
        config: &PlatformConfig,
        client_name: &str,
        wait: Duration,
    ) -> Result<Self> {
        let namespace = namespace(config)?;
        let mut options = JetStreamOptions::new(config.nats.url.clone());
        options.client_name = client_name.to_owned();
        let bus = JetStreamBus::connect(&options)
            .await
            .map_err(|e| Error::setting("nats.url", e.to_string()))?;
        let store = RedisStore::connect(
            &RedisStoreOptions::new(config.redis.url.clone()),
            config.redis.store_settings(),
        )
        .map_err(|e| Error::setting("redis.url", e.to_string()))?;
        let backends = Self {
            bus: Arc::new(bus),
            store: Arc::new(store),
            namespace,
        };
        backends.ensure_streams(config, wait).await?;
        Ok(backends)
    }

    /// The in-process bus and store (`parley up` without NATS and Redis, tests).
    pub async fn embedded(config: &PlatformConfig) -> Result<Self> {
        let backends = Self {
            bus: Arc::new(EmbeddedBus::new()),
            store: Arc::new(EmbeddedStore::new(config.redis.store_settings())),
            namespace: namespace(config)?,
        };
        backends.ensure_streams(config, Duration::ZERO).await?;
        Ok(backends)
    }

    async fn ensure_streams(&self, config: &PlatformConfig, wait: Duration) -> Result<()> {
        let topology = Topology::platform(&self.namespace, &config.nats.bus_settings());
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match self.bus.ensure(&topology).await {
                Ok(()) => return Ok(()),
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(%error, "streams not set up yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(error) => return Err(Error::setting("nats.url", error.to_string())),
            }
        }
    }

    /// `/readyz` checks for both.
    pub fn readiness_checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        vec![
            Arc::new(BusCheck(self.bus.clone())),
            Arc::new(StoreCheck(self.store.clone())),
        ]
    }
}
