//! 10,000 customer messages across 200 conversations, through the real webhook, an echo
//! producer and the real outbound binary, while outbound is killed (kill -9) twice and
//! nats-server once: every message Apple got a 200 for is one event; every reply reaches
//! Apple, in order per conversation; duplicates at Apple are counted.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parley_apple_sim::{Device, DeviceKind};
use parley_bus::{
    ConsumeOptions, ConsumerSpec, Delivery, Handler, Outcome, Outgoing, StreamKind, Topology,
    run_consumer,
};
use parley_ingest::{Ingest, IngestParts};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, EventMeta, InboundMessage, OutboundMessage, OutboundText,
        inbound_message, outbound_message::Kind,
    },
};
use parley_runtime::{Backends, PlatformConfig, open_blob_store};
use parley_state::facts;
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{ConversationKey, EventId};
use prost::Message as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::harness::{BIZ, MSP, SECRET, config, simulator};

const CONVERSATIONS: usize = 200;
const PER_CONVERSATION: usize = 50;

/// Replies to each customer text with "echo <text>", as the bot or an agent would.
struct Echo {
    backends: Backends,
    partitions: parley_types::PartitionCount,
}

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(inbound) = InboundMessage::decode(delivery.payload.as_ref()) else {
            return Outcome::DeadLetter {
                reason: "undecodable".into(),
            };
        };
        let Some(inbound_message::Kind::Text(text)) = inbound.kind.as_ref() else {
            return Outcome::Ack;
        };
        let meta = inbound.meta.clone().unwrap_or_default();
        let conversation = meta.conversation.clone().unwrap_or_default();
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return Outcome::DeadLetter {
                reason: "bad key".into(),
            };
        };
        let Ok(cause) = EventId::new(meta.event_id.clone()) else {
            return Outcome::DeadLetter {
                reason: "bad id".into(),
            };
        };
        let id = cause.derived("echo", 0);
        let retry = |e: String| Outcome::Retry {
            delay: Duration::from_millis(300),
            reason: e,
        };
        let sequence = match self
            .backends
            .store
            .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
            .await
        {
            Ok(sequence) => sequence,
            Err(e) => return retry(e.to_string()),
        };
        let partition = self.partitions.of(&key);
        let reply = OutboundMessage {
            meta: Some(EventMeta {
                event_id: id.to_string(),
                conversation: Some(conversation),
                sequence: sequence.get(),
                partition: partition.get(),
                causation_id: meta.event_id.clone(),
                producer: "echo".into(),
                schema_version: 1,
                ..Default::default()
            }),
            apple_message_id: id.to_string(),
            sender: Some(Actor {
                kind: ActorKind::Bot as i32,
                id: "echo".into(),
                display_name: "Echo".into(),
            }),
            kind: Some(Kind::Text(OutboundText {
                body: format!("echo {}", text.body),
                attachments: vec![],
            })),
            ..Default::default()
        };
        let outgoing = Outgoing::new(
            self.backends
                .namespace
                .subject(StreamKind::Outbound, partition),
            id.to_string(),
            OutboundMessage::TYPE,
            reply.encode_to_vec(),
        )
        .with_ordering_key(key.stable_hash());
        match self.backends.bus.publish(outgoing).await {
            Ok(_) => Outcome::Ack,
            Err(e) => retry(e.to_string()),
        }
    }
}

fn toml_config(config: &PlatformConfig, blobs: &std::path::Path) -> String {
    format!(
        r#"partitions = {partitions}
[msp]
id = "{MSP}"
secret = "{SECRET}"
apple_base_url = "{apple}"
[nats]
url = "{nats}"
prefix = "{prefix}"
[redis]
url = "{redis}"
key_prefix = "{key_prefix}"
[admin]
listen = "127.0.0.1:0"
shutdown_grace = "5s"
[blobs]
url = "file://{blobs}"
[outbound]
backoff_initial = "100ms"
backoff_max = "1s"
max_attempts = 1000
request_timeout = "2s"
claim_lease = "3s"
gap_timeout = "20s"
rate_per_business = 100000.0
burst_per_business = 100000
[telemetry]
log_format = "text"
log_filter = "warn"
[[businesses]]
id = "{BIZ}"
name = "Acme"
"#,
        partitions = config.partitions.get(),
        apple = config.msp.apple_base_url,
        nats = config.nats.url,
        prefix = config.nats.prefix,
        redis = config.redis.url,
        key_prefix = config.redis.key_prefix,
        blobs = blobs.display(),
    )
}

fn spawn_outbound(config_file: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_parley-outbound"))
        .arg("--config")
        .arg(config_file)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start parley-outbound")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_kill_outbound_twice_and_nats_once_during_10000_messages() {
    parley_testkit::init_tracing();
    let mut nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(config(
        &nats.url(),
        &redis.url(),
        &sim.api_base_url(),
        &dir.path().join("blobs"),
    ));
    let config_file = dir.path().join("outbound.toml");
    std::fs::write(
        &config_file,
        toml_config(&config, &dir.path().join("blobs")),
    )
    .unwrap();
    let log = dir.path().join("outbound.log");
    let backends = Backends::connect(&config, "fault-test", Duration::from_secs(10))
        .await
        .unwrap();

    // Ingest in this process, the echo producer, and a checker of the inbound stream.
    let stop = CancellationToken::new();
    let ingest = Ingest::new(IngestParts {
        config: config.clone(),
        backends: backends.clone(),
        blobs: open_blob_store(&config.blobs).unwrap(),
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim.devices()
        .set_webhook(format!("http://{}/message", listener.local_addr().unwrap()));
    tokio::spawn(ingest.serve(listener, stop.clone()));
    let echo_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Inbound, "echo");
    let checker_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Inbound, "checker");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(echo_spec.clone())
                .with_consumer(checker_spec.clone()),
        )
        .await
        .unwrap();
    tokio::spawn({
        let (bus, ns, stop) = (
            backends.bus.clone(),
            backends.namespace.clone(),
            stop.clone(),
        );
        let echo = Arc::new(Echo {
            backends: backends.clone(),
            partitions: config.partitions,
        });
        async move { run_consumer(bus, &ns, &echo_spec, echo, ConsumeOptions::default(), stop).await }
    });
    let mut outbound = spawn_outbound(&config_file, &log);

    // 200 customers, 50 messages each, 16 at a time.
    let devices: Vec<Device> = (0..CONVERSATIONS)
        .map(|_| sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap())
        .collect();
    let accepted = Arc::new(AtomicUsize::new(0));
    let total = CONVERSATIONS * PER_CONVERSATION;
    let started = Instant::now();
    let senders = {
        let sim_devices = sim.devices().clone();
        let accepted = accepted.clone();
        let devices = devices.clone();
        tokio::spawn(async move {
            use futures::StreamExt as _;
            futures::stream::iter(devices.into_iter().enumerate())
                .for_each_concurrent(16, |(c, device)| {
                    let sim_devices = sim_devices.clone();
                    let accepted = accepted.clone();
                    async move {
                        for n in 0..PER_CONVERSATION {
                            let id = format!("c{c:03}-m{n:02}");
                            deliver_with(&sim_devices, &device, &id, &format!("{n:02}")).await;
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
                .await;
        })
    };
    let at = |fraction: f64| (total as f64 * fraction) as usize;
    let wait_for = |target: usize| {
        let accepted = accepted.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(300);
            while accepted.load(Ordering::SeqCst) < target {
                assert!(
                    Instant::now() < deadline,
                    "sending stalled at {}",
                    accepted.load(Ordering::SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(at(0.30)).await;
    outbound.kill().unwrap();
    outbound.wait().unwrap();
    outbound = spawn_outbound(&config_file, &log);
    wait_for(at(0.45)).await;
    nats.kill().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    nats.restart().unwrap();
    wait_for(at(0.60)).await;
    outbound.kill().unwrap();
    outbound.wait().unwrap();
    outbound = spawn_outbound(&config_file, &log);
    tokio::time::timeout(Duration::from_secs(300), senders)
        .await
        .expect("all messages accepted")
        .unwrap();
    let send_time = started.elapsed();

    // Every reply reaches Apple, in order per conversation (the drain is bounded).
    let state = sim.state().clone();
    let drained = state
        .wait_for(Duration::from_secs(240), |all| {
            let mut unique: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
            for r in all {
                unique
                    .entry(r.customer.as_str())
                    .or_default()
                    .insert(r.id.as_str());
            }
            unique.len() == CONVERSATIONS
                && unique.values().all(|ids| ids.len() == PER_CONVERSATION)
        })
        .await;
    let received = state.received();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let panics: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains("panicked") || l.contains("ERROR"))
        .take(20)
        .collect();
    let log_tail = format!(
        "{}\n...\n{}",
        panics.join("\n"),
        &log_text[..log_text.len().min(3000)]
    );
    assert!(
        drained.is_some(),
        "not every reply reached Apple ({} received); outbound log:\n{}",
        received.len(),
        &log_tail[log_tail.len().saturating_sub(4000)..]
    );
    let mut duplicates = 0;
    for device in &devices {
        let bodies: Vec<&str> = received
            .iter()
            .filter(|r| r.customer == device.customer)
            .map(|r| r.body["body"].as_str().unwrap())
            .collect();
        let mut sorted = bodies.clone();
        sorted.sort();
        assert_eq!(
            bodies, sorted,
            "replies out of order for {}",
            device.customer
        );
        let mut unique = bodies.clone();
        unique.dedup();
        duplicates += bodies.len() - unique.len();
        let expected: Vec<String> = (0..PER_CONVERSATION)
            .map(|n| format!("echo {n:02}"))
            .collect();
        assert_eq!(
            unique,
            expected.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    // Every message Apple got a 200 for is exactly one inbound event.
    let checker = backends.bus.subscribe(&checker_spec).await.unwrap();
    let mut events: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while events.values().sum::<usize>() < total * 2 && Instant::now() < deadline {
        let batch = checker
            .fetch(1000, Duration::from_millis(500))
            .await
            .unwrap_or_default();
        if batch.is_empty() && events.len() >= total {
            break;
        }
        for delivery in batch {
            let event = InboundMessage::decode(delivery.payload.as_ref()).unwrap();
            if matches!(event.kind, Some(inbound_message::Kind::Text(_))) {
                *events.entry(event.apple_message_id).or_default() += 1;
            }
            delivery.ack().await.unwrap();
        }
    }
    assert_eq!(events.len(), total, "every accepted message has an event");
    let twice: Vec<_> = events.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "messages published twice: {twice:?}");
    eprintln!(
        "{total} messages in {send_time:?}; {} replies at Apple, {duplicates} duplicates after 2 kills of outbound and 1 of nats-server",
        received.len()
    );
    // Duplicates can only come from a kill between Apple's 200 and the record of it.
    assert!(duplicates <= 2 * 256, "{duplicates} duplicates");
    stop.cancel();
    let _ = outbound.kill();
    let _ = outbound.wait();
    drop(redis);
}

/// `deliver` for a cloned sender.
async fn deliver_with(
    sender: &parley_apple_sim::DeviceSender,
    device: &Device,
    id: &str,
    text: &str,
) {
    let body = json!({"v": 1, "id": id, "type": "text", "sourceId": device.customer,
                      "destinationId": device.business, "body": text});
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match sender.send_raw(device, id, &body).await {
            Ok(sent) if sent.status == 200 => return,
            Ok(sent) => assert!(sent.status == 503, "unexpected status {}", sent.status),
            Err(error) => tracing::debug!(%error, "webhook delivery failed; retrying"),
        }
        assert!(Instant::now() < deadline, "{id} never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
