//! `parley dlq` as an operator uses it, the real binary against a real nats-server holding a
//! dead letter: `list` and `show` say where it came from and why without printing its
//! payload, `replay` puts the original back on its subject once, and a wrong id is a clear
//! error.

use std::process::{Command, Output};

use parley_bus::{
    Bus as _, BusSettings, JetStreamBus, JetStreamOptions, Namespace, Outgoing, StreamKind,
    Topology, header,
};
use parley_testkit::NatsServer;

fn dlq(nats: &NatsServer, prefix: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("dlq")
        .arg("--nats")
        .arg(nats.url())
        .args(args)
        .env("PARLEY_NATS__PREFIX", prefix)
        .env("RUST_LOG", "warn")
        .env_remove("PARLEY_CONFIG")
        .env_remove("PARLEY_NATS_URL")
        .output()
        .expect("run parley dlq")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "parley dlq failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_lists_shows_and_replays_a_dead_letter_once() {
    let nats = NatsServer::start().unwrap();
    let prefix = parley_testkit::prefix();
    let ns = Namespace::prefixed(&prefix).unwrap();
    let bus = JetStreamBus::connect(&JetStreamOptions::new(nats.url()))
        .await
        .unwrap();
    bus.ensure(&Topology::platform(&ns, &BusSettings::default()))
        .await
        .unwrap();
    // What the consume loop writes when routing gives up on an inbound event.
    let original_subject = format!("{prefix}.amb.inbound.3");
    let secret = "a customer's words that must never be printed";
    let mut dead = Outgoing::new(
        ns.dead_letter_subject("routing"),
        "dl-routing-7",
        "parley.v1.InboundMessage",
        secret.as_bytes().to_vec(),
    );
    for (name, value) in [
        (header::DEAD_REASON, "routing: gave up after 15 attempts"),
        (header::DEAD_SUBJECT, original_subject.as_str()),
        (header::DEAD_CONSUMER, "routing"),
        (header::DEAD_ATTEMPTS, "16"),
        (header::DEAD_STREAM_SEQUENCE, "7"),
        (header::ORDERING_KEY, "00000000000000ff"),
    ] {
        dead.headers.insert(name, value);
    }
    bus.publish(dead).await.unwrap();

    let listed = stdout(&dlq(&nats, &prefix, &["list"]));
    assert!(
        listed.contains("routing")
            && listed.contains(&original_subject)
            && listed.contains("deliveries=16")
            && listed.contains("gave up after 15 attempts"),
        "{listed}"
    );
    let id = listed.split('\t').next().unwrap().trim().to_owned();
    let shown = stdout(&dlq(&nats, &prefix, &["show", &id]));
    assert!(
        shown.contains("reason: routing: gave up after 15 attempts"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("payload: {} bytes (not shown)", secret.len())),
        "{shown}"
    );
    assert!(!listed.contains(secret) && !shown.contains(secret));

    let replayed = stdout(&dlq(&nats, &prefix, &["replay", &id]));
    assert!(
        replayed.contains(&format!("replayed dead letter {id}")),
        "{replayed}"
    );
    let again = stdout(&dlq(&nats, &prefix, &["replay", &id]));
    assert!(again.contains("was replayed already"), "{again}");
    let inbound = bus
        .read_stream(&ns.stream_name(StreamKind::Inbound), 1, 10)
        .await
        .unwrap();
    assert_eq!(inbound.len(), 1, "stored once");
    assert_eq!(inbound[0].subject, original_subject);
    assert_eq!(inbound[0].payload.as_ref(), secret.as_bytes());
    assert_eq!(
        inbound[0].headers.get("Parley-Replay-Of"),
        Some(id.as_str())
    );
    assert_eq!(inbound[0].headers.get(header::DEAD_REASON), None);
    assert_eq!(
        inbound[0].headers.get(header::ORDERING_KEY),
        Some("00000000000000ff")
    );

    let missing = dlq(&nats, &prefix, &["show", "9999"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no dead letter 9999"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
