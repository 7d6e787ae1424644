//! A late agent reply through the whole platform over NATS and Redis (issue 12's first loss,
//! for an agent): the outbound stream refuses the publish of an agent's reply A (full,
//! discard new), so the console answers the agent 503; the agent's next reply B is accepted
//! and, once outbound's gap timeout passes, sent; then the agent's client retries A with the
//! same command id (the same event and sequence): it is accepted and sent, after B, instead
//! of being dropped as already passed.

use std::time::{Duration, Instant};

use parley::{demo_business, up::BackendKind};
use parley_apple_sim::{DeviceKind, Received, Simulator};
use parley_bus::StreamKind;
use parley_testkit::{NatsServer, RedisServer};
use serde_json::{Value, json};

use crate::support::{bound_stream, platform, platform_without_quiet_hours, server_env};

/// The bodies of the texts Apple accepted for `customer`, in order.
fn texts(all: &[Received], customer: &str) -> Vec<String> {
    all.iter()
        .filter(|r| r.customer == customer)
        .filter_map(|r| r.body.get("body").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Whether Apple accepted the text `text` for `customer` within `within`.
async fn arrived(sim: &Simulator, customer: &str, text: &str, within: Duration) -> bool {
    sim.state()
        .wait_for(within, |all| texts(all, customer).iter().any(|t| t == text))
        .await
        .is_some()
}

/// `late` reached Apple once, after `earlier`.
fn sent_after_once(order: &[String], late: &str, earlier: &str) {
    let at = |text: &str| order.iter().position(|t| t == text).unwrap();
    assert!(at(earlier) < at(late), "{order:?}");
    assert_eq!(
        order.iter().filter(|t| *t == late).count(),
        1,
        "sent once: {order:?}"
    );
}

/// The console's JSON API as an agent's client calls it.
struct Agent {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Agent {
    async fn sign_in(base: &str, token: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let base = base.trim_end_matches('/').to_owned();
        let response = http
            .post(format!("{base}/api/session"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_owned();
        let body: Value = response.json().await.unwrap();
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();
        Self {
            base,
            http,
            cookie,
            csrf,
        }
    }

    /// A command under `command_id` (a retry reuses it); answers the HTTP status.
    async fn command(&self, command_id: &str, command: Value) -> u16 {
        self.http
            .post(format!("{}/api/commands", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(&json!({ "command_id": command_id, "command": command }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The reference of the one conversation listed, once there is one (bounded).
    async fn the_conversation(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed: Value = self
                .http
                .get(format!("{}/api/conversations", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let assigned = listed["conversations"].as_array().and_then(|all| {
                all.iter()
                    .find(|c| c["assigned_agent_id"] == "ava")
                    .and_then(|c| c["ref"].as_str())
                    .map(str::to_owned)
            });
            if let Some(reference) = assigned {
                return reference;
            }
            assert!(
                Instant::now() < deadline,
                "no conversation for Ava: {listed}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn reply(conversation: &str, body: &str) -> Value {
    json!({ "reply": { "conversation": conversation,
                       "content": { "text": { "body": body, "attachments": [] } } } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_retried_after_its_gap_was_skipped_is_sent() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let env = server_env(
        &nats,
        &redis,
        &[
            ("PARLEY_OUTBOUND__GAP_TIMEOUT", "21s"),
            ("PARLEY_OUTBOUND__CLAIM_LEASE", "1s"),
        ],
    );
    let platform = platform(BackendKind::Server, BackendKind::Server, env).await;
    let sim = platform.sim.as_ref().unwrap();
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let customer = device.customer.clone();

    // The customer asks for a person; Ava is available, is assigned and accepts.
    let ava = Agent::sign_in(platform.console_url.as_deref().unwrap(), "demo-agent-ava").await;
    assert_eq!(
        ava.command(
            "presence-1",
            json!({ "presence": { "status": "available", "capacity": 2 } })
        )
        .await,
        200
    );
    assert_eq!(
        sim.devices().text(&device, "agent").await.unwrap().status,
        200
    );
    let conversation = ava.the_conversation().await;
    assert_eq!(
        ava.command(
            "accept-1",
            json!({ "accept": { "conversation": conversation } })
        )
        .await,
        200
    );

    // A: the outbound stream is full and refuses it; the agent is told to try again.
    let outbound = platform
        .backends
        .namespace
        .stream_name(StreamKind::Outbound);
    bound_stream(&nats.url(), &outbound, None).await;
    let first = "The order number, please?";
    let refused = ava.command("reply-a", reply(&conversation, first)).await;
    assert!(
        refused >= 500,
        "a refused publish is an error the client retries (got {refused})"
    );
    bound_stream(&nats.url(), &outbound, Some(-1)).await;

    // B: accepted; outbound waits for A, gives up after the gap timeout and sends B.
    let waiting = Instant::now();
    let second = "I am looking into it.";
    assert_eq!(
        ava.command("reply-b", reply(&conversation, second)).await,
        200
    );
    assert!(
        arrived(sim, &customer, second, Duration::from_secs(60)).await,
        "B is sent once A's gap is given up on"
    );
    assert!(
        waiting.elapsed() >= Duration::from_secs(20),
        "B went before the gap timeout: A was not missing"
    );
    assert!(
        !texts(&sim.state().received(), &customer)
            .iter()
            .any(|t| t == first)
    );

    // The client retries A (same command id, so the same event and number): sent, after B.
    assert_eq!(
        ava.command("reply-a", reply(&conversation, first)).await,
        200
    );
    assert!(
        arrived(sim, &customer, first, Duration::from_secs(30)).await,
        "the agent's late reply is sent, not dropped as already passed"
    );
    sent_after_once(&texts(&sim.state().received(), &customer), first, second);
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}

/// The same for a business's notification: the outbound stream refuses notification A (the
/// API answers 503), B is accepted and sent after the gap timeout, and the backend's retry of
/// A (same idempotency key, so the same event and number) is accepted and sent after B, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_retried_after_its_gap_was_skipped_is_sent() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let env = server_env(
        &nats,
        &redis,
        &[
            ("PARLEY_OUTBOUND__GAP_TIMEOUT", "21s"),
            ("PARLEY_OUTBOUND__CLAIM_LEASE", "1s"),
        ],
    );
    let platform =
        platform_without_quiet_hours(BackendKind::Server, BackendKind::Server, env).await;
    let sim = platform.sim.as_ref().unwrap();
    let api = platform.notification_api.clone().unwrap();
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let customer = device.customer.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let notify = |key: &'static str, text: &'static str| {
        http.post(format!("{api}/v1/notifications"))
            .bearer_auth(demo_business::NOTIFICATION_TOKEN)
            .json(
                &json!({ "opaque_id": customer, "topic": "orders", "text": text,
                           "idempotency_key": key }),
            )
            .send()
    };
    // The customer opts in; a first notification (and Apple's disclosure) goes out.
    assert_eq!(
        sim.devices()
            .text_only(&device, "subscribe")
            .await
            .unwrap()
            .status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = notify("n-0", "Your order is confirmed.")
            .await
            .unwrap()
            .status();
        if status == 202 {
            break;
        }
        // The opt-in is recorded asynchronously (notification-consent reads the inbound
        // stream): until then the API refuses with 403.
        assert_eq!(status, 403);
        assert!(Instant::now() < deadline, "the opt-in was never recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        arrived(
            sim,
            &customer,
            "Your order is confirmed.",
            Duration::from_secs(30)
        )
        .await
    );

    // A: refused by the full stream (503: the backend will retry).
    let outbound = platform
        .backends
        .namespace
        .stream_name(StreamKind::Outbound);
    bound_stream(&nats.url(), &outbound, None).await;
    let first = "Your order is being prepared.";
    let refused = notify("n-a", first).await.unwrap().status();
    assert_eq!(
        refused, 503,
        "a refused publish is a 503 the backend retries"
    );
    bound_stream(&nats.url(), &outbound, Some(-1)).await;

    // B: accepted, sent once outbound gives up on A.
    let waiting = Instant::now();
    let second = "Your order is ready for pick-up.";
    assert_eq!(notify("n-b", second).await.unwrap().status(), 202);
    assert!(
        arrived(sim, &customer, second, Duration::from_secs(60)).await,
        "B is sent once A's gap is given up on"
    );
    assert!(
        waiting.elapsed() >= Duration::from_secs(20),
        "B went before the gap timeout: A was not missing"
    );

    // The backend retries A under its idempotency key: sent, after B, once.
    assert_eq!(notify("n-a", first).await.unwrap().status(), 202);
    assert!(
        arrived(sim, &customer, first, Duration::from_secs(30)).await,
        "the late notification is sent, not dropped as already passed"
    );
    sent_after_once(&texts(&sim.state().received(), &customer), first, second);
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
