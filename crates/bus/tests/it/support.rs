//! Fixtures shared by the bus tests.

use std::{sync::Arc, time::Duration};

use parley_bus::{
    Bus, BusSettings, ConsumerSpec, Delivery, EmbeddedBus, JetStreamBus, JetStreamOptions,
    Namespace, Outgoing, StreamKind, Topology,
};
use parley_testkit::NatsServer;
use parley_types::{Partition, PartitionCount};

/// A bus under test, in its own namespace.
pub struct Fixture {
    pub bus: Arc<dyn Bus>,
    pub ns: Namespace,
    pub nats: Option<NatsServer>,
}

pub fn settings() -> BusSettings {
    BusSettings {
        duplicate_window: Duration::from_secs(120),
        ..BusSettings::default()
    }
}

pub async fn embedded() -> Fixture {
    parley_testkit::init_tracing();
    Fixture {
        bus: Arc::new(EmbeddedBus::new()),
        ns: Namespace::prefixed(&parley_testkit::prefix()).unwrap(),
        nats: None,
    }
}

pub async fn jetstream() -> Fixture {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().expect("start nats-server");
    let bus = JetStreamBus::connect(&JetStreamOptions::new(nats.url()))
        .await
        .expect("connect to nats");
    Fixture {
        bus: Arc::new(bus),
        ns: Namespace::prefixed(&parley_testkit::prefix()).unwrap(),
        nats: Some(nats),
    }
}

impl Fixture {
    /// Creates the platform streams and a consumer `durable` on the inbound stream.
    pub async fn inbound_consumer(&self, durable: &str, ack_wait: Duration) -> ConsumerSpec {
        let spec =
            ConsumerSpec::new(&self.ns, StreamKind::Inbound, durable).with_ack_wait(ack_wait);
        self.bus
            .ensure(&Topology::platform(&self.ns, &settings()).with_consumer(spec.clone()))
            .await
            .expect("ensure topology");
        spec
    }

    pub fn inbound_subject(&self, partition: u32) -> String {
        let count = PartitionCount::new(16).unwrap();
        self.ns.subject(
            StreamKind::Inbound,
            Partition::new(partition, count).unwrap(),
        )
    }

    pub fn message(&self, id: &str) -> Outgoing {
        Outgoing::new(
            self.inbound_subject(3),
            id,
            "parley.v1.InboundMessage",
            id.as_bytes().to_vec(),
        )
    }
}

/// Fetches until `want` deliveries arrived or `within` passed.
pub async fn fetch_n(
    bus: &Arc<dyn Bus>,
    spec: &ConsumerSpec,
    want: usize,
    within: Duration,
) -> Vec<Delivery> {
    let subscription = bus.subscribe(spec).await.expect("subscribe");
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < want && tokio::time::Instant::now() < deadline {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let batch = subscription
            .fetch(want - out.len(), left.min(Duration::from_millis(500)))
            .await
            .expect("fetch");
        out.extend(batch);
    }
    out
}

pub fn payload_id(delivery: &Delivery) -> String {
    String::from_utf8(delivery.payload.to_vec()).expect("utf8 payload")
}
