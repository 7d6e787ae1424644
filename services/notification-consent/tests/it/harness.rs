//! The service on private NATS and Redis, a producer of customer messages (as ingest
//! publishes them, with the facts ingest writes) and readers of what the service publishes.

use std::{sync::Arc, time::Duration};

use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_notification_consent::{
    ConsentConfig, ConsentParts, NotificationConsent, Policies, Policy, QuietHours,
};
use parley_proto::{
    Event as _,
    v1::{
        ConsentEvent, ConversationKey as KeyProto, DeviceCapabilities, EventMeta, InboundMessage,
        InboundText, Locale, OutboundMessage, inbound_message,
    },
};
use parley_runtime::{Backends, PlatformConfig};
use parley_state::{ConversationStore, facts};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

pub const ACME: &str = "a884eddf-7b0c-4b0a-9a8c-2f8a1b2c3d4e";
/// A business whose quiet hours are on for the whole test.
pub const QUIET: &str = "biz-quiet";
pub const TOKEN: &str = "crm-secret-token";
pub const QUIET_TOKEN: &str = "quiet-secret-token";
pub const FRENCH_UNSUBSCRIBED: &str = "Vous ne recevrez plus de notifications de notre part.";
pub const WITHIN: Duration = Duration::from_secs(15);

pub struct Platform {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
    pub outbound: Box<dyn Subscription>,
    pub events: Box<dyn Subscription>,
    pub stop: CancellationToken,
    /// The first instance's notification API.
    pub api: String,
    /// Each instance's gRPC address, in start order.
    pub grpc_urls: std::sync::Mutex<Vec<String>>,
    pub http: reqwest::Client,
    /// The gate's gap timeout of every instance.
    pub gap_timeout: Duration,
    /// What every instance's store is made of the platform's (the test's own calls use the
    /// platform's).
    pub wrap_store: WrapStore,
}

/// Makes a service's store of the platform's.
pub type WrapStore =
    Arc<dyn Fn(Arc<dyn ConversationStore>) -> Arc<dyn ConversationStore> + Send + Sync>;

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn policies() -> Policies {
    let acme = BusinessId::new(ACME).unwrap();
    let quiet = BusinessId::new(QUIET).unwrap();
    let mut french = Policies::parse(&format!(
        r#"
        [[business]]
        id = "{ACME}"
        unsubscribe_words = ["baja"]
        [business.texts.fr]
        unsubscribed = "{FRENCH_UNSUBSCRIBED}"
        "#
    ))
    .unwrap()
    .with_client("crm", acme, TOKEN);
    // Quiet from an hour ago to an hour from now, in UTC.
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let hh_mm = |z: &jiff::ZonedDateTime| format!("{:02}:{:02}", z.hour(), z.minute());
    let start = now
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let end = now
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let mut policy = Policy::default();
    policy.quiet_hours = Some(QuietHours::new(&hh_mm(&start), &hh_mm(&end), "UTC").unwrap());
    french = french
        .with_policy(quiet.clone(), policy)
        .with_client("quiet-crm", quiet, QUIET_TOKEN);
    french
}

pub async fn platform() -> Platform {
    platform_with(Duration::from_secs(30), Arc::new(|store| store)).await
}

/// [`platform`], a missing message being given up on after `gap_timeout`, each instance's
/// store being `wrap_store` of the platform's.
pub async fn platform_with(gap_timeout: Duration, wrap_store: WrapStore) -> Platform {
    parley_testkit::init_tracing();
    // reqwest is built without a default TLS provider (the workspace picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let mut config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(ACME).unwrap(), "Acme Coffee")
        .with_business(BusinessId::new(QUIET).unwrap(), "Quiet Ltd");
    config.admin.shutdown_grace = Duration::from_secs(2);
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "consent-test", Duration::from_secs(10))
        .await
        .unwrap();
    let ns = &backends.namespace;
    let outbound = ConsumerSpec::new(ns, StreamKind::Outbound, "test-outbound");
    let events = ConsumerSpec::new(ns, StreamKind::Events, "test-events");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(outbound.clone())
                .with_consumer(events.clone()),
        )
        .await
        .unwrap();
    let mut platform = Platform {
        outbound: backends.bus.subscribe(&outbound).await.unwrap(),
        events: backends.bus.subscribe(&events).await.unwrap(),
        nats,
        redis,
        config,
        backends,
        stop: CancellationToken::new(),
        api: String::new(),
        grpc_urls: std::sync::Mutex::new(Vec::new()),
        http: reqwest::Client::new(),
        gap_timeout,
        wrap_store,
    };
    platform.api = platform.start().await;
    platform
}

impl Platform {
    /// Starts one more instance (replicas share the durable consumer); its API's base URL.
    pub async fn start(&self) -> String {
        let mut consent = ConsentConfig::new(policies());
        consent.gate.gap_timeout = self.gap_timeout;
        consent.gate.lease = Duration::from_secs(5);
        let mut backends = self.backends.clone();
        backends.store = (self.wrap_store)(backends.store.clone());
        let service = NotificationConsent::new(ConsentParts {
            config: self.config.clone(),
            backends,
            consent,
        })
        .await
        .unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", http.local_addr().unwrap());
        self.grpc_urls
            .lock()
            .unwrap()
            .push(format!("http://{}", grpc.local_addr().unwrap()));
        tokio::spawn(service.run(http, grpc, self.stop.child_token()));
        url
    }

    /// A customer message as ingest publishes it (see [`say_as_ingest`]).
    pub async fn say(
        &self,
        key: &ConversationKey,
        sequence: u64,
        body: &str,
        language: &str,
        copy: u32,
    ) {
        say_as_ingest(
            &self.backends,
            &self.config,
            key,
            sequence,
            body,
            language,
            copy,
        )
        .await;
    }

    pub async fn outbound_messages(&self, want: usize, within: Duration) -> Vec<OutboundMessage> {
        read(self.outbound.as_ref(), want, within).await
    }

    pub async fn consent_events(&self, want: usize, within: Duration) -> Vec<ConsentEvent> {
        read(self.events.as_ref(), want, within).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let mut request = self.http.post(format!("{}{path}", self.api)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body, headers)
    }
}

async fn read<T: prost::Message + Default>(
    sub: &dyn Subscription,
    want: usize,
    within: Duration,
) -> Vec<T> {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < want && tokio::time::Instant::now() < deadline {
        for delivery in sub
            .fetch((want - out.len()).min(256), Duration::from_millis(200))
            .await
            .unwrap()
        {
            out.push(T::decode(delivery.payload.as_ref()).unwrap());
            delivery.ack().await.unwrap();
        }
    }
    out
}

pub fn key(business: &str, name: &str) -> ConversationKey {
    ConversationKey::parse(business, &format!("urn:mbid:{name}")).unwrap()
}

pub fn text_of(message: &OutboundMessage) -> &str {
    match message.kind.as_ref() {
        Some(parley_proto::v1::outbound_message::Kind::Text(t)) => &t.body,
        _ => "",
    }
}

/// A customer message as ingest publishes it (sequence `sequence`, language `language`),
/// after writing the facts ingest writes. `copy` > 0 republishes under another NATS id (a
/// copy outside JetStream's duplicate window).
pub async fn say_as_ingest(
    backends: &Backends,
    config: &PlatformConfig,
    key: &ConversationKey,
    sequence: u64,
    body: &str,
    language: &str,
    copy: u32,
) {
    let kind = inbound_message::Kind::Text(InboundText {
        body: body.into(),
        attachments: Vec::new(),
    });
    publish_inbound(backends, config, key, sequence, kind, language, None, copy).await;
}

/// Any customer message as ingest publishes it, with the device's capabilities if given.
#[allow(clippy::too_many_arguments)]
pub async fn publish_inbound(
    backends: &Backends,
    config: &PlatformConfig,
    key: &ConversationKey,
    sequence: u64,
    kind: inbound_message::Kind,
    language: &str,
    capabilities: Option<DeviceCapabilities>,
    copy: u32,
) {
    backends
        .store
        .raise_field(key, facts::CUSTOMER_ACTIVE_AT, sequence)
        .await
        .unwrap();
    let event_id = format!("in-{:016x}-{sequence}", key.stable_hash());
    let message = InboundMessage {
        meta: Some(EventMeta {
            event_id: event_id.clone(),
            conversation: Some(KeyProto {
                business_id: key.business.to_string(),
                opaque_id: key.opaque.as_str().to_owned(),
            }),
            sequence,
            partition: config.partitions.of(key).get(),
            schema_version: 1,
            producer: "ingest".into(),
            ..EventMeta::default()
        }),
        locale: Some(Locale {
            apple: language.replace('-', "_"),
            language_tag: language.into(),
        }),
        capabilities,
        kind: Some(kind),
        ..InboundMessage::default()
    };
    let subject = backends
        .namespace
        .subject(StreamKind::Inbound, config.partitions.of(key));
    let msg_id = if copy == 0 {
        event_id
    } else {
        format!("{event_id}-copy{copy}")
    };
    backends
        .bus
        .publish(
            Outgoing::new(
                subject,
                msg_id,
                InboundMessage::TYPE,
                message.encode_to_vec(),
            )
            .with_ordering_key(key.stable_hash()),
        )
        .await
        .unwrap();
}
