//! The notification API.

use std::time::Duration;

use parley_notification_consent::APPLE_DISCLOSURE;
use parley_proto::v1::{ActorKind, ConsentSource, ConsentStatus, consent_event};
use parley_state::facts;
use serde_json::json;

use super::harness::{ACME, QUIET, QUIET_TOKEN, TOKEN, WITHIN, key, platform, text_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_the_right_status_and_a_line_that_says_what_was_wrong() {
    let p = platform().await;
    let good = json!({
        "opaque_id": "urn:mbid:someone",
        "topic": "orders",
        "text": "Your order has shipped.",
        "idempotency_key": "order-1",
    });
    let (status, body, _) = p.post("/v1/notifications", None, good.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, _, _) = p
        .post("/v1/notifications", Some("wrong"), good.clone())
        .await;
    assert_eq!(status, 401);
    for (change, expected) in [
        (json!({"topic": "billing"}), "`topic`"),
        (json!({"opaque_id": "has space"}), "`opaque_id`"),
        (json!({"text": "   "}), "`text`"),
        (json!({"idempotency_key": ""}), "`idempotency_key`"),
        (json!({"colour": "red"}), "unknown field"),
    ] {
        let mut body = good.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer, _) = p.post("/v1/notifications", Some(TOKEN), body).await;
        assert_eq!(status, 400, "{change}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
    let response = p
        .http
        .post(format!("{}/v1/notifications", p.api))
        .bearer_auth(TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let response = p
        .http
        .post(format!("{}/v1/notifications", p.api))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"opaque_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // A customer who never wrote: only customers start conversations.
    let (status, body, _) = p.post("/v1/notifications", Some(TOKEN), good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("no_conversation"))
    );
    assert!(
        p.outbound_messages(1, Duration::from_millis(500))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_needs_an_opt_in_and_the_first_on_a_disclosure_topic_follows_apples_text() {
    let p = platform().await;
    let customer = key(ACME, "notified");
    let store = &p.backends.store;
    p.say(&customer, 1, "hello", "en-US", 0).await;
    let notification = |key: &str| {
        json!({
            "opaque_id": customer.opaque.as_str(),
            "topic": "orders",
            "text": "Your order has shipped.",
            "idempotency_key": key,
        })
    };
    let (status, body, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-1"))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("no_consent")),
        "{body}"
    );

    // The business recorded the customer's opt-in elsewhere.
    let (status, body, _) = p
        .post(
            "/v1/consent",
            Some(TOKEN),
            json!({
                "opaque_id": customer.opaque.as_str(),
                "topic": "orders",
                "status": "opted_in",
                "request_id": "web-form-77",
                "note": "checkbox on the checkout page",
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "opted_in");
    let (_, lookup, _) = p
        .post(
            "/v1/consent/lookup",
            Some(TOKEN),
            json!({"opaque_id": customer.opaque.as_str()}),
        )
        .await;
    let statuses: Vec<(String, String, String)> = lookup["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["topic"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("account".into(), "none".into(), String::new()),
            ("orders".into(), "opted_in".into(), "api".into()),
            ("marketing".into(), "none".into(), String::new()),
        ]
    );

    let (status, first, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-1"))
        .await;
    assert_eq!(status, 202, "{first}");
    assert!(first["disclosure_event_id"].is_string());
    let sent = p.outbound_messages(2, WITHIN).await;
    assert_eq!(
        sent.iter().map(text_of).collect::<Vec<_>>(),
        [APPLE_DISCLOSURE, "Your order has shipped."]
    );
    for message in &sent {
        assert!(message.business_initiated);
        assert_eq!(message.notification_topic, "orders");
        assert_eq!(
            message.sender.as_ref().unwrap().kind(),
            ActorKind::Notification
        );
        assert_eq!(message.sender.as_ref().unwrap().id, "crm");
    }
    let sequences: Vec<u64> = sent
        .iter()
        .map(|m| m.meta.as_ref().unwrap().sequence)
        .collect();
    assert_eq!(sequences, [1, 2]);
    assert_eq!(first["sequence"], 2);
    assert_eq!(first["event_id"], sent[1].meta.as_ref().unwrap().event_id);

    // The same call again (a retry): the same answer, nothing new sent.
    let (status, again, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-1"))
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        (&again["event_id"], &again["sequence"]),
        (&first["event_id"], &first["sequence"])
    );
    assert!(
        p.outbound_messages(1, Duration::from_secs(2))
            .await
            .is_empty()
    );

    // The next notification: no disclosure.
    let (status, second, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-2"))
        .await;
    assert_eq!(status, 202);
    assert!(second["disclosure_event_id"].is_null());
    let sent = p.outbound_messages(1, WITHIN).await;
    assert_eq!(sent[0].meta.as_ref().unwrap().sequence, 3);

    // The audit trail: the opt-in through the API, then the disclosure.
    let events = p.consent_events(2, WITHIN).await;
    assert_eq!(events[0].source(), ConsentSource::Api);
    assert_eq!(events[0].status(), ConsentStatus::OptedIn);
    let audit = events[0].audit.as_ref().unwrap();
    assert_eq!(
        (audit.request_id.as_str(), audit.note.as_str()),
        ("web-form-77", "checkbox on the checkout page")
    );
    assert!(matches!(
        events[1].change,
        Some(consent_event::Change::DisclosureSent(ref d))
            if Some(d.outbound_event_id.as_str()) == first["disclosure_event_id"].as_str()
    ));
    assert_eq!(
        events[1].audit.as_ref().unwrap().disclosure_text,
        APPLE_DISCLOSURE
    );

    // A customer's "stop" wins over the earlier opt-in.
    p.say(&customer, 2, "stop", "en-US", 0).await;
    let events = p.consent_events(3, WITHIN).await;
    assert_eq!(events.len(), 3);
    let (status, body, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-3"))
        .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("no_consent")));
    // The customer closes the conversation: nothing is sent until they write again.
    store
        .raise_field(&customer, facts::CUSTOMER_CLOSED_AT, 3)
        .await
        .unwrap();
    let (status, body, _) = p
        .post("/v1/notifications", Some(TOKEN), notification("n-4"))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("conversation_closed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_refuse_with_the_time_they_end_and_a_client_acts_for_its_business_only() {
    let p = platform().await;
    let customer = key(QUIET, "night");
    let store = &p.backends.store;
    store
        .raise_field(&customer, facts::CUSTOMER_ACTIVE_AT, 1)
        .await
        .unwrap();
    let (status, _, _) = p
        .post(
            "/v1/consent",
            Some(QUIET_TOKEN),
            json!({
                "opaque_id": customer.opaque.as_str(),
                "topic": "marketing",
                "status": "opted_in",
                "request_id": "r-1",
            }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body, headers) = p
        .post(
            "/v1/notifications",
            Some(QUIET_TOKEN),
            json!({
                "opaque_id": customer.opaque.as_str(),
                "topic": "marketing",
                "text": "Sale!",
                "idempotency_key": "sale-1",
            }),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("quiet_hours")),
        "{body}"
    );
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert!(
        p.outbound_messages(1, Duration::from_millis(500))
            .await
            .is_empty()
    );

    // Acme's client reaches Acme's customers only: the same opaque id is another customer.
    let (_, lookup, _) = p
        .post(
            "/v1/consent/lookup",
            Some(TOKEN),
            json!({"opaque_id": customer.opaque.as_str()}),
        )
        .await;
    assert!(
        lookup["topics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "none")
    );
}
