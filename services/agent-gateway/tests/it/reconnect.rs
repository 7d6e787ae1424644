//! Reconnecting to another replica loses nothing.

use parley_proto::v1::{agent_event, inbound_message};

use crate::harness::{self, AGENT, AGENT_TOKEN, Agent, BIZ, offered_ref};

#[tokio::test]
async fn an_agent_gets_all_20_missed_messages_in_order_from_the_other_replica() {
    let platform = harness::platform().await;
    let first = platform.gateway().await;
    let second = platform.gateway().await;
    let session = harness::session(first, AGENT_TOKEN).await;
    let key = platform.customer(BIZ, "QUICK,LIST,TIME").await;

    let mut agent = Agent::connect(first, &session, 0).await;
    platform.offer(&key, AGENT).await;
    let offer = agent.next_logged().await;
    let reference = offered_ref(&offer);
    let last_seen = offer.cursor;
    assert_eq!(last_seen, 1);
    drop(agent);

    for i in 0..20 {
        platform.customer_says(&key, AGENT, &format!("m{i}")).await;
    }

    let mut agent = Agent::connect(second, &session, last_seen).await;
    let mut bodies = Vec::new();
    let mut cursors = Vec::new();
    while bodies.len() < 20 {
        let event = agent.next_logged().await;
        cursors.push(event.cursor);
        let Some(agent_event::Event::CustomerMessage(m)) = event.event else {
            panic!("expected a customer message, got {event:?}");
        };
        assert_eq!(m.conversation.as_ref(), Some(&reference));
        let message = m.message.unwrap();
        assert_eq!(
            message.meta.unwrap().conversation.unwrap().opaque_id,
            "",
            "the opaque id is not shown to agents"
        );
        let Some(inbound_message::Kind::Text(text)) = message.kind else {
            panic!("expected text");
        };
        bodies.push(text.body);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(cursors, (2..=21).collect::<Vec<u64>>());
}
