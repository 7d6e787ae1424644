//! Keywords typed by customers, read from `amb.inbound`.

use std::time::Duration;

use parley_notification_consent::policy::{DEFAULT_SUBSCRIBED, DEFAULT_UNSUBSCRIBED};
use parley_proto::v1::{
    ActorKind, Capability, ConsentSource, ConsentStatus, DeviceCapabilities, InteractiveReply,
    ListPickerItem, ListPickerReply, ListPickerSection, consent_event, inbound_message,
    interactive_reply, outbound_message::Kind,
};
use prost::Message as _;

use super::harness::{
    ACME, FRENCH_UNSUBSCRIBED, WITHIN, key, platform, platform_with, publish_inbound, text_of,
};

const TOPICS: [&str; 3] = ["account", "orders", "marketing"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_opts_out_of_every_topic_once_and_confirms_in_the_customers_language() {
    let p = platform().await;
    let customer = key(ACME, "stop");
    p.say(&customer, 1, "Bonjour", "fr-FR", 0).await;
    p.say(&customer, 2, "STOP !", "fr-FR", 0).await;
    let events = p.consent_events(3, WITHIN).await;
    assert_eq!(
        events.iter().map(|e| e.topic.as_str()).collect::<Vec<_>>(),
        TOPICS
    );
    let evidence = format!("in-{:016x}-2", customer.stable_hash());
    for event in &events {
        assert_eq!(event.status(), ConsentStatus::OptedOut);
        assert_eq!(event.source(), ConsentSource::Keyword);
        let audit = event.audit.as_ref().unwrap();
        assert_eq!(audit.keyword, "stop");
        assert_eq!(audit.evidence_event_id, evidence);
        assert!(matches!(
            event.change,
            Some(consent_event::Change::OptedOut(ref o)) if o.all_topics
        ));
        // The record outbound's gate reads is the same event.
        let stored = p
            .backends
            .store
            .consent(&customer, &event.topic)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            parley_proto::v1::ConsentEvent::decode(stored.as_ref()).unwrap(),
            *event
        );
    }
    // The confirmation, then the topics to choose from.
    let told = p.outbound_messages(2, WITHIN).await;
    assert_eq!(told.len(), 2);
    assert_eq!(text_of(&told[0]), FRENCH_UNSUBSCRIBED);
    assert!(matches!(told[1].kind, Some(Kind::ListPicker(_))));
    for message in &told {
        assert_eq!(message.sender.as_ref().unwrap().kind(), ActorKind::System);
        assert!(!message.business_initiated);
    }
    assert_eq!(
        told.iter()
            .map(|m| m.meta.as_ref().unwrap().sequence)
            .collect::<Vec<_>>(),
        [1, 2]
    );

    // A copy of the message (another NATS id, so JetStream keeps it) changes nothing more.
    p.say(&customer, 2, "STOP !", "fr-FR", 1).await;
    let extra = p.outbound_messages(1, Duration::from_secs(2)).await;
    assert!(extra.is_empty(), "duplicate confirmation");
    assert!(
        p.consent_events(1, Duration::from_millis(500))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_apply_in_the_customers_order_on_two_replicas_whatever_the_arrival_order() {
    let p = platform().await;
    p.start().await;
    let customer = key(ACME, "order");
    // The customer wrote "stop", then "subscribe", then "thanks"; they arrive backwards,
    // with a copy of the first.
    p.say(&customer, 3, "thanks", "en-US", 0).await;
    p.say(&customer, 2, "subscribe", "en-US", 0).await;
    p.say(&customer, 1, "unsubscribe", "en-US", 0).await;
    p.say(&customer, 1, "unsubscribe", "en-US", 1).await;
    let told = p.outbound_messages(3, WITHIN).await;
    assert_eq!(
        told.iter().map(text_of).collect::<Vec<_>>(),
        [DEFAULT_UNSUBSCRIBED, "", DEFAULT_SUBSCRIBED],
        "the opt-out's confirmation and list picker, then the opt-in's confirmation"
    );
    assert_eq!(
        told.iter()
            .map(|m| m.meta.as_ref().unwrap().sequence)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let events = p.consent_events(6, WITHIN).await;
    assert_eq!(events.len(), 6);
    for topic in TOPICS {
        let status = p
            .backends
            .store
            .consent(&customer, topic)
            .await
            .unwrap()
            .map(|b| {
                parley_proto::v1::ConsentEvent::decode(b.as_ref())
                    .unwrap()
                    .status()
            });
        assert_eq!(status, Some(ConsentStatus::OptedIn), "{topic}");
    }
    assert!(
        p.outbound_messages(1, Duration::from_secs(2))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentences_and_other_messages_change_nothing_and_a_business_word_counts() {
    let p = platform().await;
    let customer = key(ACME, "words");
    p.say(&customer, 1, "please stop the order", "es-ES", 0)
        .await;
    p.say(&customer, 2, "subscribed?", "es-ES", 0).await;
    p.say(&customer, 3, "Baja", "es-ES", 0).await;
    let events = p.consent_events(3, WITHIN).await;
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.audit.as_ref().unwrap().keyword == "baja")
    );
    let evidence = format!("in-{:016x}-3", customer.stable_hash());
    assert!(
        events
            .iter()
            .all(|e| e.audit.as_ref().unwrap().evidence_event_id == evidence)
    );
    // No Spanish text in the policy: the English one.
    let told = p.outbound_messages(1, WITHIN).await;
    assert_eq!(text_of(&told[0]), DEFAULT_UNSUBSCRIBED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preferences_list_picker_opts_in_to_the_chosen_topics_and_out_of_the_others() {
    let p = platform().await;
    let customer = key(ACME, "prefs");
    p.say(&customer, 1, "unsubscribe", "en-US", 0).await;
    let told = p.outbound_messages(2, WITHIN).await;
    let Some(Kind::ListPicker(picker)) = told[1].kind.as_ref() else {
        panic!("no list picker: {told:?}");
    };
    let section = &picker.sections[0];
    assert!(section.multiple_selection);
    let items: Vec<(&str, &str)> = section
        .items
        .iter()
        .map(|i| (i.identifier.as_str(), i.title.as_str()))
        .collect();
    assert_eq!(
        items,
        [
            ("parley-consent-topic:account", "Account"),
            ("parley-consent-topic:orders", "Orders"),
            ("parley-consent-topic:marketing", "Marketing"),
        ]
    );
    // The customer picks "Orders".
    let chosen = ListPickerItem {
        identifier: "parley-consent-topic:orders".into(),
        title: "Orders".into(),
        ..ListPickerItem::default()
    };
    let reply = inbound_message::Kind::InteractiveReply(InteractiveReply {
        reply: Some(interactive_reply::Reply::ListPicker(ListPickerReply {
            sections: vec![ListPickerSection {
                items: vec![chosen],
                ..ListPickerSection::default()
            }],
        })),
        ..InteractiveReply::default()
    });
    publish_inbound(
        &p.backends,
        &p.config,
        &customer,
        2,
        reply,
        "en-US",
        None,
        0,
    )
    .await;
    let events = p.consent_events(6, WITHIN).await;
    let chosen: Vec<(&str, ConsentStatus)> = events[3..]
        .iter()
        .map(|e| (e.topic.as_str(), e.status()))
        .collect();
    assert_eq!(
        chosen,
        [
            ("account", ConsentStatus::OptedOut),
            ("orders", ConsentStatus::OptedIn),
            ("marketing", ConsentStatus::OptedOut),
        ]
    );
    assert!(
        events[3..]
            .iter()
            .all(|e| e.source() == ConsentSource::PreferencesMenu)
    );
    let saved = p.outbound_messages(1, WITHIN).await;
    assert_eq!(
        text_of(&saved[0]),
        parley_notification_consent::policy::DEFAULT_PREFERENCES_SAVED
    );

    // A device that said it cannot show list pickers gets the confirmation only (as text,
    // numbered choices would read as an answer to the bot's menu).
    let old = key(ACME, "old-device");
    let text = inbound_message::Kind::Text(parley_proto::v1::InboundText {
        body: "stop".into(),
        attachments: Vec::new(),
    });
    let caps = DeviceCapabilities {
        capabilities: vec![Capability::QuickReply as i32],
        unrecognized: Vec::new(),
    };
    publish_inbound(
        &p.backends,
        &p.config,
        &old,
        1,
        text,
        "en-US",
        Some(caps),
        0,
    )
    .await;
    let told = p.outbound_messages(2, Duration::from_secs(3)).await;
    assert_eq!(
        told.iter().map(text_of).collect::<Vec<_>>(),
        [DEFAULT_UNSUBSCRIBED]
    );
}

/// A keyword skipped at the gate (its message arrived after the gap timeout) is applied late,
/// but never over a newer decision: the customer wrote "subscribe" then "stop"; "stop" was
/// applied first (the gap before it given up on), and the late "subscribe" must leave them
/// opted out, with no opt-in on the audit trail and no "subscribed" told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_keyword_does_not_undo_a_newer_one() {
    use std::sync::Arc;

    use parley_state::intercept::{Fault, Faulty};

    // Counts the gate's completions: each message handled, late or not, ends with one.
    let (completed, mut completions) = tokio::sync::watch::channel(0u32);
    let completed = Arc::new(completed);
    let p = platform_with(
        Duration::from_secs(1),
        Arc::new(move |inner| {
            let completed = completed.clone();
            Arc::new(Faulty {
                inner,
                faults: Arc::new(move |operation| {
                    if operation == "complete" {
                        completed.send_modify(|n| *n += 1);
                    }
                    Fault::Pass
                }),
            })
        }),
    )
    .await;
    let customer = key(ACME, "late");
    p.say(&customer, 1, "hello", "en-US", 0).await;
    // 2 ("subscribe") is not there yet (ingest's publish of it failed, Apple will retry);
    // 3 goes first, once the gate gives up waiting for 2.
    p.say(&customer, 3, "stop", "en-US", 0).await;
    let events = p.consent_events(3, WITHIN).await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.status() == ConsentStatus::OptedOut));
    let told = p.outbound_messages(2, WITHIN).await;
    assert_eq!(text_of(&told[0]), DEFAULT_UNSUBSCRIBED);
    // Apple's retry of 2 arrives, late.
    p.say(&customer, 2, "subscribe", "en-US", 0).await;
    tokio::time::timeout(WITHIN, completions.wait_for(|n| *n >= 3))
        .await
        .expect("the late message is handled")
        .unwrap();
    // Whatever it would have published is published before its completion.
    let late_events = p.consent_events(1, Duration::from_millis(500)).await;
    assert!(late_events.is_empty(), "{late_events:?}");
    let late_told = p.outbound_messages(1, Duration::from_millis(500)).await;
    assert!(
        late_told.is_empty(),
        "{:?}",
        late_told.iter().map(text_of).collect::<Vec<_>>()
    );
    for topic in TOPICS {
        let status = p
            .backends
            .store
            .consent(&customer, topic)
            .await
            .unwrap()
            .map(|b| {
                parley_proto::v1::ConsentEvent::decode(b.as_ref())
                    .unwrap()
                    .status()
            });
        assert_eq!(status, Some(ConsentStatus::OptedOut), "{topic}");
    }
    // A decision newer than both applies as usual.
    p.say(&customer, 4, "subscribe", "en-US", 0).await;
    let events = p.consent_events(3, WITHIN).await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.status() == ConsentStatus::OptedIn));
    let told = p.outbound_messages(1, WITHIN).await;
    assert_eq!(text_of(&told[0]), DEFAULT_SUBSCRIBED);
}
