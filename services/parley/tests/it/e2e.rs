//! End to end: the demo conversation through the real `parley <service>` binaries as
//! separate processes over private nats-server and redis-server, and through the same
//! platform in one process.

use std::time::Duration;

use parley::{
    demo::{Stage, Step, play},
    demo_business,
    up::{BackendKind, Platform, PlatformOptions, up_rules},
};
use parley_runtime::Backends;

use crate::{mesh::Mesh, support::test_env};

fn assert_every_step(steps: &[Step], logs: Option<&str>) {
    let missing: Vec<String> = steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.name, s.lines.join(" / ")))
        .collect();
    assert!(
        missing.is_empty(),
        "steps that did not happen: {missing:#?}\n{}",
        logs.unwrap_or_default()
    );
    assert_eq!(steps.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_conversation_through_the_service_binaries_as_separate_processes() {
    let mesh = Mesh::start("warn").await;
    let config = parley_runtime::load_config(Some(&mesh.config_file), Vec::new()).unwrap();
    let backends = Backends::connect(&config, "e2e-test", Duration::from_secs(10))
        .await
        .unwrap();
    let steps = play(&Stage {
        sim: &mesh.sim,
        gateway: format!("http://{}", mesh.grpc),
        backends,
        partitions: config.partitions,
    })
    .await
    .unwrap();
    assert_every_step(&steps, Some(&mesh.logs()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_conversation_through_the_platform_in_one_process_over_embedded_backends() {
    parley_testkit::init_tracing();
    // No NATS, no Redis: the embedded bus and store, the agent gateway's sessions and logs
    // in memory.
    let config = parley::up::up_config(None, test_env(&[])).unwrap();
    let rules = up_rules(&config, None).unwrap();
    let platform = Platform::start(PlatformOptions {
        config,
        bus: BackendKind::Embedded,
        store: BackendKind::Embedded,
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
