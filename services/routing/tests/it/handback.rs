//! Hand-back to the bot, Parley-side close, the customer's queue position, and transfers to
//! a named agent that count against that agent's capacity.

use std::time::Duration;

use parley_proto::v1::{
    AgentTask, CloseConversation, CloseReason, LifecycleState as S, ResolutionReason, ReturnToBot,
    TransferConversation, agent_task, bot_task, conversation_event, outbound_message,
    routing_command, transfer_conversation,
};

use parley_state::AgentPool as _;

use crate::harness::{Platform, key, platform};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(800);

async fn transitions(p: &Platform, want: &[(S, S)]) -> Vec<parley_proto::v1::ConversationEvent> {
    let events = p.conversation_events(want.len(), WAIT).await;
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.previous_state(), e.state()))
        .collect();
    assert_eq!(got, want);
    events
}

async fn load_of(p: &Platform, agent: &str) -> u32 {
    p.pool_agents()
        .await
        .into_iter()
        .find(|a| a.agent_id == agent)
        .map_or(0, |a| a.load)
}

/// Waits (bounded) until the pool shows `agent` holding `load` conversations.
async fn wait_load(p: &Platform, agent: &str, load: u32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while load_of(p, agent).await != load {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{agent} never held {load} (holds {})",
            load_of(p, agent).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text_of(message: &parley_proto::v1::OutboundMessage) -> &str {
    match &message.kind {
        Some(outbound_message::Kind::Text(t)) => &t.body,
        other => panic!("not a text: {other:?}"),
    }
}

fn is_new_assignment(task: &AgentTask) -> bool {
    matches!(task.task, Some(agent_task::Task::NewAssignment(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_hands_back_to_the_bot_then_parley_closes_and_the_customer_reopens() {
    let p = platform(1).await;
    let k = key("handback");
    p.agent_online("alice", 2).await;
    p.say_with_intent(&k, 1, "my invoice", "direct").await;
    transitions(
        &p,
        &[
            (S::Unspecified, S::New),
            (S::New, S::Queued),
            (S::Queued, S::Assigned),
        ],
    )
    .await;
    p.wait_task("alice's assignment", is_new_assignment).await;

    p.command(
        &k,
        routing_command::Command::ReturnToBot(ReturnToBot {
            agent_id: "alice".into(),
            assignment_id: String::new(),
            note: "resume the order flow".into(),
        }),
    )
    .await;
    let events = transitions(&p, &[(S::Assigned, S::WithBot)]).await;
    let Some(conversation_event::Transition::WithBot(w)) = &events[0].transition else {
        panic!("{events:?}")
    };
    assert_eq!(w.returned_by_agent_id, "alice");
    // The bot is told, with the agent's note; the agent's stint ends and its capacity frees.
    let bot = p.bot_tasks(1, WAIT).await;
    let Some(bot_task::Task::ReturnedFromAgent(back)) = &bot[0].task else {
        panic!("{bot:?}")
    };
    assert_eq!(back.agent_id, "alice");
    assert_eq!(back.note, "resume the order flow");
    let ended = p
        .wait_task("the end of alice's stint", |t| {
            matches!(t.task, Some(agent_task::Task::AssignmentEnded(_)))
        })
        .await;
    let Some(agent_task::Task::AssignmentEnded(e)) = &ended.task else {
        unreachable!()
    };
    assert_eq!(
        e.reason(),
        parley_proto::v1::AssignmentEndReason::ReturnedToBot
    );
    wait_load(&p, "alice", 0).await;

    // The customer's next message goes to the bot, not to alice.
    p.say(&k, 2, "thanks, and my order?").await;
    let bot = p.bot_tasks(1, WAIT).await;
    assert!(
        matches!(bot[0].task, Some(bot_task::Task::CustomerMessage(_))),
        "{bot:?}"
    );
    assert!(p.agent_tasks(1, QUIET).await.is_empty());

    // An operator closes it: resolved, the bot is told the conversation ended.
    p.command(
        &k,
        routing_command::Command::Close(CloseConversation {
            reason: CloseReason::Operator as i32,
            note: String::new(),
        }),
    )
    .await;
    let events = transitions(&p, &[(S::WithBot, S::Resolved)]).await;
    let Some(conversation_event::Transition::Resolved(r)) = &events[0].transition else {
        panic!("{events:?}")
    };
    assert_eq!(r.reason(), ResolutionReason::ClosedByOperator);
    let bot = p.bot_tasks(1, WAIT).await;
    assert!(matches!(
        bot[0].task,
        Some(bot_task::Task::ConversationEnded(_))
    ));
    // Closing again changes nothing; the customer's next message reopens it.
    p.command(
        &k,
        routing_command::Command::Close(CloseConversation {
            reason: CloseReason::Inactivity as i32,
            note: String::new(),
        }),
    )
    .await;
    // (Apple's intent `direct` is remembered, so the reopened conversation goes to a human.)
    p.say(&k, 3, "hello again").await;
    transitions(
        &p,
        &[
            (S::Resolved, S::New),
            (S::New, S::Queued),
            (S::Queued, S::Assigned),
        ],
    )
    .await;
    assert!(p.conversation_events(1, QUIET).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_customer_is_told_their_place() {
    let p = platform(1).await;
    for i in 0..3u8 {
        let k = key(&format!("line-{i}"));
        p.say(&k, 1, "agent").await;
        let events = transitions(&p, &[(S::Unspecified, S::New), (S::New, S::Queued)]).await;
        let Some(conversation_event::Transition::Queued(q)) = &events[1].transition else {
            panic!("{events:?}")
        };
        assert_eq!(q.position, u32::from(i) + 1, "the event carries the place");
        let told = p.outbound_messages(1, WAIT).await;
        assert_eq!(told.len(), 1);
        assert_eq!(
            text_of(&told[0]),
            format!(
                "You are number {} in line. An agent will be with you as soon as possible.",
                i + 1
            )
        );
        assert!(told[0].auto_reply);
        assert_eq!(
            crate::harness::conversation_of(told[0].meta.as_ref()),
            k.opaque.as_str()
        );
        // The notice is published before the state is stored and the pool updated: the next
        // customer must come once this one holds its place (bounded wait).
        let deadline = tokio::time::Instant::now() + WAIT;
        while p
            .pool
            .position(crate::harness::BIZ, "general", k.opaque.as_str())
            .await
            .unwrap()
            .is_none()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never queued in the pool"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // A closed queue tells its hours, not a place.
    let k = key("line-night");
    p.say_with_intent(&k, 1, "hi", "night").await;
    transitions(&p, &[(S::Unspecified, S::New), (S::New, S::Queued)]).await;
    let told = p.outbound_messages(2, QUIET).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(text_of(&told[0]).contains("We are closed."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_a_named_agent_counts_against_their_capacity() {
    let p = platform(1).await;
    p.agent_online("alice", 1).await;
    p.agent_online("bob", 1).await;
    let one = key("transfer-1");
    p.say_with_intent(&one, 1, "hi", "direct").await;
    let events = transitions(
        &p,
        &[
            (S::Unspecified, S::New),
            (S::New, S::Queued),
            (S::Queued, S::Assigned),
        ],
    )
    .await;
    let Some(conversation_event::Transition::Assigned(a)) = &events[2].transition else {
        panic!()
    };
    let (first, other) = if a.agent_id == "alice" {
        ("alice", "bob")
    } else {
        ("bob", "alice")
    };
    let transfer = |from: &str, to: &str| {
        routing_command::Command::Transfer(TransferConversation {
            from_agent_id: from.into(),
            target: Some(transfer_conversation::Target::ToAgentId(to.into())),
            skills: Vec::new(),
            note: String::new(),
        })
    };
    p.command(&one, transfer(first, other)).await;
    let events = transitions(&p, &[(S::Assigned, S::Assigned)]).await;
    let Some(conversation_event::Transition::Assigned(a)) = &events[0].transition else {
        panic!()
    };
    assert_eq!(a.agent_id, other);
    assert_eq!(a.previous_agent_id, first);
    wait_load(&p, other, 1).await;
    wait_load(&p, first, 0).await;

    // The next conversation goes to the agent the transfer freed; a third waits.
    let two = key("transfer-2");
    p.say_with_intent(&two, 1, "hi", "direct").await;
    let events = transitions(
        &p,
        &[
            (S::Unspecified, S::New),
            (S::New, S::Queued),
            (S::Queued, S::Assigned),
        ],
    )
    .await;
    let Some(conversation_event::Transition::Assigned(a)) = &events[2].transition else {
        panic!()
    };
    assert_eq!(a.agent_id, first);
    let three = key("transfer-3");
    p.say_with_intent(&three, 1, "hi", "direct").await;
    transitions(&p, &[(S::Unspecified, S::New), (S::New, S::Queued)]).await;
    // A transfer of the waiting one to a full agent is refused: it keeps waiting.
    p.command(&three, transfer("", other)).await;
    assert!(p.conversation_events(1, QUIET).await.is_empty());
    assert_eq!(load_of(&p, other).await, 1, "never above capacity");
    assert_eq!(load_of(&p, first).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_resolves_a_conversation_it_owns_and_not_one_a_human_owns() {
    let p = platform(1).await;
    let resolve_as_bot = || {
        routing_command::Command::Resolve(parley_proto::v1::ResolveConversation {
            agent_id: String::new(),
            ..Default::default()
        })
    };
    let k = key("bot-resolves");
    p.say(&k, 1, "opening hours?").await;
    transitions(&p, &[(S::Unspecified, S::New), (S::New, S::WithBot)]).await;
    p.command(&k, resolve_as_bot()).await;
    let events = transitions(&p, &[(S::WithBot, S::Resolved)]).await;
    let Some(conversation_event::Transition::Resolved(r)) = &events[0].transition else {
        panic!("{events:?}")
    };
    assert_eq!(r.reason(), ResolutionReason::ResolvedByBot);
    // Once a human owns a conversation, the bot cannot resolve it.
    p.agent_online("alice", 1).await;
    let human = key("bot-cannot-resolve");
    p.say_with_intent(&human, 1, "hi", "direct").await;
    transitions(
        &p,
        &[
            (S::Unspecified, S::New),
            (S::New, S::Queued),
            (S::Queued, S::Assigned),
        ],
    )
    .await;
    p.command(&human, resolve_as_bot()).await;
    assert!(p.conversation_events(1, QUIET).await.is_empty());
}
