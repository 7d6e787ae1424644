//! The last gate: closed conversations, consent, capabilities, unreachable customers.

use std::time::Duration;

use bytes::Bytes;
use parley_apple_sim::{DeviceKind, Fault, FaultScope};
use parley_proto::v1::{
    Capability, ConsentEvent, ConsentStatus, FailureCause, FormPage, FormPageType, FormRequest,
    InteractiveCommon, ListPickerItem, ListPickerRequest, ListPickerSection, RefusalReason,
    delivery_result::Outcome, outbound_message::Kind,
};
use parley_state::facts;
use prost::Message as _;

use crate::harness::platform;

fn refusal(outcome: Option<Outcome>) -> (RefusalReason, Vec<i32>) {
    match outcome {
        Some(Outcome::Refused(refused)) => (refused.reason(), refused.missing_capabilities),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_blocks_business_messages_until_the_customer_writes_again() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let first = p.text(&key, "before the close").await;
    p.received(&device.customer, 1, Duration::from_secs(10))
        .await;
    assert!(matches!(
        p.outcome_of(&first, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    // The customer closes (ingest records it with the close's sequence).
    p.backends
        .store
        .raise_field(&key, facts::CUSTOMER_CLOSED_AT, 2)
        .await
        .unwrap();
    let blocked = p.text(&key, "after the close").await;
    let (reason, _) = refusal(
        p.outcome_of(&blocked, Duration::from_secs(10))
            .await
            .outcome,
    );
    assert_eq!(reason, RefusalReason::ConversationClosed);
    // The customer writes again: the conversation reopens.
    p.backends
        .store
        .raise_field(&key, facts::CUSTOMER_ACTIVE_AT, 3)
        .await
        .unwrap();
    let reopened = p.text(&key, "welcome back").await;
    assert!(matches!(
        p.outcome_of(&reopened, Duration::from_secs(10))
            .await
            .outcome,
        Some(Outcome::Sent(_))
    ));
    let bodies: Vec<String> = p
        .received(&device.customer, 2, Duration::from_secs(10))
        .await
        .iter()
        .map(|r| r.body["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        bodies,
        ["before the close", "welcome back"],
        "nothing reached Apple while closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_needs_an_opt_in_for_its_topic() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let notify = |body: &'static str| {
        let p = &p;
        let key = key.clone();
        async move {
            let mut event = p
                .event(
                    &key,
                    Kind::Text(parley_proto::v1::OutboundText {
                        body: body.into(),
                        attachments: vec![],
                    }),
                )
                .await;
            event.business_initiated = true;
            event.notification_topic = "orders".into();
            p.publish(&event).await;
            event
        }
    };
    let without = notify("your order shipped").await;
    let (reason, _) = refusal(
        p.outcome_of(&without, Duration::from_secs(10))
            .await
            .outcome,
    );
    assert_eq!(reason, RefusalReason::NoConsent);
    // An opt-in for another topic does not count; then the customer opts in to `orders`.
    let record = |status: ConsentStatus| {
        Bytes::from(
            ConsentEvent {
                topic: "orders".into(),
                status: status as i32,
                ..Default::default()
            }
            .encode_to_vec(),
        )
    };
    p.backends
        .store
        .set_consent(&key, "promotions", record(ConsentStatus::OptedIn))
        .await
        .unwrap();
    let still = notify("still not allowed").await;
    assert_eq!(
        refusal(p.outcome_of(&still, Duration::from_secs(10)).await.outcome).0,
        RefusalReason::NoConsent
    );
    p.backends
        .store
        .set_consent(&key, "orders", record(ConsentStatus::OptedIn))
        .await
        .unwrap();
    let with = notify("your order shipped").await;
    assert!(matches!(
        p.outcome_of(&with, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    // Opting out blocks again.
    p.backends
        .store
        .set_consent(&key, "orders", record(ConsentStatus::OptedOut))
        .await
        .unwrap();
    let after = notify("after opting out").await;
    assert_eq!(
        refusal(p.outcome_of(&after, Duration::from_secs(10)).await.outcome).0,
        RefusalReason::NoConsent
    );
    let received = p
        .received(&device.customer, 1, Duration::from_secs(5))
        .await;
    assert_eq!(received.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_device_cannot_show_becomes_text_or_is_refused() {
    let p = platform().await;
    let (watch, watch_key) = p.customer(DeviceKind::Watch).await;
    let list = p
        .event(
            &watch_key,
            Kind::ListPicker(ListPickerRequest {
                common: Some(InteractiveCommon::default()),
                sections: vec![ListPickerSection {
                    title: "Stores".into(),
                    items: vec![
                        ListPickerItem {
                            identifier: "s1".into(),
                            title: "Main Street".into(),
                            ..Default::default()
                        },
                        ListPickerItem {
                            identifier: "s2".into(),
                            title: "Harbour Road".into(),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }],
            }),
        )
        .await;
    p.publish(&list).await;
    let received = p
        .received(&watch.customer, 1, Duration::from_secs(10))
        .await;
    assert_eq!(
        received[0].body["type"], "text",
        "a watch without LIST gets the text rendering"
    );
    let text = received[0].body["body"].as_str().unwrap();
    assert!(
        text.contains("Main Street") && text.contains("Harbour Road"),
        "{text}"
    );
    assert!(matches!(
        p.outcome_of(&list, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));

    let (mac, mac_key) = p.customer(DeviceKind::Mac).await;
    let form = p
        .event(
            &mac_key,
            Kind::Form(FormRequest {
                common: Some(InteractiveCommon::default()),
                pages: vec![FormPage {
                    page_identifier: "0".into(),
                    r#type: FormPageType::Input as i32,
                    title: "Email".into(),
                    submit_form: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        )
        .await;
    p.publish(&form).await;
    let (reason, missing) = refusal(p.outcome_of(&form, Duration::from_secs(10)).await.outcome);
    assert_eq!(reason, RefusalReason::CapabilityMissing);
    assert_eq!(missing, vec![Capability::Form as i32]);
    assert!(p.sim.state().received_by(&mac.customer).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_marks_the_customer_unreachable_until_they_write_again() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    p.sim.state().add_fault(Fault {
        scope: FaultScope::Customer(device.customer.clone()),
        status: Some(404),
        retry_after_secs: None,
        latency_ms: 0,
        hang: false,
        times: Some(1),
        duration_ms: None,
    });
    let lost = p.text(&key, "are you there").await;
    match p.outcome_of(&lost, Duration::from_secs(10)).await.outcome {
        Some(Outcome::Failed(failed)) => {
            assert_eq!(failed.cause(), FailureCause::UnknownDestination)
        }
        other => panic!("{other:?}"),
    }
    let next = p.text(&key, "hello?").await;
    assert_eq!(
        refusal(p.outcome_of(&next, Duration::from_secs(10)).await.outcome).0,
        RefusalReason::CustomerUnreachable
    );
    p.backends
        .store
        .raise_field(&key, facts::CUSTOMER_ACTIVE_AT, 5)
        .await
        .unwrap();
    let back = p.text(&key, "hi again").await;
    assert!(matches!(
        p.outcome_of(&back, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    let attempts = p
        .sim
        .state()
        .attempts()
        .into_iter()
        .filter(|a| a.customer == device.customer)
        .count();
    assert_eq!(
        attempts, 2,
        "one 404, no retry, nothing while unreachable, then the reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_bot_reply_is_dropped_once_a_human_owns_the_conversation() {
    use parley_proto::v1::{ActorKind, ConversationState, LifecycleState, OutboundText};
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let set_lifecycle = |state: LifecycleState| {
        let store = p.backends.store.clone();
        let key = key.clone();
        async move {
            let version = store.load(&key).await.unwrap().map_or(0, |v| v.version);
            let record = ConversationState {
                lifecycle: state as i32,
                version: version + 1,
                ..Default::default()
            };
            store
                .compare_and_set(&key, version, Bytes::from(record.encode_to_vec()))
                .await
                .unwrap();
        }
    };
    let bot_says = |body: &str| {
        let body = body.to_owned();
        async {
            let mut event = p
                .event(
                    &key,
                    Kind::Text(OutboundText {
                        body,
                        attachments: Vec::new(),
                    }),
                )
                .await;
            let sender = event.sender.as_mut().unwrap();
            sender.kind = ActorKind::Bot as i32;
            sender.id = "bot".into();
            event.auto_reply = true;
            p.publish(&event).await;
            event
        }
    };
    let within = Duration::from_secs(10);

    set_lifecycle(LifecycleState::WithBot).await;
    let answered = bot_says("the bot answers").await;
    assert!(matches!(
        p.outcome_of(&answered, within).await.outcome,
        Some(Outcome::Sent(_))
    ));
    // The customer asked for a human: queued, then assigned. The bot's late replies are
    // dropped with their reason; an agent's reply goes out.
    for state in [LifecycleState::Queued, LifecycleState::Assigned] {
        set_lifecycle(state).await;
        let late = bot_says("a late bot reply").await;
        let (reason, _) = refusal(p.outcome_of(&late, within).await.outcome);
        assert_eq!(reason, RefusalReason::BotNotOwner, "{state:?}");
    }
    let human = p.text(&key, "hello, this is Sam").await;
    assert!(matches!(
        p.outcome_of(&human, within).await.outcome,
        Some(Outcome::Sent(_))
    ));
    // Handed back to the bot: it answers again.
    set_lifecycle(LifecycleState::WithBot).await;
    let back = bot_says("the bot again").await;
    assert!(matches!(
        p.outcome_of(&back, within).await.outcome,
        Some(Outcome::Sent(_))
    ));
    let bodies: Vec<String> = p
        .received(&device.customer, 3, within)
        .await
        .iter()
        .map(|r| r.body["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        bodies,
        ["the bot answers", "hello, this is Sam", "the bot again"]
    );
}
