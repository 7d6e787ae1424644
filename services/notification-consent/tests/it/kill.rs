//! kill -9 of the real `parley-notification-consent` binary, twice, while 100 customers each
//! type `stop`, a sentence, `subscribe`, then `end`: every customer gets exactly its five
//! replies (each opt-out's confirmation and preferences list picker, the opt-in's
//! confirmation), once each, numbered 1…5 on the shared outbound counter, in the order they
//! typed; every keyword's consent events are published once; each customer ends opted out.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use parley_bus::{ConsumerSpec, StreamKind, Subscription, Topology};
use parley_notification_consent::policy::{DEFAULT_SUBSCRIBED, DEFAULT_UNSUBSCRIBED};
use parley_proto::v1::{ConsentEvent, ConsentStatus, OutboundMessage};
use parley_runtime::{Backends, PlatformConfig};
use parley_testkit::{NatsServer, RedisServer};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::harness::{ACME, key, say_as_ingest, text_of};

const CUSTOMERS: usize = 100;
const SCRIPT: [&str; 4] = ["stop", "what time do you open", "subscribe", "End."];
/// What each customer gets, in order ("" is the preferences list picker).
const EXPECTED: [&str; 5] = [
    DEFAULT_UNSUBSCRIBED,
    "",
    DEFAULT_SUBSCRIBED,
    DEFAULT_UNSUBSCRIBED,
    "",
];
const KEYWORDS: usize = 3;
const TOPICS: usize = 3;

fn spawn(config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_parley-notification-consent"))
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start parley-notification-consent")
}

fn opaque_of(message: &OutboundMessage) -> String {
    message
        .meta
        .as_ref()
        .and_then(|m| m.conversation.as_ref())
        .map(|c| c.opaque_id.clone())
        .unwrap_or_default()
}

async fn collect<T: prost::Message + Default + Send + 'static>(
    sub: Box<dyn Subscription>,
    into: Arc<Mutex<Vec<T>>>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let Ok(batch) = sub.fetch(256, Duration::from_millis(200)).await else {
            continue;
        };
        for delivery in batch {
            let message = T::decode(delivery.payload.as_ref()).unwrap();
            let _ = delivery.ack().await;
            into.lock().unwrap().push(message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_kill_the_service_twice_while_100_customers_change_their_consent() {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix());
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("consent.toml");
    std::fs::write(
        &config_file,
        format!(
            "partitions = {}\n[nats]\nurl = \"{}\"\nprefix = \"{}\"\n[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n[admin]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"5s\"\n[telemetry]\nlog_format = \"text\"\nlog_filter = \"warn\"\n[[businesses]]\nid = \"{ACME}\"\nname = \"Acme\"\n",
            config.partitions.get(),
            config.nats.url,
            config.nats.prefix,
            config.redis.url,
            config.redis.key_prefix,
        ),
    )
    .unwrap();
    let log = dir.path().join("consent.log");
    let config = Arc::new(config);
    let backends = Backends::connect(&config, "consent-kill-test", Duration::from_secs(10))
        .await
        .unwrap();
    let outbound_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Outbound, "checker");
    let events_spec = ConsumerSpec::new(&backends.namespace, StreamKind::Events, "checker");
    backends
        .bus
        .ensure(
            &Topology::default()
                .with_consumer(outbound_spec.clone())
                .with_consumer(events_spec.clone()),
        )
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let confirmations: Arc<Mutex<Vec<OutboundMessage>>> = Arc::default();
    let events: Arc<Mutex<Vec<ConsentEvent>>> = Arc::default();
    let checkers = [
        tokio::spawn(collect(
            backends.bus.subscribe(&outbound_spec).await.unwrap(),
            confirmations.clone(),
            stop.clone(),
        )),
        tokio::spawn(collect(
            backends.bus.subscribe(&events_spec).await.unwrap(),
            events.clone(),
            stop.clone(),
        )),
    ];
    let total = CUSTOMERS * EXPECTED.len();
    let wait_for = |target: usize| {
        let deadline = Instant::now() + Duration::from_secs(100);
        let confirmations = confirmations.clone();
        let log = log.clone();
        async move {
            while confirmations.lock().unwrap().len() < target {
                assert!(
                    Instant::now() < deadline,
                    "stalled at {} of {target}\n{}",
                    confirmations.lock().unwrap().len(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    let mut service = spawn(&config_file, &log);
    for (n, text) in SCRIPT.iter().enumerate() {
        for c in 0..CUSTOMERS {
            let customer = key(ACME, &format!("kill-{c:03}"));
            let sequence = u64::try_from(n + 1).unwrap();
            say_as_ingest(&backends, &config, &customer, sequence, text, "en-US", 0).await;
        }
    }
    wait_for(total * 3 / 10).await;
    service.kill().unwrap();
    service.wait().unwrap();
    service = spawn(&config_file, &log);
    wait_for(total * 7 / 10).await;
    service.kill().unwrap();
    service.wait().unwrap();
    service = spawn(&config_file, &log);
    wait_for(total).await;
    // Anything extra would arrive now (bounded).
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    for checker in checkers {
        checker.await.unwrap();
    }
    let _ = service.kill();
    let _ = service.wait();

    let mut per_customer: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for message in confirmations.lock().unwrap().iter() {
        per_customer.entry(opaque_of(message)).or_default().push((
            message.meta.as_ref().unwrap().sequence,
            text_of(message).to_owned(),
        ));
    }
    assert_eq!(per_customer.len(), CUSTOMERS);
    let expected: Vec<(u64, String)> = EXPECTED
        .iter()
        .enumerate()
        .map(|(i, t)| (u64::try_from(i + 1).unwrap(), (*t).to_owned()))
        .collect();
    for (customer, got) in &per_customer {
        assert_eq!(got, &expected, "{customer}");
    }
    let events = std::mem::take(&mut *events.lock().unwrap());
    let ids: BTreeSet<&str> = events
        .iter()
        .map(|e| e.meta.as_ref().unwrap().event_id.as_str())
        .collect();
    assert_eq!(ids.len(), events.len(), "an event was published twice");
    assert_eq!(events.len(), CUSTOMERS * KEYWORDS * TOPICS);
    for c in 0..CUSTOMERS {
        let customer = key(ACME, &format!("kill-{c:03}"));
        for topic in ["account", "orders", "marketing"] {
            let record = backends
                .store
                .consent(&customer, topic)
                .await
                .unwrap()
                .unwrap();
            let record = ConsentEvent::decode(record.as_ref()).unwrap();
            assert_eq!(record.status(), ConsentStatus::OptedOut);
            assert_eq!(record.audit.unwrap().keyword, "end");
        }
    }
}
