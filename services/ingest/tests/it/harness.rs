//! A running ingest with private NATS and Redis, the simulator as Apple, and a reader of the
//! inbound stream.

use std::{sync::Arc, time::Duration};

use parley_apple::jwt::{Direction, JwtSigner};
use parley_apple_sim::{SimConfig, Simulator};
use parley_bus::{ConsumerSpec, Delivery, StreamKind, Subscription, Topology};
use parley_ingest::{Ingest, IngestParts};
use parley_proto::v1::InboundMessage;
use parley_runtime::{Backends, PlatformConfig, Secret, open_blob_store};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::BusinessId;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ==";
pub const MSP: &str = "msp-test";
pub const BIZ: &str = "biz-1";

pub struct Platform {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub sim: Simulator,
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
    pub webhook: String,
    pub reader: Box<dyn Subscription>,
    pub blobs: tempfile::TempDir,
    _stop: CancellationToken,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self._stop.cancel();
    }
}

pub fn config(nats: &str, redis: &str, apple: &str, blobs: &std::path::Path) -> PlatformConfig {
    let mut config = PlatformConfig::default()
        .with_backends(nats, redis)
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(BIZ).unwrap(), "Acme");
    config.msp.id = MSP.into();
    config.msp.secret = Some(Secret::new(SECRET));
    config.msp.apple_base_url = apple.into();
    config.blobs.url = format!("file://{}", blobs.display());
    config.ingest.max_body_bytes = 64 * 1024;
    config.ingest.max_decoded_bytes = 256 * 1024;
    config.ingest.download_budget = Duration::from_secs(10);
    config.validate().unwrap();
    config
}

pub async fn platform() -> Platform {
    platform_with(|_| {}).await
}

pub async fn platform_with(adjust: impl FnOnce(&mut PlatformConfig)) -> Platform {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(
        SimConfig {
            msp_id: MSP.into(),
            secret_base64: SECRET.into(),
            businesses: vec![BIZ.into()],
            msp_webhook_url: None,
        },
        listener,
    )
    .await
    .unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let mut config = config(&nats.url(), &redis.url(), &sim.api_base_url(), blobs.path());
    adjust(&mut config);
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "ingest-test", Duration::from_secs(10))
        .await
        .unwrap();
    let reader_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Inbound, "test-reader");
    backends
        .bus
        .ensure(&Topology::default().with_consumer(reader_spec.clone()))
        .await
        .unwrap();
    let reader = backends.bus.subscribe(&reader_spec).await.unwrap();
    let ingest = Ingest::new(IngestParts {
        config: config.clone(),
        backends: backends.clone(),
        blobs: open_blob_store(&config.blobs).unwrap(),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!("http://{}/message", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(ingest.serve(listener, stop.clone()));
    sim.devices().set_webhook(webhook.clone());
    Platform {
        nats,
        redis,
        sim,
        config,
        backends,
        webhook,
        reader,
        blobs,
        _stop: stop,
    }
}

impl Platform {
    /// Reads inbound events until `want` arrived or `within` passed.
    pub async fn events(&self, want: usize, within: Duration) -> Vec<InboundMessage> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < want && tokio::time::Instant::now() < deadline {
            let batch: Vec<Delivery> = self
                .reader
                .fetch(want - out.len(), Duration::from_millis(300))
                .await
                .unwrap();
            for delivery in batch {
                out.push(InboundMessage::decode(delivery.payload.as_ref()).unwrap());
                delivery.ack().await.unwrap();
            }
        }
        out
    }

    /// Asserts no further event arrives within `quiet`.
    pub async fn no_more_events(&self, quiet: Duration) {
        let extra = self.events(1, quiet).await;
        assert!(extra.is_empty(), "unexpected events: {extra:?}");
    }

    pub fn inbound_token(&self) -> String {
        JwtSigner::new(SECRET, MSP, Direction::Inbound)
            .unwrap()
            .authorization(std::time::SystemTime::now())
            .unwrap()
    }
}
