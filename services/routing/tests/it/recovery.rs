//! A replica that dies between the pool's assignment and the state's write: the next
//! replica's tick finishes the assignment.

use std::time::Duration;

use parley_proto::v1::{LifecycleState as S, agent_task, conversation_event};
use parley_state::AgentPool as _;

use crate::harness::{BIZ, conversation_of, key, platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_interrupted_by_a_crash_is_completed() {
    let p = platform(0).await;
    let (stop, task) = p.start().await;
    let k = key("interrupted");
    p.say_with_intent(&k, 1, "hello", "direct").await;
    p.wait_event("queued", |e| e.state() == S::Queued).await;
    stop.cancel();
    task.await.unwrap().unwrap();

    // What the dead replica did before dying: the pool's half of an assignment.
    p.agent_online("alice", 1).await;
    let assignment = p
        .pool
        .assign_next(BIZ, "general", 0, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(assignment.agent_id, "alice");
    assert!(assignment.conversation.ends_with("interrupted"));

    let _replica = p.start().await;
    let assigned = p.wait_event("assigned", |e| e.state() == S::Assigned).await;
    let Some(conversation_event::Transition::Assigned(a)) = &assigned.transition else {
        panic!()
    };
    assert_eq!(a.agent_id, "alice");
    let new = p
        .wait_task("assignment", |t| {
            matches!(t.task, Some(agent_task::Task::NewAssignment(_)))
        })
        .await;
    assert!(conversation_of(new.meta.as_ref()).ends_with("interrupted"));
    // Alice holds it once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alice = &p.pool.agents(BIZ).await.unwrap()[0];
    assert_eq!(alice.load, 1);
    assert!(
        p.agent_tasks(4, Duration::from_millis(500))
            .await
            .is_empty()
    );
}
