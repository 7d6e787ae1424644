//! A running outbound with private NATS and Redis, the simulator as Apple, a producer of
//! outbound events, and readers of delivery results and dead letters.

use std::{sync::Arc, time::Duration};

use object_store::ObjectStore;
use parley_apple_sim::{Device, DeviceKind, Received, SimConfig, Simulator};
use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_outbound::{Outbound, OutboundParts};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, ConversationKey as KeyProto, DeliveryResult, EventMeta, OutboundMessage,
        OutboundText, outbound_message::Kind,
    },
};
use parley_runtime::{Backends, PlatformConfig, Secret, open_blob_store};
use parley_state::{ConversationStore, facts};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey, EventId};
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
    pub blob_dir: tempfile::TempDir,
    pub blobs: Arc<dyn ObjectStore>,
    pub results: Box<dyn Subscription>,
    /// Results read so far, for [`Platform::outcome_of`].
    pub seen: std::sync::Mutex<Vec<DeliveryResult>>,
    pub dead_letters: Box<dyn Subscription>,
    pub stop: CancellationToken,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The test configuration: fast backoff and breaker so a test sees them work in seconds.
pub fn config(nats: &str, redis: &str, apple: &str, blobs: &std::path::Path) -> PlatformConfig {
    let mut config = PlatformConfig::default()
        .with_backends(nats, redis)
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(BIZ).unwrap(), "Acme");
    config.msp.id = MSP.into();
    config.msp.secret = Some(Secret::new(SECRET));
    config.msp.apple_base_url = apple.into();
    config.blobs.url = format!("file://{}", blobs.display());
    config.outbound.backoff_initial = Duration::from_millis(100);
    config.outbound.backoff_max = Duration::from_millis(800);
    config.outbound.max_attempts = 6;
    config.outbound.request_timeout = Duration::from_secs(1);
    config.outbound.breaker_failures = 5;
    config.outbound.breaker_cooldown = Duration::from_secs(1);
    config.outbound.claim_lease = Duration::from_secs(3);
    config.outbound.gap_timeout = Duration::from_secs(3);
    config.outbound.rate_per_business = 1000.0;
    config.outbound.burst_per_business = 1000;
    config.admin.shutdown_grace = Duration::from_secs(5);
    config.validate().unwrap();
    config
}

pub async fn simulator() -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(
        SimConfig {
            msp_id: MSP.into(),
            secret_base64: SECRET.into(),
            businesses: vec![BIZ.into()],
            msp_webhook_url: None,
        },
        listener,
    )
    .await
    .unwrap()
}

pub async fn platform() -> Platform {
    platform_with(|_| {}).await
}

pub async fn platform_with(adjust: impl FnOnce(&mut PlatformConfig)) -> Platform {
    platform_with_store(adjust, |store| store).await
}

/// [`platform_with`], outbound's store being `wrap` of the platform's (the test's own calls,
/// through `Platform::backends`, use the platform's).
pub async fn platform_with_store(
    adjust: impl FnOnce(&mut PlatformConfig),
    wrap: impl FnOnce(Arc<dyn ConversationStore>) -> Arc<dyn ConversationStore>,
) -> Platform {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let sim = simulator().await;
    let blob_dir = tempfile::tempdir().unwrap();
    let mut config = config(
        &nats.url(),
        &redis.url(),
        &sim.api_base_url(),
        blob_dir.path(),
    );
    adjust(&mut config);
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "outbound-test", Duration::from_secs(10))
        .await
        .unwrap();
    let ns = &backends.namespace;
    let results_spec = ConsumerSpec::new(ns, StreamKind::Events, "test-results")
        .with_filter(ns.event_filter("delivery"));
    let dead_spec = ConsumerSpec::new(ns, StreamKind::DeadLetter, "test-dead");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(results_spec.clone())
                .with_consumer(dead_spec.clone()),
        )
        .await
        .unwrap();
    let results = backends.bus.subscribe(&results_spec).await.unwrap();
    let dead_letters = backends.bus.subscribe(&dead_spec).await.unwrap();
    let blobs = open_blob_store(&config.blobs).unwrap();
    let stop = CancellationToken::new();
    let mut outbound_backends = backends.clone();
    outbound_backends.store = wrap(backends.store.clone());
    let outbound = Outbound::new(OutboundParts {
        config: config.clone(),
        backends: outbound_backends,
        blobs: blobs.clone(),
    })
    .await
    .unwrap();
    tokio::spawn(outbound.run(stop.clone()));
    Platform {
        nats,
        redis,
        sim,
        config,
        backends,
        blob_dir,
        blobs,
        results,
        seen: std::sync::Mutex::new(Vec::new()),
        dead_letters,
        stop,
    }
}

impl Platform {
    /// A customer on a `kind` device, with the facts ingest would have recorded after their
    /// first message.
    pub async fn customer(&self, kind: DeviceKind) -> (Device, ConversationKey) {
        let device = self.sim.devices().new_device(BIZ, kind).unwrap();
        let key = ConversationKey::parse(BIZ, &device.customer).unwrap();
        let store = &self.backends.store;
        store
            .set_fields(
                &key,
                &[
                    (facts::DEVICE_CAPABILITIES, kind.capability_list()),
                    (facts::DEVICE_AGENT, kind.device_agent()),
                ],
            )
            .await
            .unwrap();
        store
            .raise_field(&key, facts::CUSTOMER_ACTIVE_AT, 1)
            .await
            .unwrap();
        (device, key)
    }

    /// Builds a sequenced outbound event (the producer's side: bot, agent, notification).
    pub async fn event(&self, key: &ConversationKey, kind: Kind) -> OutboundMessage {
        let id = EventId::fresh();
        let sequence = self
            .backends
            .store
            .allocate_sequence(key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
            .await
            .unwrap();
        let partition = self.config.partitions.of(key);
        OutboundMessage {
            meta: Some(EventMeta {
                event_id: id.to_string(),
                conversation: Some(KeyProto {
                    business_id: key.business.to_string(),
                    opaque_id: key.opaque.as_str().to_owned(),
                }),
                sequence: sequence.get(),
                partition: partition.get(),
                producer: "test".into(),
                schema_version: 1,
                ..Default::default()
            }),
            apple_message_id: uuid::Uuid::new_v4().to_string(),
            sender: Some(Actor {
                kind: ActorKind::Agent as i32,
                id: "agent-7".into(),
                display_name: "Sam".into(),
            }),
            kind: Some(kind),
            ..Default::default()
        }
    }

    pub async fn publish(&self, event: &OutboundMessage) {
        let meta = event.meta.as_ref().unwrap();
        let key = ConversationKey::parse(
            &meta.conversation.as_ref().unwrap().business_id,
            &meta.conversation.as_ref().unwrap().opaque_id,
        )
        .unwrap();
        let partition =
            parley_types::Partition::new(meta.partition, self.config.partitions).unwrap();
        self.backends
            .bus
            .publish(
                Outgoing::new(
                    self.backends
                        .namespace
                        .subject(StreamKind::Outbound, partition),
                    meta.event_id.clone(),
                    OutboundMessage::TYPE,
                    event.encode_to_vec(),
                )
                .with_ordering_key(key.stable_hash()),
            )
            .await
            .unwrap();
    }

    /// Publishes a text.
    pub async fn text(&self, key: &ConversationKey, body: &str) -> OutboundMessage {
        let event = self
            .event(
                key,
                Kind::Text(OutboundText {
                    body: body.into(),
                    attachments: Vec::new(),
                }),
            )
            .await;
        self.publish(&event).await;
        event
    }

    /// Reads delivery results until `want` arrived or `within` passed.
    pub async fn results(&self, want: usize, within: Duration) -> Vec<DeliveryResult> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < want && tokio::time::Instant::now() < deadline {
            for delivery in self
                .results
                .fetch(want - out.len(), Duration::from_millis(300))
                .await
                .unwrap()
            {
                out.push(DeliveryResult::decode(delivery.payload.as_ref()).unwrap());
                delivery.ack().await.unwrap();
            }
        }
        out
    }

    /// The final result of one outbound event (skipping retry notices); results of other
    /// events read meanwhile are kept for later calls.
    pub async fn outcome_of(&self, event: &OutboundMessage, within: Duration) -> DeliveryResult {
        let id = event.meta.as_ref().unwrap().event_id.clone();
        let is_final = |r: &DeliveryResult| {
            r.outbound_event_id == id
                && !matches!(
                    r.outcome,
                    Some(parley_proto::v1::delivery_result::Outcome::Retrying(_))
                )
        };
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(found) = self.seen.lock().unwrap().iter().find(|r| is_final(r)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "no final delivery result for {id}");
            let batch = self.results(16, left.min(Duration::from_millis(300))).await;
            self.seen.lock().unwrap().extend(batch);
        }
    }

    /// Waits until `customer` received `count` messages.
    pub async fn received(&self, customer: &str, count: usize, within: Duration) -> Vec<Received> {
        let customer = customer.to_owned();
        self.sim
            .state()
            .wait_for(within, |all| {
                all.iter().filter(|r| r.customer == customer).count() >= count
            })
            .await
            .map(|all| all.into_iter().filter(|r| r.customer == customer).collect())
            .unwrap_or_else(|| {
                panic!(
                    "{customer} did not receive {count} messages: {:?}",
                    self.sim.state().received_by(&customer)
                )
            })
    }
}
