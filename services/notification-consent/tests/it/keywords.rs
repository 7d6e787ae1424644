//! Keywords typed by customers, read from `amb.inbound`.

use std::time::Duration;

use parley_notification_consent::policy::{DEFAULT_SUBSCRIBED, DEFAULT_UNSUBSCRIBED};
use parley_proto::v1::{ActorKind, ConsentSource, ConsentStatus, consent_event};
use prost::Message as _;

use super::harness::{ACME, FRENCH_UNSUBSCRIBED, WITHIN, key, platform, text_of};

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
    let told = p.outbound_messages(1, WITHIN).await;
    assert_eq!(told.len(), 1);
    assert_eq!(text_of(&told[0]), FRENCH_UNSUBSCRIBED);
    assert_eq!(told[0].sender.as_ref().unwrap().kind(), ActorKind::System);
    assert!(!told[0].business_initiated);
    assert_eq!(told[0].meta.as_ref().unwrap().sequence, 1);

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
    let told = p.outbound_messages(2, WITHIN).await;
    assert_eq!(
        told.iter().map(text_of).collect::<Vec<_>>(),
        [DEFAULT_UNSUBSCRIBED, DEFAULT_SUBSCRIBED]
    );
    assert_eq!(
        told.iter()
            .map(|m| m.meta.as_ref().unwrap().sequence)
            .collect::<Vec<_>>(),
        [1, 2]
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
