//! Routing instances on private NATS and Redis, a producer of inbound events and commands,
//! and readers of what routing publishes.

use std::{collections::HashMap, sync::Arc, time::Duration};

use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_proto::{
    Event as _,
    v1::{
        AgentTask, BotTask, ConversationEvent, ConversationKey as KeyProto, EventMeta,
        InboundMessage, InboundText, OutboundMessage, RoutingCommand, inbound_message,
        routing_command,
    },
};
use parley_routing::{Routing, RoutingConfig, RoutingParts, rules::Rules};
use parley_runtime::{Backends, PlatformConfig};
use parley_state::{AgentPool, Presence, PresenceStatus, RedisStore, RedisStoreOptions};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

pub const BIZ: &str = "biz-1";

/// `general` (bot first), `direct` (straight to a human), `night` (always closed), `fast`
/// (a human, 1 s response target).
pub const RULES: &str = r#"
[queues.general]
priority = 1
response_target = "5m"

[queues.night]
priority = 1
response_target = "5m"

[queues.night.hours]
utc_offset = "+00:00"
closed_message = "We are closed."

[queues.fast]
priority = 5
response_target = "1s"

[[rules]]
intent = "fast"
group = "*"
queue = "fast"
bot_first = false

[[rules]]
intent = "direct"
group = "*"
queue = "general"
bot_first = false

[[rules]]
intent = "night"
group = "*"
queue = "night"
bot_first = false

[default]
queue = "general"
bot_first = true
"#;

pub struct Platform {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
    pub pool: Arc<RedisStore>,
    pub bot: Box<dyn Subscription>,
    pub agent: Box<dyn Subscription>,
    pub events: Box<dyn Subscription>,
    pub outbound: Box<dyn Subscription>,
    pub stop: CancellationToken,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn platform(instances: usize) -> Platform {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let mut config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(BIZ).unwrap(), "Acme");
    config.admin.shutdown_grace = Duration::from_secs(2);
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "routing-test", Duration::from_secs(10))
        .await
        .unwrap();
    let pool = Arc::new(
        RedisStore::connect(
            &RedisStoreOptions::new(config.redis.url.clone()),
            config.redis.store_settings(),
        )
        .unwrap(),
    );
    let ns = &backends.namespace;
    let bot = ConsumerSpec::new(ns, StreamKind::Bot, "test-bot");
    let agent = ConsumerSpec::new(ns, StreamKind::Agent, "test-agent");
    let events = ConsumerSpec::new(ns, StreamKind::Events, "test-events")
        .with_filter(ns.event_filter("conversation"));
    let outbound = ConsumerSpec::new(ns, StreamKind::Outbound, "test-outbound");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(bot.clone())
                .with_consumer(agent.clone())
                .with_consumer(events.clone())
                .with_consumer(outbound.clone()),
        )
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let platform = Platform {
        bot: backends.bus.subscribe(&bot).await.unwrap(),
        agent: backends.bus.subscribe(&agent).await.unwrap(),
        events: backends.bus.subscribe(&events).await.unwrap(),
        outbound: backends.bus.subscribe(&outbound).await.unwrap(),
        nats,
        redis,
        config,
        backends,
        pool,
        stop,
    };
    for _ in 0..instances {
        platform.start().await;
    }
    platform
}

impl Platform {
    /// Starts one more routing instance; it stops when the returned token (a child of the
    /// platform's) is cancelled.
    pub async fn start(
        &self,
    ) -> (
        CancellationToken,
        tokio::task::JoinHandle<Result<(), String>>,
    ) {
        self.start_with(|_| {}).await
    }

    /// [`Platform::start`] with the routing configuration changed by `tune` first.
    pub async fn start_with(
        &self,
        tune: impl FnOnce(&mut RoutingConfig),
    ) -> (
        CancellationToken,
        tokio::task::JoinHandle<Result<(), String>>,
    ) {
        self.start_on(self.backends.clone(), tune).await
    }

    /// [`Platform::start_with`] over `backends` (the platform's with another store, say).
    pub async fn start_on(
        &self,
        backends: Backends,
        tune: impl FnOnce(&mut RoutingConfig),
    ) -> (
        CancellationToken,
        tokio::task::JoinHandle<Result<(), String>>,
    ) {
        let mut rules = HashMap::new();
        rules.insert(
            BusinessId::new(BIZ).unwrap(),
            Rules::from_toml(RULES).unwrap(),
        );
        let mut routing = RoutingConfig::new(rules);
        routing.tick = Duration::from_millis(200);
        routing.gate.gap_timeout = Duration::from_secs(30);
        routing.gate.lease = Duration::from_secs(5);
        routing.reconcile_after = Duration::from_secs(1);
        tune(&mut routing);
        let instance = Routing::new(RoutingParts {
            config: self.config.clone(),
            backends,
            pool: self.pool.clone(),
            routing,
        })
        .await
        .unwrap();
        let stop = self.stop.child_token();
        let task = tokio::spawn(instance.run(stop.clone()));
        (stop, task)
    }
}

pub fn key(name: &str) -> ConversationKey {
    ConversationKey::parse(BIZ, &format!("urn:mbid:{name}")).unwrap()
}

fn key_proto(key: &ConversationKey) -> KeyProto {
    KeyProto {
        business_id: key.business.to_string(),
        opaque_id: key.opaque.as_str().to_owned(),
    }
}

pub async fn read<T: prost::Message + Default>(
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

impl Platform {
    pub fn inbound(
        &self,
        key: &ConversationKey,
        sequence: u64,
        kind: inbound_message::Kind,
    ) -> InboundMessage {
        self.inbound_with(key, sequence, kind, "")
    }

    pub fn inbound_with(
        &self,
        key: &ConversationKey,
        sequence: u64,
        kind: inbound_message::Kind,
        intent: &str,
    ) -> InboundMessage {
        InboundMessage {
            meta: Some(EventMeta {
                event_id: format!("in-{}-{sequence}", key.stable_hash()),
                conversation: Some(key_proto(key)),
                sequence,
                partition: self.config.partitions.of(key).get(),
                schema_version: 1,
                producer: "test".into(),
                ..Default::default()
            }),
            apple_message_id: format!("apple-{sequence}"),
            intent: intent.into(),
            kind: Some(kind),
            ..Default::default()
        }
    }

    pub fn text(&self, key: &ConversationKey, sequence: u64, body: &str) -> InboundMessage {
        self.inbound(
            key,
            sequence,
            inbound_message::Kind::Text(InboundText {
                body: body.into(),
                attachments: Vec::new(),
            }),
        )
    }

    /// Publishes an inbound event; `copy` > 0 publishes a duplicate under another NATS id
    /// (as a redelivered or re-ingested copy would arrive).
    pub async fn publish_inbound(&self, event: &InboundMessage, copy: u32) {
        let meta = event.meta.as_ref().unwrap();
        let key = ConversationKey::parse(
            &meta.conversation.as_ref().unwrap().business_id,
            &meta.conversation.as_ref().unwrap().opaque_id,
        )
        .unwrap();
        let msg_id = if copy == 0 {
            meta.event_id.clone()
        } else {
            format!("{}-copy{copy}", meta.event_id)
        };
        self.backends
            .bus
            .publish(
                Outgoing::new(
                    self.backends
                        .namespace
                        .subject(StreamKind::Inbound, self.config.partitions.of(&key)),
                    msg_id,
                    InboundMessage::TYPE,
                    event.encode_to_vec(),
                )
                .with_ordering_key(key.stable_hash()),
            )
            .await
            .unwrap();
    }

    pub async fn say(&self, key: &ConversationKey, sequence: u64, body: &str) {
        let event = self.text(key, sequence, body);
        self.publish_inbound(&event, 0).await;
    }

    pub async fn command(&self, key: &ConversationKey, command: routing_command::Command) {
        let id = parley_types::EventId::fresh();
        let event = RoutingCommand {
            meta: Some(EventMeta {
                event_id: id.to_string(),
                conversation: Some(key_proto(key)),
                partition: self.config.partitions.of(key).get(),
                schema_version: 1,
                producer: "test".into(),
                ..Default::default()
            }),
            issued_by: None,
            command: Some(command),
        };
        self.backends
            .bus
            .publish(
                Outgoing::new(
                    self.backends
                        .namespace
                        .subject(StreamKind::Routing, self.config.partitions.of(key)),
                    id.to_string(),
                    RoutingCommand::TYPE,
                    event.encode_to_vec(),
                )
                .with_ordering_key(key.stable_hash()),
            )
            .await
            .unwrap();
    }

    pub async fn agent_online(&self, agent: &str, capacity: u32) {
        self.pool
            .set_presence(
                BIZ,
                agent,
                &Presence {
                    status: PresenceStatus::Available,
                    capacity,
                    skills: Vec::new(),
                },
                Duration::from_secs(300),
            )
            .await
            .unwrap();
    }

    pub async fn bot_tasks(&self, want: usize, within: Duration) -> Vec<BotTask> {
        read(self.bot.as_ref(), want, within).await
    }

    pub async fn agent_tasks(&self, want: usize, within: Duration) -> Vec<AgentTask> {
        read(self.agent.as_ref(), want, within).await
    }

    pub async fn conversation_events(
        &self,
        want: usize,
        within: Duration,
    ) -> Vec<ConversationEvent> {
        read(self.events.as_ref(), want, within).await
    }

    pub async fn outbound_messages(&self, want: usize, within: Duration) -> Vec<OutboundMessage> {
        read(self.outbound.as_ref(), want, within).await
    }
}

/// The opaque id of an event's conversation.
pub fn conversation_of(meta: Option<&EventMeta>) -> String {
    meta.and_then(|m| m.conversation.as_ref())
        .map(|c| c.opaque_id.clone())
        .unwrap_or_default()
}

impl Platform {
    pub async fn pool_agents(&self) -> Vec<parley_state::AgentState> {
        self.pool.agents(BIZ).await.unwrap()
    }
}

impl Platform {
    /// Reads conversation events until one matches, dropping the others.
    pub async fn wait_event(
        &self,
        what: &str,
        mut matches: impl FnMut(&ConversationEvent) -> bool,
    ) -> ConversationEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no event: {what}");
            for event in self
                .conversation_events(1, Duration::from_millis(200))
                .await
            {
                if matches(&event) {
                    return event;
                }
            }
        }
    }

    /// Reads agent tasks until one matches, dropping the others.
    pub async fn wait_task(
        &self,
        what: &str,
        mut matches: impl FnMut(&AgentTask) -> bool,
    ) -> AgentTask {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no agent task: {what}"
            );
            for task in self.agent_tasks(1, Duration::from_millis(200)).await {
                if matches(&task) {
                    return task;
                }
            }
        }
    }

    pub async fn say_with_intent(
        &self,
        key: &ConversationKey,
        sequence: u64,
        body: &str,
        intent: &str,
    ) {
        let event = self.inbound_with(
            key,
            sequence,
            inbound_message::Kind::Text(InboundText {
                body: body.into(),
                attachments: Vec::new(),
            }),
            intent,
        );
        self.publish_inbound(&event, 0).await;
    }
}
