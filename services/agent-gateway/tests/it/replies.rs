//! Replies: refused when the device cannot show them, sent with `msp-agent` otherwise.

use std::time::Duration;

use parley_proto::v1::{
    ActorKind, AgentTyping, CommandError, ListPickerItem, ListPickerRequest, ListPickerSection,
    OutboundText, Reply, Transfer, agent_command::Command, outbound_message::Kind, reply::Content,
    routing_command, transfer, transfer_conversation,
};

use prost::Message as _;

use crate::harness::{self, AGENT, AGENT_TOKEN, Agent, BIZ, offered_ref};

#[tokio::test]
async fn a_list_picker_for_a_quick_only_device_is_refused_and_text_is_sent() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let mut agent = Agent::connect(addr, &session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&agent.next_logged().await);

    let picker = agent
        .command(Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(Content::ListPicker(ListPickerRequest {
                common: None,
                sections: vec![ListPickerSection {
                    title: "Sizes".into(),
                    items: vec![ListPickerItem {
                        title: "M".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            })),
        }))
        .await;
    assert!(!picker.ok);
    assert_eq!(picker.error, CommandError::CapabilityMissing as i32);

    let text = agent
        .command(Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(Content::Text(OutboundText {
                body: "Hi, Sam here".into(),
                attachments: Vec::new(),
            })),
        }))
        .await;
    assert!(text.ok, "{text:?}");

    let sent = platform.outbound(1, Duration::from_secs(10)).await;
    assert_eq!(sent.len(), 1, "only the text reached amb.outbound");
    let event = &sent[0];
    assert_eq!(event.msp_agent, "Sam");
    let sender = event.sender.as_ref().unwrap();
    assert_eq!(sender.kind, ActorKind::Agent as i32);
    assert_eq!(sender.id, AGENT);
    let meta = event.meta.as_ref().unwrap();
    assert_eq!(meta.sequence, 1);
    assert_eq!(
        meta.conversation.as_ref().unwrap().opaque_id,
        key.opaque.as_str()
    );
    assert!(matches!(&event.kind, Some(Kind::Text(t)) if t.body == "Hi, Sam here"));
    assert!(
        platform
            .outbound(1, Duration::from_millis(500))
            .await
            .is_empty()
    );

    // Typing becomes typing_start / typing_end, sequenced after the text.
    for active in [true, false] {
        let typing = agent
            .command(Command::Typing(AgentTyping {
                conversation: Some(reference.clone()),
                active,
            }))
            .await;
        assert!(typing.ok, "{typing:?}");
    }
    let typing = platform.outbound(2, Duration::from_secs(10)).await;
    assert_eq!(typing.len(), 2);
    assert!(matches!(typing[0].kind, Some(Kind::TypingStart(_))));
    assert!(matches!(typing[1].kind, Some(Kind::TypingEnd(_))));
    assert_eq!(typing[0].meta.as_ref().unwrap().sequence, 2);
    assert_eq!(typing[1].meta.as_ref().unwrap().sequence, 3);

    // A transfer becomes a routing command.
    let moved = agent
        .command(Command::Transfer(Transfer {
            conversation: Some(reference),
            target: Some(transfer::Target::Queue("billing".into())),
            note: "invoice question".into(),
        }))
        .await;
    assert!(moved.ok, "{moved:?}");
    let commands = platform.routing(2, Duration::from_secs(10)).await;
    let transfer = commands
        .iter()
        .find_map(|c| match &c.command {
            Some(routing_command::Command::Transfer(t)) => Some(t.clone()),
            _ => None,
        })
        .expect("a transfer on amb.routing");
    assert_eq!(transfer.from_agent_id, AGENT);
    assert_eq!(
        transfer.target,
        Some(transfer_conversation::Target::ToQueue("billing".into()))
    );
    assert!(
        commands
            .iter()
            .any(|c| matches!(&c.command, Some(routing_command::Command::AgentReplied(_)))),
        "the text reply told routing the agent answered"
    );
    // The transfer and its note are a line of the transcript.
    let lines = platform.backends.store.transcript(&key, 10).await.unwrap();
    let texts: Vec<String> = lines
        .iter()
        .map(|b| {
            parley_proto::v1::TranscriptEntry::decode(b.as_ref())
                .unwrap()
                .text
        })
        .collect();
    assert_eq!(
        texts,
        ["Sam transferred the conversation to the queue “billing”: invoice question"]
    );
}
