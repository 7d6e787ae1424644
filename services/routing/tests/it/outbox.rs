//! Routing's outbox: an input's events are stored with its state and published after it.
//! A compare-and-set lost to another writer leaves nothing of the losing attempt on any
//! stream nor in the transcript; a commit whose reply is lost (a crash or a timeout right
//! after the write) is published by the redelivery, once, and its transcript line is there
//! once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use parley_proto::v1::{ConversationState, LifecycleState, bot_task};
use parley_state::{
    CasOutcome,
    intercept::{BeforeCommit, Intercepting, Reply},
};
use prost::Message as _;

use crate::harness::{key, platform};

/// The platform's backends with the store wrapped in `before_commit`.
fn intercepted(
    p: &crate::harness::Platform,
    before_commit: BeforeCommit,
) -> parley_runtime::Backends {
    let mut backends = p.backends.clone();
    backends.store = Arc::new(Intercepting {
        inner: p.backends.store.clone(),
        before_commit,
    });
    backends
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_compare_and_set_leaves_nothing_of_the_losing_attempt() {
    let p = platform(0).await;
    let k = key("outbox-conflict");
    let store = p.backends.store.clone();
    let once = Arc::new(AtomicBool::new(false));
    let hook: BeforeCommit = {
        let (store, once, k) = (store.clone(), once.clone(), k.clone());
        Arc::new(move |key| {
            let (store, once, k) = (store.clone(), once.clone(), k.clone());
            Box::pin(async move {
                if key == k && !once.swap(true, Ordering::SeqCst) {
                    // Another replica writes first: the conversation is already queued for
                    // a person (an escalation won the race).
                    let queued = ConversationState {
                        lifecycle: LifecycleState::Queued as i32,
                        queue: "direct".into(),
                        ..ConversationState::default()
                    };
                    let won = store
                        .compare_and_set(&key, 0, queued.encode_to_vec().into())
                        .await
                        .expect("the other writer's write");
                    assert!(matches!(won, CasOutcome::Applied { .. }));
                }
                Reply::Keep
            })
        })
    };
    p.start_on(intercepted(&p, hook), |_| {}).await;
    p.say(&k, 1, "hello").await;
    // The losing attempt saw a new conversation and would have handed it to the bot; the
    // retry sees it queued. No bot task and no "started" or "with bot" event ever appear.
    assert!(p.bot_tasks(1, Duration::from_secs(3)).await.is_empty());
    let events = p.conversation_events(5, Duration::from_secs(1)).await;
    assert!(
        events
            .iter()
            .all(|e| e.state() != LifecycleState::WithBot && e.state() != LifecycleState::New),
        "{events:?}"
    );
    assert!(once.load(Ordering::SeqCst), "the race was not staged");
    // The customer's line is in the transcript once (written with the winning attempt).
    let transcript = store.transcript(&k, 10).await.unwrap();
    assert_eq!(transcript.len(), 1);
    let stored =
        ConversationState::decode(store.load(&k).await.unwrap().unwrap().state.as_ref()).unwrap();
    assert_eq!(stored.last_inbound_sequence, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_reply_is_lost_is_published_by_the_redelivery_once() {
    let p = platform(0).await;
    let k = key("outbox-lost-reply");
    let store = p.backends.store.clone();
    let once = Arc::new(AtomicBool::new(false));
    let hook: BeforeCommit = {
        let (once, k) = (once.clone(), k.clone());
        Arc::new(move |key| {
            let lose = key == k && !once.swap(true, Ordering::SeqCst);
            Box::pin(async move { if lose { Reply::Lose } else { Reply::Keep } })
        })
    };
    p.start_on(intercepted(&p, hook), |_| {}).await;
    p.say(&k, 1, "hello").await;
    // Written, but routing was told it failed: nothing was published then. The redelivery
    // finds the outbox not done, publishes it, and applies nothing twice.
    let tasks = p.bot_tasks(1, Duration::from_secs(20)).await;
    assert_eq!(tasks.len(), 1);
    assert!(matches!(
        tasks[0].task,
        Some(bot_task::Task::CustomerMessage(_))
    ));
    assert!(once.load(Ordering::SeqCst));
    p.say(&k, 2, "again").await;
    let next = p.bot_tasks(1, Duration::from_secs(15)).await;
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].meta.as_ref().unwrap().sequence,
        tasks[0].meta.as_ref().unwrap().sequence + 1,
        "the bot's numbers stay contiguous"
    );
    assert!(p.bot_tasks(1, Duration::from_secs(1)).await.is_empty());
    assert_eq!(store.transcript(&k, 10).await.unwrap().len(), 2);
}
