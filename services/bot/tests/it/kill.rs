//! kill -9 of the real `parley-bot` binary, twice, while 100 conversations of 5 messages
//! each are answered: every conversation gets exactly its replies, once each, numbered 1…17
//! on the shared outbound counter, in the order and with the content its messages call for
//! (the menu a "2" answers survives the kills).

use std::{
    collections::BTreeMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_proto::v1::{OutboundMessage, outbound_message::Kind};
use parley_runtime::{Backends, PlatformConfig};
use parley_testkit::{NatsServer, RedisServer};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::harness::{acme_key, opaque_of};

const CONVERSATIONS: usize = 100;
const SCRIPT: [&str; 5] = [
    "menu",
    "2",
    "1",
    "wifi password",
    "do you have vegan options",
];
/// What the script gets, per conversation, in order (the parts of its five answers).
const EXPECTED: [&str; 17] = [
    "typing_start",
    "list_picker",
    "typing_end", // menu
    "typing_start",
    "list_picker",
    "typing_end", // 2: the stores
    "typing_start",
    "text",
    "rich_link",
    "typing_end", // 1: downtown, with its link
    "typing_start",
    "text",
    "typing_end", // wifi
    "typing_start",
    "text",
    "rich_link",
    "typing_end", // food, with the menu link
];

fn kind(message: &OutboundMessage) -> &'static str {
    match message.kind.as_ref() {
        Some(Kind::TypingStart(_)) => "typing_start",
        Some(Kind::TypingEnd(_)) => "typing_end",
        Some(Kind::Text(_)) => "text",
        Some(Kind::RichLink(_)) => "rich_link",
        Some(Kind::ListPicker(_)) => "list_picker",
        _ => "other",
    }
}

fn spawn_bot(config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_parley-bot"))
        .arg("--config")
        .arg(config)
        .arg("--knowledge-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/knowledge"))
        .env_remove("RUST_LOG")
        .env_remove("BOT_EXTERNAL_BUSINESSES")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start parley-bot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_kill_the_bot_twice_while_100_conversations_are_answered() {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix());
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("bot.toml");
    std::fs::write(
        &config_file,
        format!(
            "partitions = {}\n[nats]\nurl = \"{}\"\nprefix = \"{}\"\n[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n[admin]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"5s\"\n[telemetry]\nlog_format = \"text\"\nlog_filter = \"warn\"\n",
            config.partitions.get(),
            config.nats.url,
            config.nats.prefix,
            config.redis.url,
            config.redis.key_prefix,
        ),
    )
    .unwrap();
    let log = dir.path().join("bot.log");
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "bot-kill-test", Duration::from_secs(10))
        .await
        .unwrap();
    let spec = ConsumerSpec::new(&backends.namespace, StreamKind::Outbound, "checker");
    backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .unwrap();
    let outbound = backends.bus.subscribe(&spec).await.unwrap();

    // The checker: every outbound message, per conversation.
    let seen: Arc<Mutex<BTreeMap<String, Vec<OutboundMessage>>>> = Arc::default();
    let stop = CancellationToken::new();
    let checker = tokio::spawn({
        let (seen, stop) = (seen.clone(), stop.clone());
        async move {
            while !stop.is_cancelled() {
                let Ok(batch) = outbound.fetch(256, Duration::from_millis(200)).await else {
                    continue;
                };
                for delivery in batch {
                    let message = OutboundMessage::decode(delivery.payload.as_ref()).unwrap();
                    let _ = delivery.ack().await;
                    // Each part of the event (one event per answer), in order.
                    seen.lock()
                        .unwrap()
                        .entry(opaque_of(message.meta.as_ref()))
                        .or_default()
                        .extend(parley_wire::parts::expand(&message));
                }
            }
        }
    });
    let total = CONVERSATIONS * EXPECTED.len();
    let report = |seen: &BTreeMap<String, Vec<OutboundMessage>>| {
        let mut lines = Vec::new();
        for (c, messages) in seen.iter().filter(|(_, m)| m.len() != EXPECTED.len()) {
            let got: Vec<(u64, &str)> = messages
                .iter()
                .map(|m| (m.meta.as_ref().map_or(0, |m| m.sequence), kind(m)))
                .collect();
            lines.push(format!("{c}: {got:?}"));
        }
        lines.join("\n")
    };
    let wait_for = |target: usize| {
        let deadline = Instant::now() + Duration::from_secs(100);
        let (seen, report) = (seen.clone(), &report);
        async move {
            while seen.lock().unwrap().values().map(Vec::len).sum::<usize>() < target {
                if Instant::now() >= deadline {
                    let seen = seen.lock().unwrap();
                    panic!(
                        "stalled at {} of {target}:\n{}",
                        seen.values().map(Vec::len).sum::<usize>(),
                        report(&seen)
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    let mut bot = spawn_bot(&config_file, &log);
    // A harness only to build tasks as routing does (no bot of its own in this process).
    let tasks = super::harness::tasks_only(config.clone(), backends.clone());
    for (n, text) in SCRIPT.iter().enumerate() {
        for c in 0..CONVERSATIONS {
            let key = acme_key(&format!("kill-{c:03}"));
            tasks.say(&key, u64::try_from(n + 1).unwrap(), text).await;
        }
    }
    wait_for(total * 3 / 10).await;
    bot.kill().unwrap();
    bot.wait().unwrap();
    bot = spawn_bot(&config_file, &log);
    wait_for(total * 7 / 10).await;
    bot.kill().unwrap();
    bot.wait().unwrap();
    bot = spawn_bot(&config_file, &log);
    wait_for(total).await;
    // Anything extra would arrive now (bounded).
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    checker.await.unwrap();
    let _ = bot.kill();
    let _ = bot.wait();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), CONVERSATIONS);
    for (conversation, messages) in seen.iter() {
        let kinds: Vec<&str> = messages.iter().map(kind).collect();
        let sequences: Vec<u64> = messages
            .iter()
            .map(|m| m.meta.as_ref().unwrap().sequence)
            .collect();
        assert_eq!(kinds, EXPECTED, "{conversation}: {sequences:?}");
        // One event (one outbound number) per answer.
        assert_eq!(
            sequences,
            [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5],
            "{conversation}"
        );
    }
    let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}
