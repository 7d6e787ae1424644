//! Every lifecycle transition, end to end.

use std::time::Duration;

use parley_proto::v1::{
    AcceptAssignment, AgentTask, ConversationEvent, CustomerClose, EscalationReason,
    LifecycleState as S, ResolveConversation, agent_task, bot_task, conversation_event,
    inbound_message, routing_command,
};

use crate::harness::{Platform, key, platform};

const WAIT: Duration = Duration::from_secs(10);

fn states(events: &[ConversationEvent]) -> Vec<(S, S)> {
    events
        .iter()
        .map(|e| (e.previous_state(), e.state()))
        .collect()
}

async fn expect_events(p: &Platform, want: &[(S, S)]) -> Vec<ConversationEvent> {
    let events = p.conversation_events(want.len(), WAIT).await;
    assert_eq!(states(&events), want);
    events
}

fn new_assignment(tasks: &[AgentTask]) -> Vec<&AgentTask> {
    tasks
        .iter()
        .filter(|t| matches!(t.task, Some(agent_task::Task::NewAssignment(_))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_then_agent_then_resolve_close_and_reopen() {
    let p = platform(1).await;
    let k = key("lifecycle");

    // First message: the bot answers.
    p.say(&k, 1, "Hello there").await;
    let events = expect_events(&p, &[(S::Unspecified, S::New), (S::New, S::WithBot)]).await;
    assert!(matches!(
        events[0].transition,
        Some(conversation_event::Transition::Started(_))
    ));
    let bot = p.bot_tasks(1, WAIT).await;
    assert_eq!(bot.len(), 1);
    let Some(bot_task::Task::CustomerMessage(m)) = &bot[0].task else {
        panic!("{bot:?}")
    };
    assert_eq!(m.meta.as_ref().unwrap().sequence, 1);

    // "agent": queued; no agent yet.
    p.say(&k, 2, "agent").await;
    let events = expect_events(&p, &[(S::WithBot, S::Queued)]).await;
    let Some(conversation_event::Transition::Queued(q)) = &events[0].transition else {
        panic!()
    };
    assert_eq!(q.queue, "general");
    assert_eq!(q.reason(), EscalationReason::TriggerWord);
    // The bot is told it no longer owns the conversation.
    let bot = p.bot_tasks(1, WAIT).await;
    assert!(matches!(
        bot[0].task,
        Some(bot_task::Task::EscalationUpdate(_))
    ));
    assert!(
        p.agent_tasks(1, Duration::from_millis(600))
            .await
            .is_empty()
    );

    // An agent becomes available: assigned by the tick.
    p.agent_online("alice", 2).await;
    let events = expect_events(&p, &[(S::Queued, S::Assigned)]).await;
    let Some(conversation_event::Transition::Assigned(a)) = &events[0].transition else {
        panic!()
    };
    assert_eq!(a.agent_id, "alice");
    let tasks = p.agent_tasks(1, WAIT).await;
    assert_eq!(new_assignment(&tasks).len(), 1);
    assert_eq!(tasks[0].agent_id, "alice");
    // Agent tasks are numbered per conversation without gaps (the gateway applies them in
    // that order), whatever the customer's own sequence is.
    let task_sequence = |t: &AgentTask| t.meta.as_ref().unwrap().sequence;
    assert_eq!(task_sequence(&tasks[0]), 1);

    // The customer's next message goes to the agent, not the bot.
    p.say(&k, 3, "my order is late").await;
    let tasks = p.agent_tasks(1, WAIT).await;
    let Some(agent_task::Task::CustomerMessage(m)) = &tasks[0].task else {
        panic!("{tasks:?}")
    };
    assert_eq!(m.meta.as_ref().unwrap().sequence, 3);
    assert_eq!(task_sequence(&tasks[0]), 2);
    assert!(p.bot_tasks(1, Duration::from_millis(500)).await.is_empty());
    // Typing reaches the agent too, in order, without changing the state.
    p.publish_inbound(
        &p.inbound(
            &k,
            4,
            inbound_message::Kind::TypingStart(parley_proto::v1::TypingStart {}),
        ),
        0,
    )
    .await;
    let tasks = p.agent_tasks(1, WAIT).await;
    let Some(agent_task::Task::CustomerMessage(m)) = &tasks[0].task else {
        panic!("{tasks:?}")
    };
    assert!(matches!(
        m.kind,
        Some(inbound_message::Kind::TypingStart(_))
    ));
    assert_eq!(task_sequence(&tasks[0]), 3);

    // A repeated accept changes nothing.
    p.command(
        &k,
        routing_command::Command::Accept(AcceptAssignment {
            agent_id: "alice".into(),
            assignment_id: String::new(),
        }),
    )
    .await;

    // Resolve, then the customer writes again: reopened, with the bot.
    p.command(
        &k,
        routing_command::Command::Resolve(ResolveConversation {
            agent_id: "alice".into(),
            ..Default::default()
        }),
    )
    .await;
    expect_events(&p, &[(S::Assigned, S::Resolved)]).await;
    let tasks = p.agent_tasks(1, WAIT).await;
    assert!(matches!(
        tasks[0].task,
        Some(agent_task::Task::AssignmentEnded(_))
    ));
    assert_eq!(task_sequence(&tasks[0]), 4);
    // The pool frees the agent's capacity once the state is stored (just after the task).
    let deadline = tokio::time::Instant::now() + WAIT;
    while p.pool_agents().await[0].load != 0 {
        assert!(tokio::time::Instant::now() < deadline, "alice's load stays");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    p.say(&k, 5, "one more thing").await;
    let events = expect_events(&p, &[(S::Resolved, S::New), (S::New, S::WithBot)]).await;
    let Some(conversation_event::Transition::Reopened(r)) = &events[0].transition else {
        panic!()
    };
    assert_eq!(r.reopen_count, 1);
    assert_eq!(p.bot_tasks(1, WAIT).await.len(), 1);

    // The customer closes, then writes again: reopened.
    p.publish_inbound(
        &p.inbound(&k, 6, inbound_message::Kind::Close(CustomerClose {})),
        0,
    )
    .await;
    expect_events(&p, &[(S::WithBot, S::ClosedByCustomer)]).await;
    p.say(&k, 7, "back again").await;
    let events = expect_events(&p, &[(S::ClosedByCustomer, S::New), (S::New, S::WithBot)]).await;
    let Some(conversation_event::Transition::Reopened(r)) = &events[0].transition else {
        panic!()
    };
    assert_eq!(r.reopen_count, 2);
    // Nothing more.
    assert!(
        p.conversation_events(1, Duration::from_millis(800))
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_words_in_any_case_and_punctuation() {
    let p = platform(1).await;
    let words = ["AGENT", "Help!", " support? ", "Agent.", "hElP"];
    for (i, word) in words.iter().enumerate() {
        let k = key(&format!("word-{i}"));
        p.say(&k, 1, word).await;
        let events = p.conversation_events(2, WAIT).await;
        assert_eq!(
            states(&events),
            [(S::Unspecified, S::New), (S::New, S::Queued)],
            "{word:?}"
        );
        let Some(conversation_event::Transition::Queued(q)) = &events[1].transition else {
            panic!()
        };
        assert_eq!(q.reason(), EscalationReason::TriggerWord, "{word:?}");
    }
    // Not a trigger word: the bot.
    let k = key("not-a-word");
    p.say(&k, 1, "I need an agent please").await;
    expect_events(&p, &[(S::Unspecified, S::New), (S::New, S::WithBot)]).await;
    assert_eq!(p.bot_tasks(1, WAIT).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_hours_the_customer_is_queued_and_told() {
    let p = platform(1).await;
    let k = key("night");
    let event = p.inbound_with(
        &k,
        1,
        inbound_message::Kind::Text(parley_proto::v1::InboundText {
            body: "hi".into(),
            attachments: Vec::new(),
        }),
        "night",
    );
    p.publish_inbound(&event, 0).await;
    let events = expect_events(&p, &[(S::Unspecified, S::New), (S::New, S::Queued)]).await;
    let Some(conversation_event::Transition::Queued(q)) = &events[1].transition else {
        panic!()
    };
    assert_eq!(q.queue, "night");
    let told = p.outbound_messages(1, WAIT).await;
    assert_eq!(told.len(), 1);
    let Some(parley_proto::v1::outbound_message::Kind::Text(text)) = &told[0].kind else {
        panic!()
    };
    assert!(text.body.contains("We are closed."), "{}", text.body);
    assert_eq!(told[0].meta.as_ref().unwrap().sequence, 1);
    assert_eq!(
        told[0].sender.as_ref().unwrap().kind(),
        parley_proto::v1::ActorKind::System
    );
}
