//! Routing commands: the bot's escalation, presence and capacity, an agent's reply, and
//! re-assignment after a missed response target.

use std::time::Duration;

use parley_proto::v1::{
    AgentCapacityChanged, AgentPresence, AgentPresenceChanged, AgentReplied, AssignmentEndReason,
    ConversationEvent, EscalateToHuman, EscalationReason, LifecycleState as S, agent_task,
    conversation_event, routing_command,
};
use parley_state::{AgentPool as _, PresenceStatus};

use crate::harness::{BIZ, conversation_of, key, platform};

fn is(event: &ConversationEvent, conversation: &str, to: S) -> bool {
    conversation_of(event.meta.as_ref()).ends_with(conversation) && event.state() == to
}

fn assigned_to(event: &ConversationEvent) -> String {
    match &event.transition {
        Some(conversation_event::Transition::Assigned(a)) => a.agent_id.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_escalation_and_presence_commands() {
    let p = platform(1).await;
    let k = key("escalated");
    p.say(&k, 1, "hi").await;
    p.wait_event("with bot", |e| is(e, "escalated", S::WithBot))
        .await;
    p.command(
        &k,
        routing_command::Command::Escalate(EscalateToHuman {
            reason: EscalationReason::BotFallback as i32,
            ..Default::default()
        }),
    )
    .await;
    let queued = p
        .wait_event("queued", |e| is(e, "escalated", S::Queued))
        .await;
    let Some(conversation_event::Transition::Queued(q)) = &queued.transition else {
        panic!()
    };
    assert_eq!(q.reason(), EscalationReason::BotFallback);
    assert_eq!(q.queue, "general");
    assert_eq!(
        q.response_target_seconds, 300,
        "the queue's response target (5m)"
    );

    // Capacity first (the agent is not present yet), then presence: assigned.
    p.command(
        &k,
        routing_command::Command::AgentCapacity(AgentCapacityChanged {
            agent_id: "carol".into(),
            max_conversations: 3,
        }),
    )
    .await;
    p.command(
        &k,
        routing_command::Command::AgentPresence(AgentPresenceChanged {
            agent_id: "carol".into(),
            presence: AgentPresence::Available as i32,
            ..Default::default()
        }),
    )
    .await;
    let assigned = p
        .wait_event("assigned", |e| is(e, "escalated", S::Assigned))
        .await;
    assert_eq!(assigned_to(&assigned), "carol");
    let carol = p.pool.agents(BIZ).await.unwrap();
    assert_eq!((carol[0].capacity, carol[0].load), (3, 1));

    // Carol goes offline: the conversation goes back to the queue.
    p.command(
        &k,
        routing_command::Command::AgentPresence(AgentPresenceChanged {
            agent_id: "carol".into(),
            presence: AgentPresence::Offline as i32,
            ..Default::default()
        }),
    )
    .await;
    let requeued = p
        .wait_event("re-queued", |e| is(e, "escalated", S::Queued))
        .await;
    let Some(conversation_event::Transition::Queued(q)) = &requeued.transition else {
        panic!()
    };
    assert_eq!(q.reason(), EscalationReason::Reassignment);
    let carol = p.pool.agents(BIZ).await.unwrap();
    assert_eq!(
        (carol[0].status, carol[0].load),
        (PresenceStatus::Offline, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_missing_the_response_target_loses_the_conversation() {
    let p = platform(1).await;
    p.agent_online("alice", 2).await;
    let silent = key("silent");
    let answered = key("answered");
    p.say_with_intent(&silent, 1, "hello", "fast").await;
    p.say_with_intent(&answered, 1, "hello", "fast").await;
    let mut assignments = 0;
    while assignments < 2 {
        let task = p
            .wait_task("assignment", |t| {
                matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
            })
            .await;
        assert_eq!(task.agent_id, "alice");
        if conversation_of(task.meta.as_ref()).ends_with("answered") {
            p.command(
                &answered,
                routing_command::Command::AgentReplied(AgentReplied {
                    agent_id: "alice".into(),
                    ..Default::default()
                }),
            )
            .await;
        }
        assignments += 1;
    }
    p.agent_online("bob", 2).await;

    // After the 1 s target: the silent conversation leaves alice for bob.
    let ended = p
        .wait_task("assignment ended", |t| {
            matches!(t.task, Some(agent_task::Task::AssignmentEnded(_)))
        })
        .await;
    assert_eq!(ended.agent_id, "alice");
    assert!(conversation_of(ended.meta.as_ref()).ends_with("silent"));
    let Some(agent_task::Task::AssignmentEnded(e)) = &ended.task else {
        panic!()
    };
    assert_eq!(e.reason(), AssignmentEndReason::NoReply);
    let reassigned = p
        .wait_task("re-assignment", |t| {
            matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
        })
        .await;
    assert_eq!(reassigned.agent_id, "bob");
    assert!(conversation_of(reassigned.meta.as_ref()).ends_with("silent"));

    // The answered conversation stays with alice, who takes no new work meanwhile.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let agents = p.pool.agents(BIZ).await.unwrap();
    let alice = agents.iter().find(|a| a.agent_id == "alice").unwrap();
    assert_eq!((alice.status, alice.load), (PresenceStatus::Away, 1));
    let held = p.pool.assignments_of(BIZ, "alice").await.unwrap();
    assert_eq!(held, [answered.opaque.as_str().to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_presence_expires_loses_its_conversations() {
    let p = platform(1).await;
    // Dave's connection dies right after he comes online: no heartbeat refreshes him.
    p.pool
        .set_presence(
            BIZ,
            "dave",
            &parley_state::Presence {
                status: PresenceStatus::Available,
                capacity: 2,
                skills: Vec::new(),
            },
            Duration::from_millis(800),
        )
        .await
        .unwrap();
    let k = key("orphaned");
    p.say(&k, 1, "agent").await;
    let first = p
        .wait_task("assignment", |t| {
            matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
        })
        .await;
    assert_eq!(first.agent_id, "dave");
    // Once his presence expires, the tick takes the conversation back to the queue.
    let ended = p
        .wait_task("assignment ended", |t| {
            matches!(t.task, Some(agent_task::Task::AssignmentEnded(_)))
        })
        .await;
    assert_eq!(ended.agent_id, "dave");
    assert!(conversation_of(ended.meta.as_ref()).ends_with("orphaned"));
    p.agent_online("erin", 1).await;
    let again = p
        .wait_task("re-assignment", |t| {
            matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
        })
        .await;
    assert_eq!(again.agent_id, "erin");
    let dave = p
        .pool_agents()
        .await
        .into_iter()
        .find(|a| a.agent_id == "dave")
        .unwrap();
    assert_eq!((dave.status, dave.load), (PresenceStatus::Offline, 0));
}

/// The agent who takes a conversation is told what came before: the bot's summary, then,
/// after a transfer, the transfer's note and who had it; none of it survives the
/// conversation leaving people.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_carries_the_bots_summary_the_transfer_note_and_the_previous_agent() {
    let p = platform(1).await;
    let k = key("handoff");
    p.say(&k, 1, "hi").await;
    p.wait_event("with bot", |e| is(e, "handoff", S::WithBot))
        .await;
    p.agent_online("alice", 2).await;
    p.command(
        &k,
        routing_command::Command::Escalate(EscalateToHuman {
            reason: EscalationReason::BotFallback as i32,
            summary: "asked about a refund twice".into(),
            ..Default::default()
        }),
    )
    .await;
    let new_assignment = |t: &parley_proto::v1::AgentTask, agent: &str| {
        t.agent_id == agent && matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
    };
    let first = p
        .wait_task("alice's assignment", |t| new_assignment(t, "alice"))
        .await;
    let Some(agent_task::Task::NewAssignment(offer)) = first.task else {
        panic!()
    };
    assert_eq!(offer.summary, "asked about a refund twice");
    assert_eq!(
        (
            offer.transfer_note.as_str(),
            offer.previous_agent_id.as_str()
        ),
        ("", "")
    );

    p.agent_online("bob", 2).await;
    p.command(
        &k,
        routing_command::Command::Transfer(parley_proto::v1::TransferConversation {
            from_agent_id: "alice".into(),
            target: Some(parley_proto::v1::transfer_conversation::Target::ToAgentId(
                "bob".into(),
            )),
            note: "needs the order number".into(),
            ..Default::default()
        }),
    )
    .await;
    let second = p
        .wait_task("bob's assignment", |t| new_assignment(t, "bob"))
        .await;
    let Some(agent_task::Task::NewAssignment(offer)) = second.task else {
        panic!()
    };
    assert_eq!(
        offer.summary, "asked about a refund twice",
        "the bot's summary stays"
    );
    assert_eq!(offer.transfer_note, "needs the order number");
    assert_eq!(offer.previous_agent_id, "alice");

    // Resolved: the next time people have it, nothing of this is told.
    p.command(
        &k,
        routing_command::Command::Resolve(parley_proto::v1::ResolveConversation {
            agent_id: "bob".into(),
            resolution_code: "refunded".into(),
            note: "sent the refund".into(),
            ..Default::default()
        }),
    )
    .await;
    let resolved = p
        .wait_event("resolved", |e| is(e, "handoff", S::Resolved))
        .await;
    // The agent's wrap-up reaches amb.events with the resolution.
    let Some(conversation_event::Transition::Resolved(wrap_up)) = &resolved.transition else {
        panic!("{resolved:?}")
    };
    assert_eq!(
        (
            wrap_up.agent_id.as_str(),
            wrap_up.resolution_code.as_str(),
            wrap_up.note.as_str()
        ),
        ("bob", "refunded", "sent the refund")
    );
    let state = p
        .backends
        .store
        .load(&k)
        .await
        .unwrap()
        .map(|v| {
            <parley_proto::v1::ConversationState as prost::Message>::decode(v.state.as_ref())
                .unwrap()
        })
        .unwrap();
    assert_eq!(
        (
            state.handoff_summary.as_str(),
            state.handoff_note.as_str(),
            state.previous_agent_id.as_str()
        ),
        ("", "", "")
    );
}

/// A declined conversation goes to another agent, never straight back to the one who
/// declined it (here the better pick by load and id), and the decliners stay passed over
/// for the queue's decline cool-down (5 minutes by default) while others are offered it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_conversation_goes_to_someone_else() {
    let p = platform(1).await;
    let k = key("declined");
    p.say(&k, 1, "hi").await;
    p.wait_event("with bot", |e| is(e, "declined", S::WithBot))
        .await;
    p.agent_online("alice", 2).await;
    p.agent_online("bob", 2).await;
    p.command(
        &k,
        routing_command::Command::Escalate(EscalateToHuman {
            reason: EscalationReason::BotFallback as i32,
            ..Default::default()
        }),
    )
    .await;
    let first = p
        .wait_event("assigned", |e| is(e, "declined", S::Assigned))
        .await;
    assert_eq!(assigned_to(&first), "alice", "equal load: the lower id");

    let decline = |agent: &str| {
        routing_command::Command::Decline(parley_proto::v1::DeclineAssignment {
            agent_id: agent.into(),
            ..Default::default()
        })
    };
    p.command(&k, decline("alice")).await;
    let second = p
        .wait_event("assigned to bob", |e| {
            is(e, "declined", S::Assigned) && assigned_to(e) == "bob"
        })
        .await;
    assert_eq!(assigned_to(&second), "bob");

    // Bob declines too: alice is still passed over, so a third agent (the last by id)
    // gets it.
    p.command(&k, decline("bob")).await;
    p.wait_event("queued again", |e| {
        is(e, "declined", S::Queued)
            && e.meta
                .as_ref()
                .is_some_and(|m| m.sequence > second.meta.as_ref().map_or(0, |m| m.sequence))
    })
    .await;
    p.agent_online("zoe", 1).await;
    let third = p
        .wait_event("assigned to zoe", |e| {
            is(e, "declined", S::Assigned) && assigned_to(e) != "bob"
        })
        .await;
    assert_eq!(assigned_to(&third), "zoe");
    let state = p
        .backends
        .store
        .load(&k)
        .await
        .unwrap()
        .map(|v| {
            <parley_proto::v1::ConversationState as prost::Message>::decode(v.state.as_ref())
                .unwrap()
        })
        .unwrap();
    let mut decliners: Vec<_> = state.declined.iter().map(|d| d.agent_id.as_str()).collect();
    decliners.sort_unstable();
    assert_eq!(decliners, ["alice", "bob"]);
}
