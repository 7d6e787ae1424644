//! Capacity: two routing instances share one pool; no agent ever holds more than its
//! capacity and each conversation is assigned once.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use parley_proto::v1::{ResolveConversation, agent_task, routing_command};

use crate::harness::{BIZ, conversation_of, key, platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_over_assign() {
    let p = Arc::new(platform(2).await);
    const AGENTS: usize = 5;
    const CAPACITY: u32 = 2;
    const CONVERSATIONS: usize = 40;
    for a in 0..AGENTS {
        p.agent_online(&format!("agent-{a}"), CAPACITY).await;
    }
    // Watch the pool continuously.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let p = p.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut checks = 0u32;
            while !done.load(Ordering::Relaxed) {
                for agent in p.pool.agents(BIZ).await.unwrap() {
                    assert!(agent.load <= agent.capacity, "{agent:?}");
                }
                checks += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            checks
        })
    };
    use parley_state::AgentPool as _;
    for c in 0..CONVERSATIONS {
        let k = key(&format!("cap-{c}"));
        let event = p.inbound_with(
            &k,
            1,
            parley_proto::v1::inbound_message::Kind::Text(parley_proto::v1::InboundText {
                body: "hello".into(),
                attachments: Vec::new(),
            }),
            "direct",
        );
        p.publish_inbound(&event, 0).await;
    }

    // Agents resolve what they get; the freed capacity takes the next conversation.
    let mut assigned: Vec<String> = Vec::new();
    let mut holding: HashMap<String, HashSet<String>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while assigned.len() < CONVERSATIONS && tokio::time::Instant::now() < deadline {
        let tasks = p.agent_tasks(16, Duration::from_millis(500)).await;
        for task in tasks {
            let conversation = conversation_of(task.meta.as_ref());
            match task.task {
                Some(agent_task::Task::NewAssignment(_)) => {
                    let held = holding.entry(task.agent_id.clone()).or_default();
                    assert!(held.insert(conversation.clone()));
                    assert!(
                        held.len() <= CAPACITY as usize,
                        "{}: {held:?}",
                        task.agent_id
                    );
                    assigned.push(conversation.clone());
                    let k = parley_types::ConversationKey::parse(BIZ, &conversation).unwrap();
                    p.command(
                        &k,
                        routing_command::Command::Resolve(ResolveConversation {
                            agent_id: task.agent_id.clone(),
                            ..Default::default()
                        }),
                    )
                    .await;
                }
                Some(agent_task::Task::AssignmentEnded(_)) => {
                    holding
                        .entry(task.agent_id.clone())
                        .or_default()
                        .remove(&conversation);
                }
                _ => {}
            }
        }
    }
    // Settle: nothing else is assigned.
    let late = p.agent_tasks(64, Duration::from_secs(2)).await;
    assert!(
        late.iter()
            .all(|t| !matches!(t.task, Some(agent_task::Task::NewAssignment(_)))),
        "{late:?}"
    );
    done.store(true, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    assert_eq!(assigned.len(), CONVERSATIONS, "assigned: {assigned:?}");
    let distinct: HashSet<_> = assigned.iter().collect();
    assert_eq!(
        distinct.len(),
        CONVERSATIONS,
        "a conversation was assigned twice"
    );
    for agent in p.pool.agents(BIZ).await.unwrap() {
        assert_eq!(agent.load, 0, "{agent:?}");
    }
}
