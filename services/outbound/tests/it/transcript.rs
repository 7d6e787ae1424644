//! The business's side of the transcript: outbound writes each message Apple accepted, with
//! its sender, and each reply it refused with why; not a notification nobody opted in to.

use std::time::Duration;

use parley_apple_sim::DeviceKind;
use parley_proto::v1::{
    Actor, ActorKind, OutboundText, TranscriptDelivery, TranscriptEntry, TypingStart,
    delivery_result, outbound_message::Kind,
};
use prost::Message as _;

use crate::harness::platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_and_refused_replies_are_in_the_transcript_and_a_refused_notification_is_not()
{
    let p = platform().await;
    let (_device, key) = p.customer(DeviceKind::Iphone).await;
    let text = |body: &str| {
        Kind::Text(OutboundText {
            body: body.into(),
            attachments: Vec::new(),
        })
    };

    // The agent's text (the harness's sender), the bot's text, a typing indicator.
    let agent = p.event(&key, text("Your table is ready")).await;
    p.publish(&agent).await;
    let mut bot = p.event(&key, text("We open at 8")).await;
    bot.sender = Some(Actor {
        kind: ActorKind::Bot as i32,
        id: "bot".into(),
        display_name: String::new(),
    });
    p.publish(&bot).await;
    let typing = p.event(&key, Kind::TypingStart(TypingStart {})).await;
    p.publish(&typing).await;
    // A notification without the customer's opt-in is refused.
    let mut notification = p.event(&key, text("20% off today")).await;
    notification.business_initiated = true;
    notification.notification_topic = "offers".into();
    notification.sender = Some(Actor {
        kind: ActorKind::Notification as i32,
        id: "crm".into(),
        display_name: String::new(),
    });
    p.publish(&notification).await;
    for (event, sent) in [
        (&agent, true),
        (&bot, true),
        (&typing, true),
        (&notification, false),
    ] {
        let outcome = p.outcome_of(event, Duration::from_secs(10)).await.outcome;
        assert_eq!(
            matches!(outcome, Some(delivery_result::Outcome::Sent(_))),
            sent,
            "{outcome:?}"
        );
    }

    let entries: Vec<TranscriptEntry> = p
        .backends
        .store
        .transcript(&key, 100)
        .await
        .unwrap()
        .iter()
        .map(|bytes| TranscriptEntry::decode(bytes.as_ref()).expect("a typed entry"))
        .collect();
    let seen: Vec<(i32, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            let author = e.author.as_ref().unwrap();
            (
                author.kind,
                author.id.as_str(),
                e.text.as_str(),
                e.message_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                ActorKind::Agent as i32,
                "agent-7",
                "Your table is ready",
                agent.apple_message_id.as_str()
            ),
            (
                ActorKind::Bot as i32,
                "bot",
                "We open at 8",
                bot.apple_message_id.as_str()
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.at.is_some()));
    assert!(
        entries
            .iter()
            .all(|e| e.delivery == TranscriptDelivery::Sent as i32)
    );

    // Once the customer closed the conversation, a reply is refused, and the transcript
    // says so.
    p.backends
        .store
        .raise_field(&key, parley_state::facts::CUSTOMER_CLOSED_AT, 2)
        .await
        .unwrap();
    let late = p.event(&key, text("Are you still there?")).await;
    p.publish(&late).await;
    let outcome = p.outcome_of(&late, Duration::from_secs(10)).await.outcome;
    assert!(
        matches!(outcome, Some(delivery_result::Outcome::Refused(_))),
        "{outcome:?}"
    );
    let last = p
        .backends
        .store
        .transcript(&key, 100)
        .await
        .unwrap()
        .last()
        .map(|bytes| TranscriptEntry::decode(bytes.as_ref()).unwrap())
        .unwrap();
    assert_eq!(last.message_id, late.apple_message_id);
    assert_eq!(last.text, "Are you still there?");
    assert_eq!(last.delivery, TranscriptDelivery::Refused as i32);
    assert_eq!(last.delivery_detail, "the customer closed the conversation");
}
