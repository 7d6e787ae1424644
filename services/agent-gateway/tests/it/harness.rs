//! Two businesses' agents, private NATS and Redis, gateways started on demand, and helpers to
//! play routing (agent tasks, pool assignments) and to read what the gateway published.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use parley_agent_gateway::{
    AgentGatewayService, Agents, GatewayOptions, GatewayParts, token_sha256,
};
use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_proto::{
    Event as _,
    v1::{
        AgentCommand, AgentConversationContext, AgentEvent, AgentTask, ConversationKey as KeyProto,
        EventMeta, InboundMessage, InboundText, NewAssignment, OutboundMessage, RoutingCommand,
        agent_command, agent_event, agent_gateway_client::AgentGatewayClient, agent_task,
        inbound_message,
    },
};
use parley_runtime::{Backends, PlatformConfig};
use parley_state::{
    AgentPool, Presence, PresenceStatus, QueueEntry, RedisStore, RedisStoreOptions, facts,
};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Streaming, transport::Channel};

pub const BIZ: &str = "biz-1";
pub const OTHER: &str = "biz-2";
pub const AGENT: &str = "agent-7";
pub const AGENT_TOKEN: &str = "token-of-agent-7";
pub const OTHER_AGENT: &str = "agent-x";
pub const OTHER_TOKEN: &str = "token-of-agent-x";
/// A second agent of `BIZ`, allowed at most 3 conversations at once.
pub const COLLEAGUE: &str = "agent-8";
pub const COLLEAGUE_TOKEN: &str = "token-of-agent-8";
/// A supervisor of `BIZ`.
pub const SUPERVISOR: &str = "sup-1";
pub const SUPERVISOR_TOKEN: &str = "token-of-sup-1";

pub fn agents() -> Agents {
    Agents::parse(&format!(
        r#"
[[agents]]
business = "{BIZ}"
id = "{AGENT}"
display_name = "Sam"
token_sha256 = "{}"

[[agents]]
business = "{OTHER}"
id = "{OTHER_AGENT}"
display_name = "Xena"
token_sha256 = "{}"

[[agents]]
business = "{BIZ}"
id = "{COLLEAGUE}"
display_name = "Kim"
token_sha256 = "{}"
max_capacity = 3
skills = ["fr"]

[[agents]]
business = "{BIZ}"
id = "{SUPERVISOR}"
display_name = "Lee"
token_sha256 = "{}"
role = "supervisor"

[[canned]]
business = "{BIZ}"
id = "hello"
title = "Hello"
text = "Hello from Acme"

[[canned]]
business = "{OTHER}"
id = "other-hello"
title = "Hello"
text = "Hello from Other"
"#,
        token_sha256(AGENT_TOKEN),
        token_sha256(OTHER_TOKEN),
        token_sha256(COLLEAGUE_TOKEN),
        token_sha256(SUPERVISOR_TOKEN)
    ))
    .unwrap()
}

pub struct Platform {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub config: Arc<PlatformConfig>,
    pub backends: Backends,
    pub pool: Arc<RedisStore>,
    pub outbound: Box<dyn Subscription>,
    pub routing: Box<dyn Subscription>,
    pub stop: CancellationToken,
    /// The blob store's directory (`blobs.url`).
    pub blob_dir: tempfile::TempDir,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn platform() -> Platform {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let mut config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(BIZ).unwrap(), "Acme")
        .with_business(BusinessId::new(OTHER).unwrap(), "Other");
    config.msp.id = "msp-test".into();
    config.admin.shutdown_grace = Duration::from_secs(2);
    let blob_dir = tempfile::tempdir().unwrap();
    config.blobs.url = format!("file://{}", blob_dir.path().display());
    config.validate().unwrap();
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "agent-gateway-test", Duration::from_secs(10))
        .await
        .unwrap();
    let spec = ConsumerSpec::new(&backends.namespace, StreamKind::Outbound, "test-outbound");
    let routing_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Routing, "test-routing");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(spec.clone())
                .with_consumer(routing_spec.clone()),
        )
        .await
        .unwrap();
    let outbound = backends.bus.subscribe(&spec).await.unwrap();
    let routing = backends.bus.subscribe(&routing_spec).await.unwrap();
    let pool = Arc::new(
        RedisStore::connect(
            &RedisStoreOptions::new(config.redis.url.clone()),
            config.redis.store_settings(),
        )
        .unwrap(),
    );
    Platform {
        nats,
        redis,
        config,
        backends,
        pool,
        outbound,
        routing,
        stop: CancellationToken::new(),
        blob_dir,
    }
}

impl Platform {
    /// Starts one gateway replica; its gRPC address.
    pub async fn gateway(&self) -> SocketAddr {
        self.gateway_until(self.stop.child_token()).await
    }

    /// Starts one gateway replica that runs until `stop` fires; its gRPC address.
    pub async fn gateway_until(&self, stop: CancellationToken) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gateway = AgentGatewayService::new(
            GatewayParts {
                config: self.config.clone(),
                backends: self.backends.clone(),
                agents: agents(),
                options: GatewayOptions {
                    poll_interval: Duration::from_millis(50),
                    ..GatewayOptions::default()
                },
            },
            stop,
        )
        .await
        .unwrap();
        tokio::spawn(gateway.run(listener));
        addr
    }

    /// A customer of `business` with the device capabilities ingest would have recorded.
    pub async fn customer(&self, business: &str, capabilities: &str) -> ConversationKey {
        let key = ConversationKey::parse(business, &format!("urn:mbid:{}", uuid::Uuid::now_v7()))
            .unwrap();
        self.backends
            .store
            .set_fields(&key, &[(facts::DEVICE_CAPABILITIES, capabilities)])
            .await
            .unwrap();
        key
    }

    /// Assigns `key` to `agent` in the pool, as routing would.
    pub async fn assign(&self, key: &ConversationKey, agent: &str) {
        let business = key.business.as_str();
        self.pool
            .set_presence(
                business,
                agent,
                &Presence {
                    status: PresenceStatus::Available,
                    capacity: 10,
                    skills: Vec::new(),
                },
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        self.pool
            .enqueue(
                business,
                "general",
                &QueueEntry {
                    conversation: key.hash_tag(),
                    priority: 0,
                    enqueued_at_ms: 1,
                    required_skills: Vec::new(),
                    declined: Vec::new(),
                },
            )
            .await
            .unwrap();
        let assigned = self
            .pool
            .assign_next(business, "general", 2, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(assigned.agent_id, agent);
    }

    /// Publishes an agent task on `amb.agent.<p>`, as routing would.
    pub async fn task(&self, key: &ConversationKey, agent: &str, task: agent_task::Task) {
        let partition = self.config.partitions.of(key);
        let event_id = uuid::Uuid::now_v7().to_string();
        // Routing's side: one per-conversation counter for `amb.agent`.
        let sequence = self
            .backends
            .store
            .allocate_sequence(key, "agent", Some(&event_id))
            .await
            .unwrap();
        let task = AgentTask {
            meta: Some(EventMeta {
                event_id: event_id.clone(),
                conversation: Some(KeyProto {
                    business_id: key.business.as_str().to_owned(),
                    opaque_id: key.opaque.as_str().to_owned(),
                }),
                partition: partition.get(),
                sequence: sequence.get(),
                producer: "test-routing".into(),
                schema_version: 1,
                ..Default::default()
            }),
            agent_id: agent.to_owned(),
            assignment_id: "asg-1".into(),
            task: Some(task),
        };
        self.backends
            .bus
            .publish(
                Outgoing::new(
                    self.backends
                        .namespace
                        .subject(StreamKind::Agent, partition),
                    event_id,
                    AgentTask::TYPE,
                    task.encode_to_vec(),
                )
                .with_ordering_key(key.stable_hash()),
            )
            .await
            .unwrap();
    }

    pub async fn offer(&self, key: &ConversationKey, agent: &str) {
        self.task(
            key,
            agent,
            agent_task::Task::NewAssignment(NewAssignment {
                context: Some(AgentConversationContext::default()),
                queue: "general".into(),
                ..Default::default()
            }),
        )
        .await;
    }

    pub async fn customer_says(&self, key: &ConversationKey, agent: &str, body: &str) {
        self.task(
            key,
            agent,
            agent_task::Task::CustomerMessage(InboundMessage {
                meta: Some(EventMeta {
                    event_id: uuid::Uuid::now_v7().to_string(),
                    conversation: Some(KeyProto {
                        business_id: key.business.as_str().to_owned(),
                        opaque_id: key.opaque.as_str().to_owned(),
                    }),
                    ..Default::default()
                }),
                kind: Some(inbound_message::Kind::Text(InboundText {
                    body: body.into(),
                    attachments: Vec::new(),
                })),
                ..Default::default()
            }),
        )
        .await;
    }

    /// Outbound events published so far (waits up to `within` for `want`).
    pub async fn outbound(&self, want: usize, within: Duration) -> Vec<OutboundMessage> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < want && tokio::time::Instant::now() < deadline {
            for d in self
                .outbound
                .fetch(16, Duration::from_millis(200))
                .await
                .unwrap()
            {
                out.push(OutboundMessage::decode(d.payload.as_ref()).unwrap());
                d.ack().await.unwrap();
            }
        }
        out
    }
}

impl Platform {
    /// Routing commands published so far (waits up to `within` for `want`).
    pub async fn routing(&self, want: usize, within: Duration) -> Vec<RoutingCommand> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < want && tokio::time::Instant::now() < deadline {
            for d in self
                .routing
                .fetch(16, Duration::from_millis(200))
                .await
                .unwrap()
            {
                out.push(RoutingCommand::decode(d.payload.as_ref()).unwrap());
                d.ack().await.unwrap();
            }
        }
        out
    }
}

/// A customer's transcript entry, as routing writes it.
pub fn customer_entry(text: &str, message_id: &str) -> parley_proto::v1::TranscriptEntry {
    parley_proto::v1::TranscriptEntry {
        author: Some(parley_proto::v1::Actor {
            kind: parley_proto::v1::ActorKind::Customer as i32,
            ..Default::default()
        }),
        at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        text: text.into(),
        message_id: message_id.into(),
        ..Default::default()
    }
}

pub async fn client(addr: SocketAddr) -> AgentGatewayClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    AgentGatewayClient::new(channel)
}

pub fn authed<T>(message: T, session: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {session}").parse().unwrap(),
    );
    request
}

pub async fn session(addr: SocketAddr, token: &str) -> String {
    client(addr)
        .await
        .authenticate(parley_proto::v1::AuthenticateRequest {
            agent_token: token.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .session_token
}

/// An open agent connection.
pub struct Agent {
    pub commands: mpsc::Sender<AgentCommand>,
    pub events: Streaming<AgentEvent>,
    next_id: u32,
}

impl Agent {
    pub async fn connect(addr: SocketAddr, session: &str, resume_after: u64) -> Self {
        let (tx, mut rx) = mpsc::channel::<AgentCommand>(64);
        tx.send(AgentCommand {
            command_id: "hello".into(),
            command: Some(agent_command::Command::Hello(parley_proto::v1::Hello {
                resume_after_cursor: resume_after,
            })),
        })
        .await
        .unwrap();
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let events = client(addr)
            .await
            .connect(authed(stream, session))
            .await
            .unwrap()
            .into_inner();
        Self {
            commands: tx,
            events,
            next_id: 0,
        }
    }

    /// The next event, within 10 s.
    pub async fn next(&mut self) -> AgentEvent {
        tokio::time::timeout(Duration::from_secs(10), self.events.message())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream is open")
    }

    /// The next event that is not a welcome or a command result.
    pub async fn next_logged(&mut self) -> AgentEvent {
        loop {
            let event = self.next().await;
            if !matches!(
                event.event,
                Some(agent_event::Event::Welcome(_) | agent_event::Event::Result(_))
            ) {
                return event;
            }
        }
    }

    /// Sends a command and waits for its result.
    pub async fn command(
        &mut self,
        command: agent_command::Command,
    ) -> parley_proto::v1::CommandResult {
        self.next_id += 1;
        let id = format!("cmd-{}-{}", self.next_id, uuid::Uuid::now_v7());
        self.commands
            .send(AgentCommand {
                command_id: id.clone(),
                command: Some(command),
            })
            .await
            .unwrap();
        loop {
            if let Some(agent_event::Event::Result(r)) = self.next().await.event
                && r.command_id == id
            {
                return r;
            }
        }
    }
}

/// The conversation reference in an assignment offer.
pub fn offered_ref(event: &AgentEvent) -> parley_proto::v1::ConversationRef {
    match &event.event {
        Some(agent_event::Event::Assignment(a)) => a.conversation.clone().unwrap(),
        other => panic!("expected an assignment offer, got {other:?}"),
    }
}
