//! A bot on private NATS and Redis, a producer of bot tasks (as routing publishes them), and
//! readers of what the bot publishes.

use std::{sync::Arc, time::Duration};

use parley_bot::{Bot, BotConfig, BotParts, Knowledge};
use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_proto::{
    Event as _,
    v1::{
        BotContext, BotTask, ConversationKey as KeyProto, EventMeta, InboundMessage, InboundText,
        OutboundMessage, RoutingCommand, bot_task, inbound_message,
    },
};
use parley_runtime::{Backends, PlatformConfig};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::fixtures::{ACME_ID, acme, all_caps, context};

/// A business whose conversations an external bot answers.
pub const EXTERNAL: &str = "biz-external";

pub struct Platform {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
    pub outbound: Box<dyn Subscription>,
    pub routing: Box<dyn Subscription>,
    pub stop: CancellationToken,
    /// The backends the bot instances use (the platform's, possibly wrapped).
    pub bot_backends: Option<Backends>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn platform() -> Platform {
    platform_with(|_| {}).await
}

/// A platform whose bot works through `wrap(store)` (for fault injection).
pub async fn platform_with(wrap: impl FnOnce(&mut Backends)) -> Platform {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let mut config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(ACME_ID).unwrap(), "Acme Coffee")
        .with_business(BusinessId::new(EXTERNAL).unwrap(), "Elsewhere");
    config.admin.shutdown_grace = Duration::from_secs(2);
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "bot-test", Duration::from_secs(10))
        .await
        .unwrap();
    let ns = &backends.namespace;
    let outbound = ConsumerSpec::new(ns, StreamKind::Outbound, "test-outbound");
    let routing = ConsumerSpec::new(ns, StreamKind::Routing, "test-routing");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(outbound.clone())
                .with_consumer(routing.clone()),
        )
        .await
        .unwrap();
    let platform = Platform {
        outbound: backends.bus.subscribe(&outbound).await.unwrap(),
        routing: backends.bus.subscribe(&routing).await.unwrap(),
        nats,
        redis,
        config,
        backends,
        stop: CancellationToken::new(),
        bot_backends: None,
    };
    let mut bot_backends = platform.backends.clone();
    wrap(&mut bot_backends);
    let mut platform = platform;
    platform.bot_backends = Some(bot_backends);
    platform.start().await;
    platform
}

impl Platform {
    /// Starts one more bot instance (several share the durable consumer, as replicas do).
    pub async fn start(&self) {
        let knowledge: Knowledge = acme();
        let mut bot = BotConfig::new([(knowledge.business.clone(), knowledge)].into());
        bot.external_businesses
            .insert(BusinessId::new(EXTERNAL).unwrap());
        bot.gate.gap_timeout = Duration::from_secs(30);
        bot.gate.lease = Duration::from_secs(5);
        let instance = Bot::new(BotParts {
            config: self.config.clone(),
            backends: self
                .bot_backends
                .clone()
                .unwrap_or_else(|| self.backends.clone()),
            bot,
        })
        .await
        .unwrap();
        tokio::spawn(instance.run(self.stop.child_token()));
    }
}

pub fn key(business: &str, name: &str) -> ConversationKey {
    ConversationKey::parse(business, &format!("urn:mbid:{name}")).unwrap()
}

pub fn acme_key(name: &str) -> ConversationKey {
    key(ACME_ID, name)
}

impl Platform {
    pub fn task(
        &self,
        key: &ConversationKey,
        sequence: u64,
        ctx: BotContext,
        task: bot_task::Task,
    ) -> BotTask {
        task_for(&self.config, key, sequence, ctx, task)
    }

    pub fn text_task(&self, key: &ConversationKey, sequence: u64, body: &str) -> BotTask {
        text_task_for(&self.config, key, sequence, body)
    }

    /// Publishes a task; `copy` > 0 publishes it again under another NATS id (a republished
    /// copy outside JetStream's duplicate window).
    pub async fn publish(&self, task: &BotTask, copy: u32) {
        publish_task(&self.backends, &self.config, task, copy).await;
    }

    pub async fn say(&self, key: &ConversationKey, sequence: u64, body: &str) {
        let task = self.text_task(key, sequence, body);
        self.publish(&task, 0).await;
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

impl Platform {
    pub async fn outbound_messages(&self, want: usize, within: Duration) -> Vec<OutboundMessage> {
        read(self.outbound.as_ref(), want, within).await
    }

    pub async fn routing_commands(&self, want: usize, within: Duration) -> Vec<RoutingCommand> {
        read(self.routing.as_ref(), want, within).await
    }
}

/// The opaque id of an event's conversation.
pub fn opaque_of(meta: Option<&EventMeta>) -> String {
    meta.and_then(|m| m.conversation.as_ref())
        .map(|c| c.opaque_id.clone())
        .unwrap_or_default()
}

/// A platform view that only publishes tasks (its servers belong to the caller).
pub struct Tasks {
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
}

pub fn tasks_only(config: Arc<PlatformConfig>, backends: Backends) -> Tasks {
    Tasks { config, backends }
}

impl Tasks {
    pub async fn say(&self, key: &ConversationKey, sequence: u64, body: &str) {
        let task = text_task_for(&self.config, key, sequence, body);
        publish_task(&self.backends, &self.config, &task, 0).await;
    }
}

pub fn task_for(
    config: &PlatformConfig,
    key: &ConversationKey,
    sequence: u64,
    ctx: BotContext,
    task: bot_task::Task,
) -> BotTask {
    let meta = EventMeta {
        event_id: format!("task-{:016x}-{sequence}", key.stable_hash()),
        conversation: Some(KeyProto {
            business_id: key.business.to_string(),
            opaque_id: key.opaque.as_str().to_owned(),
        }),
        sequence,
        partition: config.partitions.of(key).get(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: super::fixtures::WEDNESDAY_NOON,
            nanos: 0,
        }),
        schema_version: 1,
        producer: "routing".into(),
        ..EventMeta::default()
    };
    BotTask {
        meta: Some(meta),
        context: Some(ctx),
        task: Some(task),
    }
}

pub fn text_task_for(
    config: &PlatformConfig,
    key: &ConversationKey,
    sequence: u64,
    body: &str,
) -> BotTask {
    let inbound = InboundMessage {
        meta: Some(EventMeta {
            event_id: format!("in-{:016x}-{sequence}", key.stable_hash()),
            ..EventMeta::default()
        }),
        kind: Some(inbound_message::Kind::Text(InboundText {
            body: body.into(),
            attachments: Vec::new(),
        })),
        ..InboundMessage::default()
    };
    task_for(
        config,
        key,
        sequence,
        context("en-US", &all_caps()),
        bot_task::Task::CustomerMessage(inbound),
    )
}

pub async fn publish_task(backends: &Backends, config: &PlatformConfig, task: &BotTask, copy: u32) {
    let meta = task.meta.as_ref().unwrap();
    let conversation = meta.conversation.as_ref().unwrap();
    let key = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id).unwrap();
    let id = if copy == 0 {
        meta.event_id.clone()
    } else {
        format!("{}-copy{copy}", meta.event_id)
    };
    backends
        .bus
        .publish(
            Outgoing::new(
                backends
                    .namespace
                    .subject(StreamKind::Bot, config.partitions.of(&key)),
                id,
                BotTask::TYPE,
                task.encode_to_vec(),
            )
            .with_ordering_key(key.stable_hash()),
        )
        .await
        .unwrap();
}
