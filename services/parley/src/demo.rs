//! `parley demo`: the in-process platform plays a scripted conversation through the Apple
//! simulator and prints it as a transcript, each step with its latency and trace id:
//! opening hours (the bot answers), stores (a list picker), a store picked, "agent" (queued,
//! position told), a scripted agent accepts and answers, the customer closes the chat, and a
//! business message afterwards is refused by outbound's gate. Exits non-zero if any step
//! does not happen.
//!
//! It uses the embedded bus and store (nothing to install), or NATS and Redis when given
//! (`--nats URL`, `--redis URL`).

use std::time::{Duration, Instant};

use parley_apple_sim::{Device, DeviceKind, Received, Simulator};
use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Subscription, Topology};
use parley_proto::{
    Event as _,
    v1::{
        Accept, Actor, ActorKind, DeliveryResult, EventMeta, OutboundMessage, OutboundText, Reply,
        agent_command::Command, agent_event::Event, delivery_result, outbound_message, reply,
    },
};
use parley_runtime::PlatformConfig;
use parley_state::facts;
use parley_types::{ConversationKey, EventId};
use prost::Message as _;
use serde_json::{Value, json};

use crate::{
    Error, Result,
    agent_client::AgentConnection,
    demo_business, say,
    up::{BackendKind, Platform, PlatformOptions},
};

/// How long one step may take.
const STEP_BOUND: Duration = Duration::from_secs(15);
/// How long the rest of a turn may trail its first expected answer.
const SETTLE: Duration = Duration::from_millis(400);

/// `parley demo`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// A Redis for the conversation store and the agent gateway (default: the embedded
    /// store).
    #[arg(long)]
    pub redis: Option<String>,
    /// A NATS server (default: the embedded bus).
    #[arg(long)]
    pub nats: Option<String>,
}

/// One step of the transcript.
#[derive(Debug, Clone)]
pub struct Step {
    /// What should happen.
    pub name: &'static str,
    /// Whether it happened.
    pub ok: bool,
    /// From the customer's (or agent's) action to the expected outcome.
    pub latency: Duration,
    /// The trace id of the customer's message (`-` when the step has none).
    pub trace: String,
    /// The transcript lines.
    pub lines: Vec<String>,
}

/// Where the demo plays: the simulator (as Apple and the customer's device), the agent
/// gateway, and the platform's bus and store (for trace ids, delivery results and the
/// business message). The platform may run in this process or as separate processes.
pub struct Stage<'a> {
    /// The simulator the platform's ingest and outbound talk to.
    pub sim: &'a Simulator,
    /// The agent gateway's gRPC address, `http://host:port`.
    pub gateway: String,
    /// The platform's bus and store.
    pub backends: parley_runtime::Backends,
    /// The platform's partition count.
    pub partitions: parley_types::PartitionCount,
}

/// What Apple received, for people.
pub(crate) fn describe(body: &Value) -> String {
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("?");
    if let Some(text) = body.get("body").and_then(Value::as_str) {
        return text.to_owned();
    }
    let data = &body["interactiveData"]["data"];
    if let Some(sections) = data["listPicker"]["sections"].as_array() {
        let items: Vec<&str> = sections
            .iter()
            .flat_map(|s| s["items"].as_array().into_iter().flatten())
            .filter_map(|i| i["title"].as_str())
            .collect();
        let title = body["interactiveData"]["receivedMessage"]["title"]
            .as_str()
            .unwrap_or("list picker");
        return format!("[list picker \"{title}\": {}]", items.join(" | "));
    }
    if let Some(link) = body["richLinkData"].as_object() {
        let title = link.get("title").and_then(Value::as_str).unwrap_or("");
        let url = link.get("url").and_then(Value::as_str).unwrap_or("");
        return format!("[rich link \"{title}\": {url}]");
    }
    if let Some(items) = data["quick-reply"]["items"].as_array() {
        let items: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
        return format!("[quick reply: {}]", items.join(" | "));
    }
    format!("[{kind}]")
}

fn is_answer(r: &Received) -> bool {
    crate::bench::is_answer(r)
}

struct Demo<'a> {
    stage: &'a Stage<'a>,
    sim: &'a Simulator,
    device: Device,
    traces: Box<dyn Subscription>,
    deliveries: Box<dyn Subscription>,
    seen: usize,
    steps: Vec<Step>,
}

impl Demo<'_> {
    /// The answers Apple received for the customer since the last call.
    async fn answers_after(
        &mut self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let customer = self.device.customer.clone();
        let seen = self.seen;
        let new = |all: &[Received]| -> Vec<Received> {
            all.iter()
                .filter(|r| r.customer == customer && is_answer(r))
                .skip(seen)
                .cloned()
                .collect()
        };
        let all = self
            .sim
            .state()
            .wait_for(within, |all| done(&new(all)))
            .await
            .unwrap_or_else(|| self.sim.state().received());
        let answers = new(&all);
        self.seen += answers.len();
        answers
    }

    /// The trace id of the next inbound event (the customer's message), from its
    /// `traceparent` header.
    async fn next_trace(&self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            let Ok(batch) = self.traces.fetch(1, Duration::from_millis(500)).await else {
                continue;
            };
            if let Some(delivery) = batch.into_iter().next() {
                let _ = delivery.ack().await;
                return delivery
                    .headers
                    .get("traceparent")
                    .and_then(|t| t.split('-').nth(1))
                    .unwrap_or("-")
                    .to_owned();
            }
        }
        "-".to_owned()
    }

    /// The customer sends (with `send`), then the business must answer as `expect` says.
    async fn customer_step(
        &mut self,
        name: &'static str,
        said: String,
        sent: std::result::Result<parley_apple_sim::Sent, parley_apple_sim::SimError>,
        started: Instant,
        expect: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let mut lines = vec![format!("customer: {said}")];
        let accepted = matches!(&sent, Ok(s) if s.status == 200);
        if !accepted {
            lines.push(format!("  webhook not accepted: {sent:?}"));
        }
        let trace = if accepted {
            self.next_trace().await
        } else {
            "-".to_owned()
        };
        let mut answers = if accepted {
            self.answers_after(STEP_BOUND, |a| a.iter().any(&expect))
                .await
        } else {
            Vec::new()
        };
        let latency = started.elapsed();
        // The rest of the same turn (a rich link after a text) belongs to this step.
        if !answers.is_empty() {
            answers.extend(self.answers_after(SETTLE, |_| false).await);
        }
        let found = answers.iter().find(|r| expect(r)).cloned();
        for answer in &answers {
            let who = answer.msp_agent.as_deref().unwrap_or("business");
            lines.push(format!("{who}: {}", describe(&answer.body)));
        }
        if found.is_none() {
            lines.push(format!(
                "  expected answer did not arrive within {STEP_BOUND:?}"
            ));
        }
        self.steps.push(Step {
            name,
            ok: found.is_some(),
            latency,
            trace,
            lines,
        });
        found
    }

    async fn say_text(
        &mut self,
        name: &'static str,
        text: &str,
        expect: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let started = Instant::now();
        let sent = self.sim.devices().text(&self.device, text).await;
        self.customer_step(name, text.to_owned(), sent, started, expect)
            .await
    }
}

fn text_of(r: &Received) -> String {
    describe(&r.body).to_lowercase()
}

fn is_list_picker(r: &Received) -> bool {
    r.body["interactiveData"]["data"]["listPicker"].is_object()
}

/// The reply a device sends when the customer picks the first item of `picker`.
fn pick_first(picker: &Value) -> Option<(Value, String)> {
    let data = &picker["interactiveData"]["data"];
    let section = data["listPicker"]["sections"].as_array()?.first()?;
    let item = section["items"].as_array()?.first()?.clone();
    let title = item["title"].as_str().unwrap_or("?").to_owned();
    let reply = json!({
        "version": "1.0",
        "requestIdentifier": data["requestIdentifier"],
        "replyMessage": { "title": title, "style": "small" },
        "listPicker": { "sections": [{
            "title": section["title"],
            "order": section["order"],
            "multipleSelection": false,
            "items": [item],
        }]},
    });
    Some((reply, title))
}

fn demo_config(redis: &str, nats: Option<&str>) -> PlatformConfig {
    let tag: u32 = rand::random();
    let mut config = PlatformConfig::default()
        .with_business(demo_business::business_id(), demo_business::BUSINESS_NAME)
        .with_backends(nats.unwrap_or("nats://127.0.0.1:4222"), redis)
        .in_namespace(&format!("demo{tag:08x}"));
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.ingest.listen = local;
    config.admin.listen = local;
    config.admin.shutdown_grace = Duration::from_secs(5);
    config.blobs.url = format!(
        "file://{}",
        std::env::temp_dir()
            .join(format!("parley-demo-{tag:08x}"))
            .display()
    );
    config
}

async fn reader(
    backends: &parley_runtime::Backends,
    spec: ConsumerSpec,
) -> Result<Box<dyn Subscription>> {
    let bus = &backends.bus;
    bus.ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .map_err(|e| Error::Input(format!("demo consumer: {e}")))?;
    bus.subscribe(&spec)
        .await
        .map_err(|e| Error::Input(format!("demo consumer: {e}")))
}

/// Publishes a business message to the customer as a business backend would (not
/// business-initiated, so only the closed conversation can stop it) and waits for
/// outbound's delivery result.
async fn business_message_after_close(demo: &mut Demo<'_>) -> Result<Step> {
    let started = Instant::now();
    let stage = demo.stage;
    let key = ConversationKey::parse(demo_business::BUSINESS_ID, &demo.device.customer)
        .map_err(|e| Error::Input(e.to_string()))?;
    let id = EventId::fresh();
    let sequence = stage
        .backends
        .store
        .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
        .await
        .map_err(|e| Error::Input(e.to_string()))?;
    let partition = stage.partitions.of(&key);
    let message = OutboundMessage {
        meta: Some(EventMeta {
            event_id: id.to_string(),
            conversation: Some(parley_proto::v1::ConversationKey {
                business_id: demo_business::BUSINESS_ID.into(),
                opaque_id: demo.device.customer.clone(),
            }),
            sequence: sequence.get(),
            partition: partition.get(),
            producer: "parley-demo".into(),
            schema_version: 1,
            ..Default::default()
        }),
        apple_message_id: id.to_string(),
        sender: Some(Actor {
            kind: ActorKind::System as i32,
            id: "parley-demo".into(),
            display_name: "Acme Coffee".into(),
        }),
        kind: Some(outbound_message::Kind::Text(OutboundText {
            body: "Your order is ready!".into(),
            attachments: vec![],
        })),
        ..Default::default()
    };
    stage
        .backends
        .bus
        .publish(
            Outgoing::new(
                stage
                    .backends
                    .namespace
                    .subject(StreamKind::Outbound, partition),
                id.to_string(),
                OutboundMessage::TYPE,
                message.encode_to_vec(),
            )
            .with_ordering_key(key.stable_hash()),
        )
        .await
        .map_err(|e| Error::Input(e.to_string()))?;
    let mut lines = vec!["business: Your order is ready!".to_owned()];
    let deadline = tokio::time::Instant::now() + STEP_BOUND;
    let mut outcome = None;
    while outcome.is_none() && tokio::time::Instant::now() < deadline {
        let batch = demo
            .deliveries
            .fetch(16, Duration::from_millis(300))
            .await
            .unwrap_or_default();
        for delivery in batch {
            let _ = delivery.ack().await;
            if let Ok(result) = DeliveryResult::decode(delivery.payload.as_ref())
                && result.outbound_event_id == id.as_str()
            {
                outcome = result.outcome;
            }
        }
    }
    let refused = match &outcome {
        Some(delivery_result::Outcome::Refused(refused)) => {
            lines.push(format!(
                "  refused by outbound's gate: {:?} ({})",
                refused.reason(),
                refused.detail
            ));
            true
        }
        Some(other) => {
            lines.push(format!("  not refused: {other:?}"));
            false
        }
        None => {
            lines.push(format!("  no delivery result within {STEP_BOUND:?}"));
            false
        }
    };
    let at_apple = demo.answers_after(Duration::ZERO, |_| true).await;
    if !at_apple.is_empty() {
        lines.push(format!(
            "  but Apple received {} message(s)",
            at_apple.len()
        ));
    }
    Ok(Step {
        name: "a business message after the close is refused",
        ok: refused && at_apple.is_empty(),
        latency: started.elapsed(),
        trace: "-".to_owned(),
        lines,
    })
}

/// The scripted agent: comes online, waits for the offer, accepts, answers.
async fn agent_accepts_and_answers(
    demo: &mut Demo<'_>,
    agent: &mut AgentConnection,
) -> Result<Step> {
    let started = Instant::now();
    let mut lines = vec![format!("agent {} comes online", agent.display_name)];
    let offer = agent
        .wait_for(STEP_BOUND, |event| match &event.event {
            Some(Event::Assignment(offer)) => {
                offer.conversation.clone().map(|c| (c, offer.queue.clone()))
            }
            _ => None,
        })
        .await?;
    let Some((conversation, queue)) = offer else {
        lines.push(format!("  no assignment within {STEP_BOUND:?}"));
        return Ok(Step {
            name: "a scripted agent accepts and answers",
            ok: false,
            latency: started.elapsed(),
            trace: "-".to_owned(),
            lines,
        });
    };
    lines.push(format!("  offered from queue `{queue}`; accepts"));
    agent
        .send(Command::Accept(Accept {
            conversation: Some(conversation.clone()),
        }))
        .await?;
    let text = "Hi, this is Ava at Acme Coffee. Downtown has oat milk, yes!";
    agent
        .send(Command::Reply(Reply {
            conversation: Some(conversation),
            content: Some(reply::Content::Text(OutboundText {
                body: text.into(),
                attachments: vec![],
            })),
        }))
        .await?;
    let name = agent.display_name.clone();
    let answers = demo
        .answers_after(STEP_BOUND, |a| {
            a.iter()
                .any(|r| r.msp_agent.as_deref() == Some(name.as_str()))
        })
        .await;
    let ok = answers
        .iter()
        .any(|r| r.msp_agent.as_deref() == Some(name.as_str()) && !r.auto_reply);
    for answer in &answers {
        let who = answer.msp_agent.as_deref().unwrap_or("business");
        lines.push(format!("{who}: {}", describe(&answer.body)));
    }
    if !ok {
        lines.push(format!(
            "  the agent's reply did not reach Apple within {STEP_BOUND:?}"
        ));
    }
    Ok(Step {
        name: "a scripted agent accepts and answers",
        ok,
        latency: started.elapsed(),
        trace: "-".to_owned(),
        lines,
    })
}

async fn script(demo: &mut Demo<'_>, gateway: &str) -> Result<()> {
    demo.say_text(
        "the bot tells the opening hours",
        "What are your opening hours?",
        |r| {
            let t = text_of(r);
            t.contains("open") || t.contains("close")
        },
    )
    .await;
    let picker = demo
        .say_text(
            "stores come as a list picker",
            "Where are your stores?",
            is_list_picker,
        )
        .await;
    match picker.as_ref().and_then(|p| pick_first(&p.body)) {
        Some((reply, title)) => {
            let started = Instant::now();
            let sent = demo
                .sim
                .devices()
                .interactive_reply(&demo.device, reply, false)
                .await;
            demo.customer_step(
                "the picked store is answered",
                format!("[picks \"{title}\"]"),
                sent,
                started,
                |r| !is_list_picker(r),
            )
            .await;
        }
        None => demo.steps.push(Step {
            name: "the picked store is answered",
            ok: false,
            latency: Duration::ZERO,
            trace: "-".to_owned(),
            lines: vec!["  no list picker to pick from".to_owned()],
        }),
    }
    demo.say_text("\"agent\": queued, position told", "agent", |r| {
        let t = text_of(r);
        t.contains("queue") || t.contains("number")
    })
    .await;
    let token = demo_business::AGENT_TOKENS[0].1;
    match AgentConnection::open(gateway, token, 0, 2).await {
        Ok(mut agent) => {
            let step = agent_accepts_and_answers(demo, &mut agent).await?;
            demo.steps.push(step);
            let started = Instant::now();
            let sent = demo.sim.devices().close(&demo.device).await;
            let accepted = matches!(&sent, Ok(s) if s.status == 200);
            let trace = if accepted {
                demo.next_trace().await
            } else {
                "-".to_owned()
            };
            let left = agent
                .wait_for(STEP_BOUND, |event| match &event.event {
                    Some(Event::Unassigned(u)) => Some(u.reason()),
                    _ => None,
                })
                .await?;
            demo.steps.push(Step {
                name: "the customer closes the chat",
                ok: accepted && left.is_some(),
                latency: started.elapsed(),
                trace,
                lines: vec![
                    "customer: [closes the conversation]".to_owned(),
                    match left {
                        Some(reason) => format!("  the agent is told: {reason:?}"),
                        None => format!("  the agent was not told within {STEP_BOUND:?}"),
                    },
                ],
            });
        }
        Err(error) => demo.steps.push(Step {
            name: "a scripted agent accepts and answers",
            ok: false,
            latency: Duration::ZERO,
            trace: "-".to_owned(),
            lines: vec![format!("  {error}")],
        }),
    }
    let step = business_message_after_close(demo).await?;
    demo.steps.push(step);
    Ok(())
}

/// Runs the demo; Err when a step did not happen.
pub async fn run(args: DemoArgs, env: Vec<(String, String)>) -> Result<()> {
    let log_filter = env
        .iter()
        .find(|(k, _)| k == "RUST_LOG")
        .map_or_else(|| "info".to_owned(), |(_, v)| v.clone());
    // Trace ids exist only with a tracer: spans go to OTEL_EXPORTER_OTLP_ENDPOINT when set
    // (Jaeger in docker-compose's tracing profile), otherwise to a receiver in this process.
    let receiver = match env.iter().find(|(k, _)| k == "OTEL_EXPORTER_OTLP_ENDPOINT") {
        Some(_) => None,
        None => Some(
            parley_testkit::OtlpReceiver::start()
                .await
                .map_err(|e| Error::Input(e.to_string()))?,
        ),
    };
    let otlp_endpoint = env
        .iter()
        .find(|(k, _)| k == "OTEL_EXPORTER_OTLP_ENDPOINT")
        .map(|(_, v)| v.clone())
        .or_else(|| receiver.as_ref().map(|r| r.endpoint().to_owned()));
    let telemetry = parley_telemetry::init(&parley_telemetry::TelemetryConfig {
        service_name: "parley-demo".into(),
        service_version: env!("CARGO_PKG_VERSION").into(),
        otlp_endpoint,
        log_filter,
        log_format: parley_telemetry::LogFormat::Text,
    })
    .map_err(|e| Error::Input(e.to_string()))?;
    let outcome = demo(&args).await;
    telemetry.shutdown().await;
    drop(receiver);
    outcome
}

async fn demo(args: &DemoArgs) -> Result<()> {
    let config = demo_config(
        args.redis.as_deref().unwrap_or("redis://127.0.0.1:6379"),
        args.nats.as_deref(),
    );
    let rules = crate::up::up_rules(&config, None)?;
    let platform = Platform::start(PlatformOptions {
        config,
        bus: if args.nats.is_some() {
            BackendKind::Server
        } else {
            BackendKind::Embedded
        },
        store: if args.redis.is_some() {
            BackendKind::Server
        } else {
            BackendKind::Embedded
        },
        rules,
        agents: parley_agent_gateway::Agents::parse(demo_business::AGENTS).map_err(Error::Input)?,
        agent_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        console_listen: None,
        sim_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        bot: Some(demo_business::bot_config()?),
        routing: true,
        outbound: true,
        consent: Some((
            demo_business::consent_config()?,
            parley_notification_consent::Listen {
                http: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                grpc: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            },
        )),
        metrics: None,
    })
    .await?;
    let outcome = match (&platform.sim, platform.agent_gateway) {
        (Some(sim), Some(gateway)) => {
            play(&Stage {
                sim,
                gateway: format!("http://{gateway}"),
                backends: platform.backends.clone(),
                partitions: platform.config.partitions,
            })
            .await
        }
        _ => Err(Error::Input(
            "the demo needs the simulator and the agent gateway".into(),
        )),
    };
    let stopped = platform.stop().await;
    let steps = outcome?;
    stopped?;
    let failed = steps.iter().filter(|s| !s.ok).count();
    if failed == 0 {
        say(format!("All {} steps happened.", steps.len()));
        Ok(())
    } else {
        Err(Error::Input(format!(
            "{failed} of {} demo steps did not happen",
            steps.len()
        )))
    }
}

/// Plays the scripted conversation on `stage`, prints the transcript and returns every
/// step (check [`Step::ok`]).
pub async fn play(stage: &Stage<'_>) -> Result<Vec<Step>> {
    let sim = stage.sim;
    let gateway = stage.gateway.clone();
    let ns = stage.backends.namespace.clone();
    let traces = reader(
        &stage.backends,
        ConsumerSpec::new(&ns, StreamKind::Inbound, "demo-traces"),
    )
    .await?;
    let deliveries = reader(
        &stage.backends,
        ConsumerSpec::new(&ns, StreamKind::Events, "demo-deliveries")
            .with_filter(ns.event_filter("delivery")),
    )
    .await?;
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .map_err(|e| Error::Input(e.to_string()))?;
    say(format!(
        "parley demo: {} ({}), one customer on an iPhone through the Apple simulator",
        demo_business::BUSINESS_NAME,
        demo_business::BUSINESS_ID
    ));
    let mut demo = Demo {
        stage,
        sim,
        device,
        traces,
        deliveries,
        seen: 0,
        steps: Vec::new(),
    };
    script(&mut demo, &gateway).await?;
    for (i, step) in demo.steps.iter().enumerate() {
        say(format!(
            "\n{}. {} [{}] {:.0} ms, trace {}",
            i + 1,
            step.name,
            if step.ok { "ok" } else { "MISSING" },
            step.latency.as_secs_f64() * 1000.0,
            step.trace
        ));
        for line in &step.lines {
            say(format!("   {line}"));
        }
    }
    Ok(std::mem::take(&mut demo.steps))
}
