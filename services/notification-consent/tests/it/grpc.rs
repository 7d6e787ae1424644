//! The notification API over gRPC: the same calls and refusals as over HTTP.

use std::time::Duration;

use parley_proto::v1::{
    ConsentSource, ConsentStatus, GetConsentRequest, SendNotificationRequest, SetConsentRequest,
    notification_service_client::NotificationServiceClient,
};
use parley_state::facts;
use tonic::{Code, Request, transport::Channel};

use super::harness::{ACME, QUIET, QUIET_TOKEN, TOKEN, WITHIN, key, platform};

async fn client(url: &str) -> NotificationServiceClient<Channel> {
    // The generated client is built without transport (build_transport(false)).
    let channel = Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    NotificationServiceClient::new(channel)
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn notification(opaque: &str, topic: &str, key: &str) -> SendNotificationRequest {
    SendNotificationRequest {
        opaque_id: opaque.to_owned(),
        topic: topic.to_owned(),
        text: "Your table is ready.".into(),
        idempotency_key: key.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_api_sends_after_a_keyword_opt_in_and_refuses_with_the_right_codes() {
    let p = platform().await;
    let url = p.grpc_urls.lock().unwrap()[0].clone();
    let mut api = client(&url).await;
    let customer = key(ACME, "grpc");
    let opaque = customer.opaque.as_str();

    let refused = api
        .send_notification(Request::new(notification(opaque, "orders", "k-1")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let refused = api
        .send_notification(with_token(notification(opaque, "billing", "k-1"), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("`topic`"),
        "{}",
        refused.message()
    );
    let refused = api
        .send_notification(with_token(notification(opaque, "orders", "k-1"), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{}", refused.message());

    p.say(&customer, 1, "subscribe", "en-US", 0).await;
    // The confirmation says the keyword was applied.
    assert_eq!(p.outbound_messages(1, WITHIN).await.len(), 1);
    let consent = api
        .get_consent(with_token(
            GetConsentRequest {
                opaque_id: opaque.to_owned(),
            },
            TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consent.topics.len(), 3);
    for topic in &consent.topics {
        assert_eq!(topic.status(), ConsentStatus::OptedIn, "{}", topic.topic);
        assert_eq!(topic.source(), ConsentSource::Keyword);
        assert!(topic.changed_at.is_some());
    }
    let sent = api
        .send_notification(with_token(notification(opaque, "orders", "k-1"), TOKEN))
        .await
        .unwrap()
        .into_inner();
    assert!(!sent.disclosure_event_id.is_empty());
    assert_eq!(
        sent.sequence, 3,
        "confirmation 1, disclosure 2, notification 3"
    );
    let delivered = p.outbound_messages(2, WITHIN).await;
    assert_eq!(delivered[1].meta.as_ref().unwrap().event_id, sent.event_id);

    // An opt-out through the API, then the notification is refused.
    let recorded = api
        .set_consent(with_token(
            SetConsentRequest {
                opaque_id: opaque.to_owned(),
                topic: "marketing".into(),
                status: ConsentStatus::OptedOut as i32,
                request_id: "call-centre-9".into(),
                note: String::new(),
            },
            TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recorded.source(), ConsentSource::Api);
    let refused = api
        .send_notification(with_token(notification(opaque, "marketing", "k-2"), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().starts_with("no_consent"));
    assert!(
        p.outbound_messages(1, Duration::from_millis(500))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_over_grpc_say_when_to_retry() {
    let p = platform().await;
    let url = p.grpc_urls.lock().unwrap()[0].clone();
    let mut api = client(&url).await;
    let customer = key(QUIET, "grpc-night");
    p.backends
        .store
        .raise_field(&customer, facts::CUSTOMER_ACTIVE_AT, 1)
        .await
        .unwrap();
    api.set_consent(with_token(
        SetConsentRequest {
            opaque_id: customer.opaque.as_str().to_owned(),
            topic: "orders".into(),
            status: ConsentStatus::OptedIn as i32,
            request_id: "r-1".into(),
            note: String::new(),
        },
        QUIET_TOKEN,
    ))
    .await
    .unwrap();
    let refused = api
        .send_notification(with_token(
            notification(customer.opaque.as_str(), "orders", "n-1"),
            QUIET_TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().starts_with("quiet_hours"));
    let seconds: u64 = refused
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&seconds));
}
