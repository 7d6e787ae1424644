//! End to end: the demo conversation through the real `parley <service>` binaries as
//! separate processes over private nats-server and redis-server, and through the same
//! platform in one process.

use std::time::Duration;

use parley::{
    demo::{Stage, Step, play},
    demo_business,
    up::{BackendKind, Platform, PlatformOptions, up_rules},
};
use parley_apple_sim::DeviceKind;
use parley_notification_consent::{
    APPLE_DISCLOSURE,
    policy::{DEFAULT_SUBSCRIBED, DEFAULT_UNSUBSCRIBED},
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
    consent_and_a_notification(&mesh).await;
}

/// The sixth service, notification-consent: a customer's `stop` and `subscribe` are
/// confirmed (the bot stays silent), and a business notification is refused without an
/// opt-in and delivered, after Apple's disclosure text, with one.
async fn consent_and_a_notification(mesh: &Mesh) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = &mesh.sim;
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let texts = |customer: &str| -> Vec<String> {
        sim.state()
            .received_by(customer)
            .iter()
            .filter_map(|r| r.body["body"].as_str().map(str::to_owned))
            .collect()
    };
    let wait_text = |text: &'static str| {
        let customer = device.customer.clone();
        async move {
            sim.state()
                .wait_for(Duration::from_secs(30), |received| {
                    received
                        .iter()
                        .any(|r| r.customer == customer && r.body["body"].as_str() == Some(text))
                })
                .await
                .unwrap_or_else(|| panic!("{text:?} never arrived\n{}", mesh.logs()));
        }
    };
    let notify = |key: &str| {
        reqwest::Client::new()
            .post(format!("{}/v1/notifications", mesh.notification_api))
            .bearer_auth(demo_business::NOTIFICATION_TOKEN)
            .json(&serde_json::json!({
                "opaque_id": device.customer,
                "topic": "orders",
                "text": "Your order is ready for pick-up.",
                "idempotency_key": key,
            }))
            .send()
    };
    assert_eq!(
        sim.devices()
            .text_only(&device, "STOP")
            .await
            .unwrap()
            .status,
        200
    );
    wait_text(DEFAULT_UNSUBSCRIBED).await;
    let refused = notify("ready-1").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(
        sim.devices()
            .text_only(&device, "subscribe")
            .await
            .unwrap()
            .status,
        200
    );
    wait_text(DEFAULT_SUBSCRIBED).await;
    let accepted = notify("ready-2").await.unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    wait_text("Your order is ready for pick-up.").await;
    let got = texts(&device.customer);
    assert_eq!(
        got,
        [
            DEFAULT_UNSUBSCRIBED,
            DEFAULT_SUBSCRIBED,
            APPLE_DISCLOSURE,
            "Your order is ready for pick-up."
        ],
        "the bot must stay silent on the keywords; the disclosure comes first"
    );
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
        console_listen: Some("127.0.0.1:0".parse().unwrap()),
        sim_listen: Some("127.0.0.1:0".parse().unwrap()),
        bot: Some(demo_business::bot_config().unwrap()),
        routing: true,
        outbound: true,
        consent: Some((
            demo_business::consent_config().unwrap(),
            parley_notification_consent::Listen {
                http: "127.0.0.1:0".parse().unwrap(),
                grpc: "127.0.0.1:0".parse().unwrap(),
            },
        )),
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
