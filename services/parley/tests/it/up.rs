//! `parley up`: the in-process platform over embedded and real backends, and the binary.

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use parley::{demo_business, up::BackendKind};
use parley_apple_sim::DeviceKind;
use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_testkit::{NatsServer, RedisServer};

use crate::support::{platform, status_of, test_env};

/// A customer's text through the simulator reaches ingest (200), routing, and the bot's
/// stream; /readyz is 200; shutdown drains within the grace.
async fn message_reaches_the_bot_stream(platform: parley::up::Platform) {
    let ns = platform.backends.namespace.clone();
    let spec = ConsumerSpec::new(&ns, StreamKind::Bot, "test-bot-reader");
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .unwrap();
    let reader = platform.backends.bus.subscribe(&spec).await.unwrap();
    assert_eq!(
        status_of(&format!("http://{}/readyz", platform.admin)).await,
        200
    );
    let sim = platform.sim.as_ref().unwrap();
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let sent = sim
        .devices()
        .text(&device, "what are your opening hours?")
        .await
        .unwrap();
    assert_eq!(sent.status, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut tasks = Vec::new();
    while tasks.is_empty() && tokio::time::Instant::now() < deadline {
        for delivery in reader.fetch(16, Duration::from_millis(500)).await.unwrap() {
            delivery.ack().await.unwrap();
            tasks.push(delivery);
        }
    }
    assert!(!tasks.is_empty(), "no bot task within 20 s");
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_over_embedded_backends_routes_a_message_to_the_bot_and_serves_agents() {
    let platform = platform(BackendKind::Embedded, BackendKind::Embedded, test_env(&[])).await;
    // The agent gateway runs too, its sessions in memory: a demo token signs in.
    let gateway = platform.agent_gateway.expect("the agent gateway runs");
    let channel = tonic::transport::Channel::from_shared(format!("http://{gateway}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = parley_proto::v1::agent_gateway_client::AgentGatewayClient::new(channel);
    let session = client
        .authenticate(parley_proto::v1::AuthenticateRequest {
            agent_token: "demo-agent-ava".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!session.session_token.is_empty());
    message_reaches_the_bot_stream(platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_over_nats_and_redis_routes_a_message_and_serves_agents() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let env = test_env(&[
        ("PARLEY_NATS__URL", &nats.url()),
        ("PARLEY_REDIS__URL", &redis.url()),
        ("PARLEY_NATS__PREFIX", &parley_testkit::prefix()),
    ]);
    let platform = platform(BackendKind::Server, BackendKind::Server, env).await;
    assert!(platform.agent_gateway.is_some());
    message_reaches_the_bot_stream(platform).await;
}

/// The binary: `parley up` prints where things listen, is ready, and exits 0 on SIGINT.
#[test]
fn the_binary_prints_its_addresses_and_stops_cleanly_on_ctrl_c() {
    let blobs = tempfile::tempdir().unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_parley"))
            .args([
                "up",
                "--agent-listen",
                "127.0.0.1:0",
                "--sim-listen",
                "127.0.0.1:0",
                "--console-listen",
                "127.0.0.1:0",
                // Free ports for everything: a fixed default another process holds would
                // stop it before its banner.
                "--notification-listen",
                "127.0.0.1:0",
                "--notification-grpc-listen",
                "127.0.0.1:0",
            ])
            .env("PARLEY_INGEST__LISTEN", "127.0.0.1:0")
            .env("PARLEY_ADMIN__LISTEN", "127.0.0.1:0")
            .env("PARLEY_ADMIN__SHUTDOWN_GRACE", "5s")
            .env(
                "PARLEY_BLOBS__URL",
                format!("file://{}", blobs.path().display()),
            )
            .env("RUST_LOG", "warn")
            .env_remove("PARLEY_NATS_URL")
            .env_remove("PARLEY_REDIS_URL")
            .env_remove("PARLEY_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !printed.iter().any(|l: &String| l.contains("Ctrl-C")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => printed.push(line),
            Err(_) => {
                let _ = child.0.kill();
                panic!("no start-up banner within 30 s: {printed:?}");
            }
        }
    }
    let text = printed.join("\n");
    for needle in [
        "ingest",
        "apple-sim",
        "routing",
        "outbound",
        "admin",
        "embedded",
        "console",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    let admin = printed
        .iter()
        .find(|l| l.trim_start().starts_with("admin"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(status_of(&format!("{admin}/readyz"))), 200);
    // The console's URL is printed and serves its page.
    let console = printed
        .iter()
        .find(|l| l.trim_start().starts_with("console"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned();
    assert_eq!(runtime.block_on(status_of(&console)), 200, "{console}");
    let interrupted = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.0.kill();
            panic!("parley up did not stop within 15 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// A child process that is killed if the test ends (or fails) while it still runs.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
