//! One trace across the separate service processes: a customer message and the bot answer
//! it caused share one trace id, with spans from ingest, routing, bot, notification-consent
//! (which reads every customer message) and outbound, every span's parent in the trace and
//! one root; and every one of the six processes exports spans.

use std::{collections::HashSet, time::Duration};

use parley::demo_business;
use parley_apple_sim::DeviceKind;
use parley_testkit::{OtlpReceiver, ReceivedSpan};

use crate::mesh::Mesh;

const SERVICES: [&str; 5] = [
    "parley-ingest",
    "parley-routing",
    "parley-bot",
    "parley-notification-consent",
    "parley-outbound",
];

/// The trace ids whose spans come from every service of [`SERVICES`] and are correctly
/// parented (each parent present, one root).
fn complete_traces(spans: &[ReceivedSpan]) -> Vec<String> {
    let ids: HashSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    ids.into_iter()
        .filter(|id| {
            let trace: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace_id == *id).collect();
            let services: HashSet<&str> = trace.iter().map(|s| s.service_name.as_str()).collect();
            let own: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
            let roots = trace.iter().filter(|s| s.parent_span_id.is_empty()).count();
            SERVICES.iter().all(|s| services.contains(s))
                && roots == 1
                && trace
                    .iter()
                    .all(|s| s.parent_span_id.is_empty() || own.contains(s.parent_span_id.as_str()))
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_and_its_answer_share_one_trace_across_the_processes() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let mesh = Mesh::start_with("info", Some(receiver.endpoint().to_owned())).await;
    let sim = &mesh.sim;
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let sent = sim
        .devices()
        .text_only(&device, "What are your opening hours?")
        .await
        .unwrap();
    assert_eq!(sent.status, 200);
    let answered = sim
        .state()
        .wait_for(Duration::from_secs(30), |received| {
            received
                .iter()
                .any(|r| r.customer == device.customer && parley::bench::is_answer(r))
        })
        .await;
    assert!(answered.is_some(), "no answer within 30 s\n{}", mesh.logs());
    let spans = receiver
        .wait_for(Duration::from_secs(30), |spans| {
            !complete_traces(spans).is_empty()
        })
        .await;
    let spans = match spans {
        Ok(spans) => spans,
        Err(error) => {
            let spans = receiver.spans().await;
            let mut by_trace: Vec<(String, Vec<String>)> = Vec::new();
            for span in &spans {
                let entry = format!(
                    "{}:{} (parent {})",
                    span.service_name,
                    span.name,
                    if span.parent_span_id.is_empty() {
                        "-"
                    } else {
                        &span.parent_span_id
                    }
                );
                match by_trace.iter_mut().find(|(id, _)| *id == span.trace_id) {
                    Some((_, list)) => list.push(entry),
                    None => by_trace.push((span.trace_id.clone(), vec![entry])),
                }
            }
            panic!("{error}: traces received: {by_trace:#?}");
        }
    };
    let traces = complete_traces(&spans);
    assert!(!traces.is_empty());

    // Every one of the six processes exports its spans: an agent signing in gives the
    // gateway's.
    let agent = parley::agent_client::AgentConnection::open(
        &format!("http://{}", mesh.grpc),
        demo_business::AGENT_TOKENS[0].1,
        0,
        1,
    )
    .await
    .unwrap();
    let all = [
        "parley-ingest",
        "parley-routing",
        "parley-bot",
        "parley-agent-gateway",
        "parley-notification-consent",
        "parley-outbound",
    ];
    let every = receiver
        .wait_for(Duration::from_secs(30), |spans| {
            let names: HashSet<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
            all.iter().all(|s| names.contains(s))
        })
        .await;
    if every.is_err() {
        let spans = receiver.spans().await;
        let names: HashSet<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
        panic!("spans from {names:?}, not from all of {all:?}");
    }
    drop(agent);
}
