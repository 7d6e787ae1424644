//! End to end: the demo conversation through the real `parley <service>` binaries as
//! separate processes over private nats-server and redis-server, and through the same
//! platform in one process.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use parley::{
    demo::{Stage, Step, play},
    demo_business,
    up::{BackendKind, Platform, PlatformOptions, simulator_secret, up_rules},
};
use parley_apple_sim::{SimConfig, Simulator};
use parley_runtime::Backends;
use parley_testkit::{NatsServer, RedisServer};

use crate::support::{status_of, test_env};

/// A child process killed when dropped.
struct Process {
    name: &'static str,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(name: &'static str, args: &[&str], config: &Path, admin: u16, dir: &Path) -> Process {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg(name)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("PARLEY_ADMIN__LISTEN", format!("127.0.0.1:{admin}"))
        .env_remove("RUST_LOG")
        .env_remove("PARLEY_CONFIG")
        .env_remove("PARLEY_NATS_URL")
        .env_remove("PARLEY_REDIS_URL")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("start parley {name}: {e}"));
    Process { name, child }
}

fn assert_every_step(steps: &[Step], logs: Option<&Path>) {
    let missing: Vec<String> = steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.name, s.lines.join(" / ")))
        .collect();
    if !missing.is_empty() {
        let logs = logs.map(|dir| {
            std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(15).collect();
                    format!("--- {}\n{}", e.path().display(), tail.join("\n"))
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        panic!(
            "steps that did not happen: {missing:#?}\n{}",
            logs.unwrap_or_default()
        );
    }
    assert_eq!(steps.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "routing's queue-position notice has an empty apple_message_id, which outbound \
            dead-letters (outbound.proto says outbound derives it): step 4 never happens; \
            run with --ignored once one side is fixed"]
async fn the_demo_conversation_through_the_service_binaries_as_separate_processes() {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ingest_port = free_port();
    let secret = simulator_secret();
    let sim = Simulator::start(
        SimConfig {
            msp_id: "parley-dev-msp".into(),
            secret_base64: secret.clone(),
            businesses: vec![demo_business::BUSINESS_ID.into()],
            msp_webhook_url: Some(format!("http://127.0.0.1:{ingest_port}/message")),
        },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let prefix = parley_testkit::prefix();
    let config_file = dir.path().join("parley.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"[msp]
id = "parley-dev-msp"
secret = "{secret}"
apple_base_url = "{apple}"
[nats]
url = "{nats}"
prefix = "{prefix}"
[redis]
url = "{redis}"
key_prefix = "{prefix}:"
[ingest]
listen = "127.0.0.1:{ingest_port}"
[admin]
shutdown_grace = "5s"
[blobs]
url = "file://{blobs}"
[telemetry]
log_format = "text"
log_filter = "warn"
[[businesses]]
id = "{business}"
name = "{name}"
"#,
            apple = sim.api_base_url(),
            nats = nats.url(),
            redis = redis.url(),
            blobs = dir.path().join("blobs").display(),
            business = demo_business::BUSINESS_ID,
            name = demo_business::BUSINESS_NAME,
        ),
    )
    .unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join(format!("{}.toml", demo_business::BUSINESS_ID)),
        demo_business::RULES,
    )
    .unwrap();
    let knowledge = dir.path().join("knowledge");
    std::fs::create_dir(&knowledge).unwrap();
    std::fs::write(knowledge.join("acme.toml"), demo_business::KNOWLEDGE).unwrap();
    let agents = dir.path().join("agents.toml");
    std::fs::write(&agents, demo_business::AGENTS).unwrap();
    let grpc_port = free_port();
    let grpc = format!("127.0.0.1:{grpc_port}");

    let services: Vec<(&'static str, Vec<String>)> = vec![
        ("ingest", vec![]),
        (
            "routing",
            vec!["--rules-dir".into(), rules.display().to_string()],
        ),
        (
            "bot",
            vec!["--knowledge-dir".into(), knowledge.display().to_string()],
        ),
        (
            "agent-gateway",
            vec![
                "--agents-file".into(),
                agents.display().to_string(),
                "--listen".into(),
                grpc.clone(),
            ],
        ),
        ("outbound", vec![]),
    ];
    let mut processes = Vec::new();
    let mut admins = Vec::new();
    for (name, args) in &services {
        let admin = free_port();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        processes.push(spawn(name, &args, &config_file, admin, dir.path()));
        admins.push((*name, admin));
    }
    // Readiness has no event to await: poll each /readyz, within a bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for (name, admin) in &admins {
        while status_of(&format!("http://127.0.0.1:{admin}/readyz")).await != 200 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "parley {name} not ready within 60 s"
            );
            for process in &mut processes {
                if let Ok(Some(status)) = process.child.try_wait() {
                    panic!("parley {} exited: {status}", process.name);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let config = parley_runtime::load_config(Some(&config_file), Vec::new()).unwrap();
    let backends = Backends::connect(&config, "e2e-test", Duration::from_secs(10))
        .await
        .unwrap();
    let steps = play(&Stage {
        sim: &sim,
        gateway: format!("http://{grpc}"),
        backends,
        partitions: config.partitions,
    })
    .await
    .unwrap();
    assert_every_step(&steps, Some(dir.path()));
    drop(processes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "routing's queue-position notice has an empty apple_message_id, which outbound \
            dead-letters (outbound.proto says outbound derives it): step 4 never happens; \
            run with --ignored once one side is fixed"]
async fn the_demo_conversation_through_the_platform_in_one_process() {
    parley_testkit::init_tracing();
    let redis = RedisServer::start().unwrap();
    let env = test_env(&[
        ("PARLEY_REDIS__URL", &redis.url()),
        (
            "PARLEY_REDIS__KEY_PREFIX",
            &format!("{}:", parley_testkit::prefix()),
        ),
    ]);
    let config = parley::up::up_config(None, env).unwrap();
    let rules = up_rules(&config, None).unwrap();
    let platform = Platform::start(PlatformOptions {
        config,
        bus: BackendKind::Embedded,
        store: BackendKind::Server,
        rules,
        agents: parley_agent_gateway::Agents::parse(demo_business::AGENTS).unwrap(),
        agent_listen: "127.0.0.1:0".parse().unwrap(),
        sim_listen: Some("127.0.0.1:0".parse().unwrap()),
        bot: Some(demo_business::bot_config().unwrap()),
        routing: true,
        outbound: true,
        metrics: None,
    })
    .await
    .unwrap();
    let steps = play(&Stage {
        sim: platform.sim.as_ref().unwrap(),
        gateway: format!("http://{}", platform.agent_gateway.unwrap()),
        backends: platform.backends.clone(),
        partitions: platform.config.partitions,
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
    assert_every_step(&steps, None);
}
