//! The transcript an agent reads, through the real path: real `InboundMessage`s through
//! routing, an agent over gRPC (the gateway), the agent's replies through outbound to the
//! simulator as Apple. Every stored entry is a typed `TranscriptEntry`, both directions are
//! there, and nothing an agent receives holds the customer's opaque id or Apple's JSON.

use std::{collections::HashMap, sync::Arc, time::Duration};

use parley_agent_gateway::{
    AgentGatewayService, Agents, GatewayOptions, GatewayParts, token_sha256,
};
use parley_apple_sim::{DeviceKind, SimConfig, Simulator};
use parley_bus::{Outgoing, StreamKind};
use parley_outbound::{Outbound, OutboundParts};
use parley_proto::{
    Event as _,
    v1::{
        Accept, ActorKind, AgentCommand, AgentEvent, AgentStatus, AttachmentRef,
        AuthenticateRequest, BlobRef, ConversationKey as KeyProto, ConversationRef, CustomerClose,
        DataRefFailure, EventMeta, GetTranscriptRequest, Hello, InboundAttachment, InboundMessage,
        InboundText, InteractiveDataRef, InteractiveReply, ListConversationsRequest,
        ListPickerItem, ListPickerReply, ListPickerRequest, ListPickerSection, OutboundText,
        Reaction, ReactionType, Reply, SetPresence, TranscriptEntry, agent_command, agent_event,
        agent_gateway_client::AgentGatewayClient, inbound_attachment, inbound_message,
        interactive_reply, reply,
    },
};
use parley_routing::{Routing, RoutingConfig, RoutingParts, rules::Rules};
use parley_runtime::{Backends, PlatformConfig, Secret, open_blob_store};
use parley_state::{AgentPool as _, RedisStore, RedisStoreOptions, facts};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Streaming, transport::Channel};

use crate::harness::{BIZ, RULES};

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ==";
const MSP: &str = "msp-test";
const AGENT: &str = "ava";
const TOKEN: &str = "token-of-ava";
const DATA_REF_KEY: &str = "00d4f1e2c3b4a5968778695a4b3c2d1e0f00d4f1e2c3b4a5968778695a4b3c2d1e";
const DATA_REF_URL: &str = "https://p.apple.example/secret-reference";

struct World {
    _nats: NatsServer,
    _redis: RedisServer,
    sim: Simulator,
    _blobs: tempfile::TempDir,
    config: Arc<PlatformConfig>,
    backends: Backends,
    pool: Arc<RedisStore>,
    gateway: std::net::SocketAddr,
    stop: CancellationToken,
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn world() -> World {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let sim = Simulator::start(
        SimConfig {
            msp_id: MSP.into(),
            secret_base64: SECRET.into(),
            businesses: vec![BIZ.into()],
            msp_webhook_url: None,
        },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let mut config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix())
        .with_business(BusinessId::new(BIZ).unwrap(), "Acme");
    config.msp.id = MSP.into();
    config.msp.secret = Some(Secret::new(SECRET));
    config.msp.apple_base_url = sim.api_base_url();
    config.blobs.url = format!("file://{}", blobs.path().display());
    config.admin.shutdown_grace = Duration::from_secs(2);
    config.validate().unwrap();
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "transcript-test", Duration::from_secs(10))
        .await
        .unwrap();
    let pool = Arc::new(
        RedisStore::connect(
            &RedisStoreOptions::new(config.redis.url.clone()),
            config.redis.store_settings(),
        )
        .unwrap(),
    );
    let stop = CancellationToken::new();

    let mut rules = HashMap::new();
    rules.insert(
        BusinessId::new(BIZ).unwrap(),
        Rules::from_toml(RULES).unwrap(),
    );
    let mut routing = RoutingConfig::new(rules);
    routing.tick = Duration::from_millis(200);
    let routing = Routing::new(RoutingParts {
        config: config.clone(),
        backends: backends.clone(),
        pool: pool.clone(),
        routing,
    })
    .await
    .unwrap();
    tokio::spawn(routing.run(stop.child_token()));

    let outbound = Outbound::new(OutboundParts {
        config: config.clone(),
        backends: backends.clone(),
        blobs: open_blob_store(&config.blobs).unwrap(),
    })
    .await
    .unwrap();
    tokio::spawn(outbound.run(stop.child_token()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = listener.local_addr().unwrap();
    let agents = Agents::parse(&format!(
        "[[agents]]\nbusiness = \"{BIZ}\"\nid = \"{AGENT}\"\ndisplay_name = \"Ava\"\n\
         token_sha256 = \"{}\"\n",
        token_sha256(TOKEN)
    ))
    .unwrap();
    let service = AgentGatewayService::new(
        GatewayParts {
            config: config.clone(),
            backends: backends.clone(),
            agents,
            options: GatewayOptions {
                poll_interval: Duration::from_millis(50),
                ..GatewayOptions::default()
            },
        },
        stop.child_token(),
    )
    .await
    .unwrap();
    tokio::spawn(service.run(listener));

    World {
        _nats: nats,
        _redis: redis,
        sim,
        _blobs: blobs,
        config,
        backends,
        pool,
        gateway,
        stop,
    }
}

impl World {
    /// Publishes a customer's message on `amb.inbound`, as ingest would.
    async fn inbound(&self, key: &ConversationKey, sequence: u64, kind: inbound_message::Kind) {
        let event = InboundMessage {
            meta: Some(EventMeta {
                event_id: format!("in-{}-{sequence}", key.stable_hash()),
                conversation: Some(KeyProto {
                    business_id: key.business.to_string(),
                    opaque_id: key.opaque.as_str().to_owned(),
                }),
                sequence,
                partition: self.config.partitions.of(key).get(),
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_700_000_000 + i64::try_from(sequence).unwrap(),
                    nanos: 0,
                }),
                schema_version: 1,
                producer: "ingest".into(),
                ..Default::default()
            }),
            apple_message_id: format!("apple-msg-{sequence}"),
            intent: "direct".into(),
            kind: Some(kind),
            ..Default::default()
        };
        self.backends
            .bus
            .publish(
                Outgoing::new(
                    self.backends
                        .namespace
                        .subject(StreamKind::Inbound, self.config.partitions.of(key)),
                    event.meta.as_ref().unwrap().event_id.clone(),
                    InboundMessage::TYPE,
                    event.encode_to_vec(),
                )
                .with_ordering_key(key.stable_hash()),
            )
            .await
            .unwrap();
    }
}

fn authed<T>(message: T, session: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {session}").parse().unwrap(),
    );
    request
}

/// The agent's console: a connection, and every event it received (kept for the checks).
struct Console {
    client: AgentGatewayClient<Channel>,
    session: String,
    commands: mpsc::Sender<AgentCommand>,
    events: Streaming<AgentEvent>,
    received: Vec<AgentEvent>,
    next_id: u32,
}

impl Console {
    async fn open(addr: std::net::SocketAddr) -> Self {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = AgentGatewayClient::new(channel);
        let session = client
            .authenticate(AuthenticateRequest {
                agent_token: TOKEN.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .session_token;
        let (tx, mut rx) = mpsc::channel::<AgentCommand>(64);
        tx.send(AgentCommand {
            command_id: "hello".into(),
            command: Some(agent_command::Command::Hello(Hello {
                resume_after_cursor: 0,
            })),
        })
        .await
        .unwrap();
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let events = client
            .connect(authed(stream, &session))
            .await
            .unwrap()
            .into_inner();
        Self {
            client,
            session,
            commands: tx,
            events,
            received: Vec::new(),
            next_id: 0,
        }
    }

    async fn send(&mut self, command: agent_command::Command) -> String {
        self.next_id += 1;
        let id = format!("cmd-{}", self.next_id);
        self.commands
            .send(AgentCommand {
                command_id: id.clone(),
                command: Some(command),
            })
            .await
            .unwrap();
        id
    }

    /// Reads events until one matches (all are kept in `received`).
    async fn until(&mut self, what: &str, matches: impl Fn(&AgentEvent) -> bool) -> AgentEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = tokio::time::timeout(left, self.events.message())
                .await
                .unwrap_or_else(|_| panic!("no event: {what}"))
                .unwrap()
                .unwrap_or_else(|| panic!("the stream ended before: {what}"));
            self.received.push(event.clone());
            if matches(&event) {
                return event;
            }
        }
    }

    /// Sends a command and waits for its successful result.
    async fn command(&mut self, command: agent_command::Command) {
        let id = self.send(command).await;
        let result = self
            .until(
                &format!("the result of {id}"),
                |e| matches!(&e.event, Some(agent_event::Event::Result(r)) if r.command_id == id),
            )
            .await;
        let Some(agent_event::Event::Result(result)) = result.event else {
            unreachable!()
        };
        assert!(result.ok, "{id} failed: {result:?}");
    }

    async fn transcript(&mut self, conversation: &ConversationRef) -> Vec<TranscriptEntry> {
        self.client
            .get_transcript(authed(
                GetTranscriptRequest {
                    conversation: Some(conversation.clone()),
                    limit: 0,
                },
                &self.session,
            ))
            .await
            .unwrap()
            .into_inner()
            .entries
    }
}

fn customer_messages(events: &[AgentEvent]) -> Vec<InboundMessage> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Some(agent_event::Event::CustomerMessage(m)) => m.message.clone(),
            _ => None,
        })
        .collect()
}

/// Fails if `bytes` (anything an agent received, encoded) holds any of `secrets`.
fn assert_holds_none(what: &str, bytes: &[u8], secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{what} holds {secret:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcript_holds_typed_entries_of_both_sides_and_no_opaque_id() {
    let world = world().await;
    let device = world
        .sim
        .devices()
        .new_device(BIZ, DeviceKind::Iphone)
        .unwrap();
    let key = ConversationKey::parse(BIZ, &device.customer).unwrap();
    let opaque = key.opaque.as_str().to_owned();
    // What ingest records with the customer's first message.
    let kind = DeviceKind::Iphone;
    world
        .backends
        .store
        .set_fields(
            &key,
            &[
                (facts::DEVICE_CAPABILITIES, kind.capability_list()),
                (facts::DEVICE_AGENT, kind.device_agent()),
            ],
        )
        .await
        .unwrap();
    world
        .backends
        .store
        .raise_field(&key, facts::CUSTOMER_ACTIVE_AT, 1)
        .await
        .unwrap();

    // The agent signs in and is available.
    let mut console = Console::open(world.gateway).await;
    console
        .command(agent_command::Command::Presence(SetPresence {
            status: AgentStatus::Available as i32,
            capacity: 2,
            skills: Vec::new(),
        }))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.pool.agents(BIZ).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no presence");
        tokio::time::sleep(Duration::from_millis(50)).await; // polling the pool
    }

    // 1: a text with a photo (stored by ingest under the redacted conversation).
    world
        .inbound(
            &key,
            1,
            inbound_message::Kind::Text(InboundText {
                body: "I want to talk to a person".into(),
                attachments: vec![InboundAttachment {
                    outcome: Some(inbound_attachment::Outcome::Stored(AttachmentRef {
                        blob: Some(BlobRef {
                            store: "fs".into(),
                            key: format!("inbound/{BIZ}/{}/in-1/0", key.opaque.redacted()),
                            sha256: "ab".repeat(32),
                            size_bytes: 1234,
                        }),
                        mime_type: "image/jpeg".into(),
                        size_bytes: 1234,
                        name: "receipt.jpg".into(),
                    })),
                }],
            }),
        )
        .await;
    let offer = console
        .until("the assignment", |e| {
            matches!(e.event, Some(agent_event::Event::Assignment(_)))
        })
        .await;
    let Some(agent_event::Event::Assignment(offer)) = offer.event else {
        unreachable!()
    };
    assert_eq!(offer.queue, "general");
    assert_eq!(
        offer.response_target_seconds, 300,
        "the queue's response target"
    );
    let conversation = offer.conversation.unwrap();
    console
        .command(agent_command::Command::Accept(Accept {
            conversation: Some(conversation.clone()),
        }))
        .await;

    // 2: a list picker pick; 3: an interactive reply whose data reference could not be
    // fetched (ingest then puts Apple's whole message, with `sourceId`, in `raw_json`);
    // 4: a tapback.
    world
        .inbound(
            &key,
            2,
            inbound_message::Kind::InteractiveReply(InteractiveReply {
                request_identifier: "req-1".into(),
                raw_json: r#"{"data":{"listPicker":{"sections":[]}}}"#.into(),
                reply: Some(interactive_reply::Reply::ListPicker(ListPickerReply {
                    sections: vec![ListPickerSection {
                        title: "Stores".into(),
                        items: vec![ListPickerItem {
                            identifier: "store-1".into(),
                            title: "Main Street".into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            }),
        )
        .await;
    world
        .inbound(
            &key,
            3,
            inbound_message::Kind::InteractiveReply(InteractiveReply {
                bid: "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension".into(),
                raw_json: format!(
                    r#"{{"id":"apple-msg-3","sourceId":"{opaque}","destinationId":"{BIZ}","type":"interactive","interactiveDataRef":{{"key":"{DATA_REF_KEY}","url":"{DATA_REF_URL}"}}}}"#
                ),
                reply: Some(interactive_reply::Reply::DataRefFailure(DataRefFailure {
                    data_ref: Some(InteractiveDataRef {
                        url: DATA_REF_URL.into(),
                        owner: "owner-token".into(),
                        key: DATA_REF_KEY.into(),
                        signature: "cafe".into(),
                        title: "Your order".into(),
                        size: 20_000,
                        ..Default::default()
                    }),
                    reason: parley_proto::v1::AttachmentFailureReason::DownloadFailed as i32,
                    detail: "download failed".into(),
                })),
                ..Default::default()
            }),
        )
        .await;
    world
        .inbound(
            &key,
            4,
            inbound_message::Kind::Reaction(Reaction {
                r#type: ReactionType::Love as i32,
                target_excerpt: "Main Street".into(),
                raw_body: "Loved “Main Street”".into(),
                ..Default::default()
            }),
        )
        .await;
    console
        .until("the tapback", |e| {
            matches!(&e.event, Some(agent_event::Event::CustomerMessage(m))
                if matches!(m.message.as_ref().and_then(|m| m.kind.as_ref()),
                    Some(inbound_message::Kind::Reaction(_))))
        })
        .await;

    // The agent answers with a text and a list picker; outbound sends both to Apple.
    console
        .command(agent_command::Command::Reply(Reply {
            conversation: Some(conversation.clone()),
            content: Some(reply::Content::Text(OutboundText {
                body: "Hello, I am Ava".into(),
                attachments: Vec::new(),
            })),
        }))
        .await;
    console
        .command(agent_command::Command::Reply(Reply {
            conversation: Some(conversation.clone()),
            content: Some(reply::Content::ListPicker(ListPickerRequest {
                sections: vec![ListPickerSection {
                    title: "Stores".into(),
                    items: vec![ListPickerItem {
                        identifier: "store-2".into(),
                        title: "Harbour Road".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })),
        }))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let entries = console.transcript(&conversation).await;
        let by_agent = entries
            .iter()
            .filter(|e| e.author.as_ref().is_some_and(|a| a.id == AGENT))
            .count();
        let assigned = entries.iter().any(|e| e.text == "Assigned to Ava.");
        if by_agent == 2 && assigned {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent's replies or the assignment never reached the transcript: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await; // polling the transcript
    }

    // Outbound's results reach the agent (through the gateway's delivery consumer).
    console
        .until("the delivery of a reply", |e| {
            matches!(&e.event, Some(agent_event::Event::Delivery(d))
                if matches!(d.result.as_ref().and_then(|r| r.outcome.as_ref()),
                    Some(parley_proto::v1::delivery_result::Outcome::Sent(_))))
        })
        .await;

    // 5: the customer closes the conversation.
    world
        .inbound(&key, 5, inbound_message::Kind::Close(CustomerClose {}))
        .await;
    console
        .until("the end of the assignment", |e| {
            matches!(e.event, Some(agent_event::Event::Unassigned(_)))
        })
        .await;

    // Every stored entry is a typed entry.
    let stored = world.backends.store.transcript(&key, 1000).await.unwrap();
    for bytes in &stored {
        let entry = TranscriptEntry::decode(bytes.as_ref()).expect("a typed entry");
        assert!(entry.author.is_some(), "an entry without author: {entry:?}");
        assert!(entry.at.is_some(), "an entry without time: {entry:?}");
        assert!(
            !entry.message_id.is_empty(),
            "an entry without id: {entry:?}"
        );
    }

    // The agent's transcript: the customer's five messages, the agent's two replies (and the
    // queue position Parley told, if it did), in order.
    let entries = console.transcript(&conversation).await;
    assert_eq!(
        entries.len(),
        stored.len(),
        "nothing is skipped: {entries:#?}"
    );
    let kind_of = |e: &TranscriptEntry| {
        ActorKind::try_from(e.author.as_ref().map_or(0, |a| a.kind)).unwrap_or_default()
    };
    let customer: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| kind_of(e) == ActorKind::Customer)
        .map(|e| (e.message_id.as_str(), e.text.as_str()))
        .collect();
    assert_eq!(
        customer,
        [
            (
                "apple-msg-1",
                "I want to talk to a person\n[Attachment: receipt.jpg, image/jpeg, 1234 bytes]"
            ),
            ("apple-msg-2", "[Picked: Main Street]"),
            (
                "apple-msg-3",
                "[An interactive reply that could not be received]"
            ),
            ("apple-msg-4", "[Loved “Main Street”]"),
        ]
    );
    let agent: Vec<&TranscriptEntry> = entries
        .iter()
        .filter(|e| kind_of(e) == ActorKind::Agent)
        .collect();
    assert_eq!(agent.len(), 2, "{entries:#?}");
    assert_eq!(agent[0].text, "Hello, I am Ava");
    assert_eq!(agent[1].text, "[List picker: Stores]\nHarbour Road");
    for entry in &agent {
        let author = entry.author.as_ref().unwrap();
        assert_eq!(
            (author.id.as_str(), author.display_name.as_str()),
            (AGENT, "Ava")
        );
    }
    let last = entries.last().unwrap();
    assert_eq!(kind_of(last), ActorKind::System);
    assert_eq!(last.text, "The customer closed the conversation.");
    assert_eq!(last.message_id, "apple-msg-5");
    // The system lines between the messages: the wait, the assignment.
    let system: Vec<&str> = entries
        .iter()
        .filter(|e| kind_of(e) == ActorKind::System)
        .map(|e| e.text.as_str())
        .collect();
    assert!(system.contains(&"Assigned to Ava."), "{system:?}");
    assert!(
        system
            .iter()
            .any(|t| t.starts_with("Waiting for an agent in the queue “general”")),
        "{system:?}"
    );
    let position = |e: &TranscriptEntry| entries.iter().position(|x| x == e).unwrap();
    assert!(
        position(agent[0])
            > position(
                entries
                    .iter()
                    .find(|e| e.message_id == "apple-msg-4")
                    .unwrap()
            )
    );

    // Nothing an agent received holds the opaque id, Apple's JSON of the message or the data
    // reference's key and URL: the events on its connection, the transcript, the list.
    let secrets = [
        opaque.as_str(),
        "sourceId",
        DATA_REF_KEY,
        DATA_REF_URL,
        "owner-token",
    ];
    let messages = customer_messages(&console.received);
    assert!(messages.len() >= 3, "customer messages: {messages:#?}");
    for event in &console.received {
        assert_holds_none(&format!("{event:?}"), &event.encode_to_vec(), &secrets);
    }
    let transcript = console
        .client
        .get_transcript(authed(
            GetTranscriptRequest {
                conversation: Some(conversation.clone()),
                limit: 0,
            },
            &console.session,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_holds_none("the transcript", &transcript.encode_to_vec(), &secrets);
    let listed = console
        .client
        .list_conversations(authed(ListConversationsRequest {}, &console.session))
        .await
        .unwrap()
        .into_inner();
    assert_holds_none("the conversation list", &listed.encode_to_vec(), &secrets);
}
