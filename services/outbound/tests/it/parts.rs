//! One event of several parts (a bot's answer: typing indicator, greeting, answer, typing
//! end): outbound POSTs the parts in order, one delivery result and transcript entry per
//! visible part, and a redelivery resumes after the last part Apple accepted, sending none
//! twice (docs/adr/0004-one-outbound-event-per-answer.md).

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use parley_apple_sim::{DeviceKind, Fault, FaultScope, SimState};
use parley_proto::v1::{
    Actor, ActorKind, DeliveryResult, OutboundMessage, OutboundText, TranscriptEntry, TypingEnd,
    TypingStart, delivery_result::Outcome, outbound_message::Kind,
};
use parley_state::{
    facts::SCOPE_SENT,
    intercept::{Fault as StoreFault, Faulty},
};
use prost::Message as _;

use crate::harness::{Platform, platform, platform_with_store};

const WITHIN: Duration = Duration::from_secs(20);

fn text(body: &str) -> Kind {
    Kind::Text(OutboundText {
        body: body.into(),
        attachments: Vec::new(),
    })
}

/// The bot's answer as one event: typing start, greeting, answer, typing end.
async fn answer(p: &Platform, key: &parley_types::ConversationKey) -> OutboundMessage {
    let envelope = p.event(key, Kind::TypingStart(TypingStart {})).await;
    let mut event = parley_wire::parts::join(
        envelope,
        vec![
            Kind::TypingStart(TypingStart {}),
            text("Hello, I am Acme's assistant."),
            text("We open at 7:00 AM."),
            Kind::TypingEnd(TypingEnd {}),
        ],
    )
    .unwrap();
    event.sender = Some(Actor {
        kind: ActorKind::Bot as i32,
        id: "bot".into(),
        display_name: "Acme bot".into(),
    });
    event.auto_reply = true;
    event
}

/// What Apple received, as `type` (and `body` for texts).
fn shown(received: &[parley_apple_sim::Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| {
            let kind = r.body["type"].as_str().unwrap_or("?");
            match r.body["body"].as_str() {
                Some(body) if kind == "text" => format!("text: {body}"),
                _ => kind.to_owned(),
            }
        })
        .collect()
}

const IN_ORDER: [&str; 4] = [
    "typing_start",
    "text: Hello, I am Acme's assistant.",
    "text: We open at 7:00 AM.",
    "typing_end",
];

/// Reads delivery results until `want` final ones arrived for `event`; then checks no more
/// come for a moment.
async fn final_results(p: &Platform, event: &OutboundMessage, want: usize) -> Vec<DeliveryResult> {
    let id = event.meta.as_ref().unwrap().event_id.clone();
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut out: Vec<DeliveryResult> = Vec::new();
    let mut quiet_until = None;
    loop {
        let now = tokio::time::Instant::now();
        if out.len() >= want {
            let until = *quiet_until.get_or_insert(now + Duration::from_millis(1500));
            if now >= until {
                return out;
            }
        }
        assert!(now < deadline, "only {} final results: {out:?}", out.len());
        for result in p.results(16, Duration::from_millis(300)).await {
            if result.outbound_event_id == id
                && !matches!(result.outcome, Some(Outcome::Retrying(_)))
            {
                out.push(result);
            }
        }
    }
}

async fn transcript(p: &Platform, key: &parley_types::ConversationKey) -> Vec<TranscriptEntry> {
    p.backends
        .store
        .transcript(key, 100)
        .await
        .unwrap()
        .iter()
        .map(|bytes| TranscriptEntry::decode(bytes.as_ref()).unwrap())
        .collect()
}

/// The parts in order at Apple, each under its own id, one result and one transcript entry
/// per visible part (none for the typing indicators), and the event recorded as sent.
async fn check_delivered(
    p: &Platform,
    device: &str,
    key: &parley_types::ConversationKey,
    event: &OutboundMessage,
) {
    let results = final_results(p, event, 2).await;
    let received = p.received(device, 4, WITHIN).await;
    assert_eq!(shown(&received), IN_ORDER);
    let parts = parley_wire::parts::expand(event);
    let ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    let expected: Vec<&str> = parts.iter().map(|p| p.apple_message_id.as_str()).collect();
    assert_eq!(ids, expected, "each part under its derived id");
    assert_eq!(results.len(), 2, "{results:?}");
    let mut reported: Vec<&str> = results
        .iter()
        .map(|r| r.apple_message_id.as_str())
        .collect();
    reported.sort_unstable();
    let mut visible = vec![expected[1], expected[2]];
    visible.sort_unstable();
    assert_eq!(reported, visible, "a result per visible part");
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Some(Outcome::Sent(_)))),
        "{results:?}"
    );
    let entries = transcript(p, key).await;
    let lines: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.text.as_str(), e.message_id.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("Hello, I am Acme's assistant.", expected[1]),
            ("We open at 7:00 AM.", expected[2])
        ]
    );
    let id = &event.meta.as_ref().unwrap().event_id;
    assert!(
        p.backends
            .store
            .is_remembered(key, SCOPE_SENT, id)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_of_parts_reaches_apple_in_order_with_a_result_and_entry_per_visible_part() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let event = answer(&p, &key).await;
    p.publish(&event).await;
    check_delivered(&p, &device.customer, &key, &event).await;
    // The conversation goes on, in order.
    let next = p.text(&key, "anything else?").await;
    let outcome = p.outcome_of(&next, WITHIN).await;
    assert!(matches!(outcome.outcome, Some(Outcome::Sent(_))));
    let attempts = p.sim.state().attempts();
    assert_eq!(attempts.len(), 5, "one POST per part: {attempts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_after_apple_failed_the_third_part_sends_only_the_rest() {
    // Apple accepts the typing indicator and the greeting, then answers 500 to the answer
    // (the fault is added when outbound records its progress after the greeting): the
    // event is retried, and the redelivery resumes at the answer from the recorded
    // progress, sending neither the typing indicator nor the greeting again.
    let sim: Arc<OnceLock<Arc<SimState>>> = Arc::new(OnceLock::new());
    let slot = sim.clone();
    let progress = Arc::new(AtomicU32::new(0));
    let writes = progress.clone();
    let p = platform_with_store(
        |_| {},
        move |inner| {
            Arc::new(Faulty {
                inner,
                faults: Arc::new(move |operation| {
                    if operation == "set_fields"
                        && writes.fetch_add(1, Ordering::SeqCst) == 1
                        && let Some(sim) = slot.get()
                    {
                        sim.add_fault(Fault {
                            scope: FaultScope::All,
                            status: Some(500),
                            retry_after_secs: None,
                            latency_ms: 0,
                            hang: false,
                            times: Some(1),
                            duration_ms: None,
                        });
                    }
                    StoreFault::Pass
                }),
            })
        },
    )
    .await;
    sim.set(p.sim.state().clone()).ok();
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let event = answer(&p, &key).await;
    p.publish(&event).await;
    check_delivered(&p, &device.customer, &key, &event).await;
    let parts = parley_wire::parts::expand(&event);
    let attempts: Vec<(String, u16)> = p
        .sim
        .state()
        .attempts()
        .into_iter()
        .map(|a| (a.id, a.status))
        .collect();
    let want = vec![
        (parts[0].apple_message_id.clone(), 200),
        (parts[1].apple_message_id.clone(), 200),
        (parts[2].apple_message_id.clone(), 500),
        (parts[2].apple_message_id.clone(), 200),
        (parts[3].apple_message_id.clone(), 200),
    ];
    assert_eq!(
        attempts, want,
        "only the failed part and the rest were sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_that_cannot_be_written_resumes_from_memory_without_sending_again() {
    // Apple accepts the typing indicator, but its progress cannot be written (Redis refuses
    // every try in place): the event is retried, and this replica, which knows Apple has the
    // part, resumes after it.
    let refusals = Arc::new(AtomicU32::new(0));
    let count = refusals.clone();
    let p = platform_with_store(
        |_| {},
        move |inner| {
            Arc::new(Faulty {
                inner,
                faults: Arc::new(move |operation| {
                    if operation == "set_fields" && count.fetch_add(1, Ordering::SeqCst) < 3 {
                        StoreFault::Refuse
                    } else {
                        StoreFault::Pass
                    }
                }),
            })
        },
    )
    .await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let event = answer(&p, &key).await;
    p.publish(&event).await;
    check_delivered(&p, &device.customer, &key, &event).await;
    assert!(
        refusals.load(Ordering::SeqCst) >= 3,
        "the refusals happened"
    );
    assert_eq!(p.sim.state().attempts().len(), 4, "one POST per part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_typing_indicator_does_not_hold_up_the_answer() {
    // Apple refuses the first POST (the typing indicator) for good: it is skipped, and the
    // greeting, the answer and the typing end follow without a retry.
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    p.sim.state().add_fault(Fault {
        scope: FaultScope::Customer(device.customer.clone()),
        status: Some(400),
        retry_after_secs: None,
        latency_ms: 0,
        hang: false,
        times: Some(1),
        duration_ms: None,
    });
    let event = answer(&p, &key).await;
    p.publish(&event).await;
    let results = final_results(&p, &event, 2).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.outcome, Some(Outcome::Sent(_)))),
        "{results:?}"
    );
    let received = p.received(&device.customer, 3, WITHIN).await;
    assert_eq!(shown(&received), IN_ORDER[1..]);
    assert_eq!(transcript(&p, &key).await.len(), 2);
}
