//! The agent pool contract: every test runs against the embedded store and against Redis.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use parley_state::{
    AgentPool, AgentState, Assignment, Declined, EnqueueOutcome, Presence, PresenceStatus,
    QueueChoice, QueueEntry,
};
use rand::{Rng as _, seq::IndexedRandom as _};
use tokio::sync::Mutex;

use crate::support::PoolFixture;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::embedded_pool).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::redis_pool).await;
                }
            )*
        }
    };
}

both_backends!(
    queue_order_is_priority_then_age_and_enqueue_is_idempotent,
    assignment_respects_skills_capacity_and_presence,
    assignment_picks_the_least_loaded_agent,
    a_skill_is_relaxed_only_after_the_wait,
    concurrent_assignment_never_exceeds_capacity_or_assigns_twice,
    release_and_requeue_are_idempotent,
    businesses_are_isolated,
    a_direct_transfer_counts_against_the_named_agents_capacity,
    assign_first_serves_earlier_queues_first_atomically,
    places_ahead_is_the_place_an_entry_gets_or_keeps,
    an_agent_that_declined_is_passed_over_until_its_cool_down_ends,
);

type Make = fn() -> PoolFixture;

const BIZ: &str = "biz";
const Q: &str = "support";
const LONG: Duration = Duration::from_secs(600);

fn entry(conversation: &str, priority: i32, at: u64, skills: &[&str]) -> QueueEntry {
    QueueEntry {
        conversation: conversation.to_owned(),
        priority,
        enqueued_at_ms: at,
        required_skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        declined: Vec::new(),
    }
}

fn presence(status: PresenceStatus, capacity: u32, skills: &[&str]) -> Presence {
    Presence {
        status,
        capacity,
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
    }
}

async fn available(pool: &dyn AgentPool, agent: &str, capacity: u32, skills: &[&str]) {
    pool.set_presence(
        BIZ,
        agent,
        &presence(PresenceStatus::Available, capacity, skills),
        LONG,
    )
    .await
    .unwrap();
}

fn assignment(conversation: &str, agent: &str) -> Option<Assignment> {
    Some(Assignment {
        conversation: conversation.to_owned(),
        agent_id: agent.to_owned(),
    })
}

async fn next(pool: &dyn AgentPool) -> Option<Assignment> {
    pool.assign_next(BIZ, Q, 10_000, None).await.unwrap()
}

async fn agent(pool: &dyn AgentPool, id: &str) -> AgentState {
    pool.agents(BIZ)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.agent_id == id)
        .unwrap()
}

async fn queue_order_is_priority_then_age_and_enqueue_is_idempotent(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    for (conversation, priority, at) in [
        ("c-old-low", 0, 100),
        ("c-new-high", 5, 900),
        ("c-new-low", 0, 500),
        ("c-old-high", 5, 200),
        ("c-negative", -3, 1),
        ("c-tie-b", 0, 500),
    ] {
        assert_eq!(
            pool.enqueue(BIZ, Q, &entry(conversation, priority, at, &[]))
                .await
                .unwrap(),
            EnqueueOutcome::Added
        );
    }
    let order = [
        "c-old-high",
        "c-new-high",
        "c-old-low",
        "c-new-low",
        "c-tie-b",
        "c-negative",
    ];
    for (i, conversation) in order.iter().enumerate() {
        assert_eq!(pool.position(BIZ, Q, conversation).await.unwrap(), Some(i));
    }
    // Enqueuing again (even with a newer time or another priority) keeps the place.
    assert_eq!(
        pool.enqueue(BIZ, Q, &entry("c-old-low", 9, 99_999, &[]))
            .await
            .unwrap(),
        EnqueueOutcome::AlreadyQueued
    );
    assert_eq!(pool.position(BIZ, Q, "c-old-low").await.unwrap(), Some(2));
    assert_eq!(pool.position(BIZ, Q, "c-unknown").await.unwrap(), None);
    assert_eq!(
        pool.position(BIZ, "other", "c-old-low").await.unwrap(),
        None
    );

    assert!(pool.dequeue(BIZ, Q, "c-new-high").await.unwrap());
    assert!(!pool.dequeue(BIZ, Q, "c-new-high").await.unwrap());
    assert_eq!(pool.position(BIZ, Q, "c-new-high").await.unwrap(), None);
    assert_eq!(pool.position(BIZ, Q, "c-old-low").await.unwrap(), Some(1));

    // Assignment follows the same order.
    available(pool, "a1", 10, &[]).await;
    for conversation in [
        "c-old-high",
        "c-old-low",
        "c-new-low",
        "c-tie-b",
        "c-negative",
    ] {
        assert_eq!(next(pool).await, assignment(conversation, "a1"));
    }
    assert_eq!(next(pool).await, None);
    // An assigned conversation is not queued again.
    assert_eq!(
        pool.enqueue(BIZ, Q, &entry("c-old-high", 0, 1, &[]))
            .await
            .unwrap(),
        EnqueueOutcome::AlreadyAssigned
    );
    assert_eq!(pool.position(BIZ, Q, "c-old-high").await.unwrap(), None);
}

async fn assignment_respects_skills_capacity_and_presence(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    // Nobody is there yet.
    pool.enqueue(BIZ, Q, &entry("c1", 0, 1, &["fr"]))
        .await
        .unwrap();
    assert_eq!(next(pool).await, None);

    pool.set_presence(
        BIZ,
        "away",
        &presence(PresenceStatus::Away, 5, &["fr"]),
        LONG,
    )
    .await
    .unwrap();
    pool.set_presence(
        BIZ,
        "offline",
        &presence(PresenceStatus::Offline, 5, &["fr"]),
        LONG,
    )
    .await
    .unwrap();
    pool.set_presence(
        BIZ,
        "expiring",
        &presence(PresenceStatus::Available, 5, &["fr"]),
        Duration::from_millis(200),
    )
    .await
    .unwrap();
    available(pool, "english", 5, &["en"]).await;
    available(pool, "french", 1, &["fr", "en"]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        agent(pool, "expiring").await.status,
        PresenceStatus::Offline,
        "an expired presence reads as offline"
    );

    // c1 needs fr: only "french" may take it (away, offline and expired agents get nothing).
    assert_eq!(next(pool).await, assignment("c1", "french"));
    // french is full: c2 (fr) waits, c3 (en) behind it goes to english.
    pool.enqueue(BIZ, Q, &entry("c2", 0, 2, &["fr"]))
        .await
        .unwrap();
    pool.enqueue(BIZ, Q, &entry("c3", 0, 3, &["en"]))
        .await
        .unwrap();
    assert_eq!(next(pool).await, assignment("c3", "english"));
    assert_eq!(next(pool).await, None);
    assert_eq!(pool.position(BIZ, Q, "c2").await.unwrap(), Some(0));
    // An agent without every required skill does not qualify.
    pool.enqueue(BIZ, Q, &entry("c4", 0, 4, &["en", "billing"]))
        .await
        .unwrap();
    assert_eq!(next(pool).await, None);

    // Capacity frees up: the oldest waiting entry it fits is next.
    assert!(pool.release(BIZ, "french", "c1").await.unwrap());
    assert_eq!(next(pool).await, assignment("c2", "french"));
    // A heartbeat revives an expired agent; going away stops new work.
    available(pool, "expiring", 5, &["en", "billing"]).await;
    pool.set_presence(
        BIZ,
        "expiring",
        &presence(PresenceStatus::Away, 5, &["en", "billing"]),
        LONG,
    )
    .await
    .unwrap();
    assert_eq!(next(pool).await, None);
    available(pool, "expiring", 5, &["en", "billing"]).await;
    assert_eq!(next(pool).await, assignment("c4", "expiring"));

    for a in pool.agents(BIZ).await.unwrap() {
        assert!(a.load <= a.capacity, "{a:?}");
    }
    assert_eq!(
        pool.agents(BIZ)
            .await
            .unwrap()
            .iter()
            .map(|a| (a.agent_id.as_str(), a.status, a.load))
            .collect::<Vec<_>>(),
        [
            ("away", PresenceStatus::Away, 0),
            ("english", PresenceStatus::Available, 1),
            ("expiring", PresenceStatus::Available, 1),
            ("french", PresenceStatus::Available, 1),
            ("offline", PresenceStatus::Offline, 0),
        ]
    );
}

async fn assignment_picks_the_least_loaded_agent(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    available(pool, "b-small", 2, &["en"]).await;
    available(pool, "a-big", 4, &["en"]).await;
    available(pool, "c-big", 4, &["en"]).await;
    for i in 0..10 {
        pool.enqueue(BIZ, Q, &entry(&format!("c{i:02}"), 0, i, &["en"]))
            .await
            .unwrap();
    }
    // All idle: lowest id. Then least loaded; ties by load ratio (bigger capacity), then id.
    let expected = [
        "a-big", "b-small", "c-big", // load 0 everywhere: by id
        "a-big", "c-big",   // load 1: a-big, c-big have the lower ratio (1/4 < 1/2)
        "b-small", // b-small 1/2 is now the least loaded
        "a-big", "c-big", // load 2 each; b-small is full
        "a-big", "c-big",
    ];
    for (i, agent_id) in expected.iter().enumerate() {
        assert_eq!(
            next(pool).await,
            assignment(&format!("c{i:02}"), agent_id),
            "assignment {i}"
        );
    }
    let loads: HashMap<String, u32> = pool
        .agents(BIZ)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.agent_id, a.load))
        .collect();
    assert_eq!(loads["a-big"], 4);
    assert_eq!(loads["b-small"], 2);
    assert_eq!(loads["c-big"], 4);
    // Everyone is full now.
    pool.enqueue(BIZ, Q, &entry("late", 0, 99, &["en"]))
        .await
        .unwrap();
    assert_eq!(next(pool).await, None);
}

async fn a_skill_is_relaxed_only_after_the_wait(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    let relax = Some(Duration::from_secs(60));
    available(pool, "en-only", 3, &["en"]).await;
    pool.enqueue(BIZ, Q, &entry("c1", 0, 1_000, &["en", "fr"]))
        .await
        .unwrap();
    pool.enqueue(BIZ, Q, &entry("c2", 0, 2_000, &["fr", "de"]))
        .await
        .unwrap();
    // Waited exactly 60 s: not longer, nothing relaxes; without relax_after never.
    assert_eq!(pool.assign_next(BIZ, Q, 61_000, relax).await.unwrap(), None);
    assert_eq!(
        pool.assign_next(BIZ, Q, 1_000_000, None).await.unwrap(),
        None
    );
    // Past the wait one missing skill is forgiven (not two: c2 misses fr and de).
    assert_eq!(
        pool.assign_next(BIZ, Q, 61_001, relax).await.unwrap(),
        assignment("c1", "en-only")
    );
    assert_eq!(
        pool.assign_next(BIZ, Q, 1_000_000, relax).await.unwrap(),
        None
    );
    // A fully qualified agent is preferred over a relaxed match, even if busier.
    available(pool, "en-fr", 3, &["en", "fr"]).await;
    pool.enqueue(BIZ, Q, &entry("c0", 0, 10, &["fr"]))
        .await
        .unwrap();
    pool.enqueue(BIZ, Q, &entry("c3", 0, 3_000, &["en", "fr"]))
        .await
        .unwrap();
    assert_eq!(
        pool.assign_next(BIZ, Q, 1_000_000, relax).await.unwrap(),
        assignment("c0", "en-fr")
    );
    assert_eq!(
        pool.assign_next(BIZ, Q, 1_000_000, relax).await.unwrap(),
        assignment("c2", "en-fr"),
        "c2 misses only de with en-fr"
    );
    assert_eq!(
        pool.assign_next(BIZ, Q, 1_000_000, relax).await.unwrap(),
        assignment("c3", "en-fr")
    );
}

/// 8 tasks assign (and release) concurrently over 20 agents and 310 conversations, each on
/// its own connection: after every operation no agent holds more than its capacity, and no
/// conversation is ever assigned twice.
async fn concurrent_assignment_never_exceeds_capacity_or_assigns_twice(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    let agents = 20;
    let mut capacities = HashMap::new();
    for i in 0..agents {
        let mut skills = vec!["en"];
        if i % 2 == 0 {
            skills.push("fr");
        }
        if i % 3 == 0 {
            skills.push("billing");
        }
        let capacity = u32::try_from(i % 3 + 1).unwrap();
        capacities.insert(format!("agent-{i:02}"), (capacity, skills.clone()));
        available(pool, &format!("agent-{i:02}"), capacity, &skills).await;
    }
    let needs: [&[&str]; 5] = [&["en"], &["fr"], &["billing"], &["fr", "billing"], &[]];
    let assignable: usize = 300;
    let mut rng = rand::rng();
    let mut required = HashMap::new();
    for i in 0..assignable {
        let skills = *needs.choose(&mut rng).unwrap();
        let conversation = format!("conv-{i:03}");
        required.insert(conversation.clone(), skills);
        pool.enqueue(
            BIZ,
            Q,
            &entry(
                &conversation,
                rng.random_range(0..3),
                u64::try_from(i).unwrap(),
                skills,
            ),
        )
        .await
        .unwrap();
    }
    for i in 0..10 {
        pool.enqueue(BIZ, Q, &entry(&format!("nobody-{i}"), 5, i, &["klingon"]))
            .await
            .unwrap();
    }

    let ever_assigned = Arc::new(Mutex::new(HashSet::<String>::new()));
    let held = Arc::new(Mutex::new(Vec::<Assignment>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let capacities = Arc::new(capacities);
    let required = Arc::new(required);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = (f.another)();
        let (ever_assigned, held, done) = (ever_assigned.clone(), held.clone(), done.clone());
        let (capacities, required) = (capacities.clone(), required.clone());
        tasks.push(tokio::spawn(async move {
            let check = |agents: Vec<AgentState>| {
                for a in agents {
                    assert!(a.load <= a.capacity, "over capacity: {a:?}");
                }
            };
            let mut idle_rounds = 0;
            while done.load(Ordering::SeqCst) < assignable && idle_rounds < 1_000 {
                let assigned = pool.assign_next(BIZ, Q, 1_000, None).await.unwrap();
                check(pool.agents(BIZ).await.unwrap());
                let release_one = match assigned {
                    Some(a) => {
                        idle_rounds = 0;
                        assert!(
                            ever_assigned.lock().await.insert(a.conversation.clone()),
                            "assigned twice: {a:?}"
                        );
                        let (_, skills) = &capacities[&a.agent_id];
                        for skill in required[&a.conversation] {
                            assert!(skills.contains(skill), "{a:?} lacks {skill}");
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                        held.lock().await.push(a);
                        rand::rng().random_bool(0.5)
                    }
                    None => {
                        idle_rounds += 1;
                        true
                    }
                };
                if release_one {
                    let taken = {
                        let mut held = held.lock().await;
                        if held.is_empty() {
                            None
                        } else {
                            let i = rand::rng().random_range(0..held.len());
                            Some(held.swap_remove(i))
                        }
                    };
                    if let Some(a) = taken {
                        assert!(
                            pool.release(BIZ, &a.agent_id, &a.conversation)
                                .await
                                .unwrap()
                        );
                        check(pool.agents(BIZ).await.unwrap());
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(ever_assigned.lock().await.len(), assignable);
    // The loads match what is held, and the unassignable ones still wait, in front.
    let held = held.lock().await;
    for a in pool.agents(BIZ).await.unwrap() {
        let holding = held.iter().filter(|h| h.agent_id == a.agent_id).count();
        assert_eq!(a.load as usize, holding, "{a:?}");
        assert_eq!(
            pool.assignments_of(BIZ, &a.agent_id).await.unwrap().len(),
            holding
        );
    }
    for i in 0..10 {
        assert_eq!(
            pool.position(BIZ, Q, &format!("nobody-{i}")).await.unwrap(),
            Some(i)
        );
    }
}

async fn release_and_requeue_are_idempotent(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    available(pool, "a1", 3, &[]).await;
    available(pool, "a2", 3, &[]).await;
    for i in 0..5 {
        pool.enqueue(BIZ, Q, &entry(&format!("c{i}"), 0, i, &[]))
            .await
            .unwrap();
    }
    for _ in 0..5 {
        assert!(next(pool).await.is_some());
    }
    // a1 took c0, c2, c4; a2 took c1, c3.
    assert_eq!(
        pool.assignments_of(BIZ, "a1").await.unwrap(),
        ["c0", "c2", "c4"]
    );
    assert_eq!(pool.assignments_of(BIZ, "a2").await.unwrap(), ["c1", "c3"]);
    assert_eq!(
        pool.assignment(BIZ, "c1").await.unwrap().as_deref(),
        Some("a2")
    );

    // Release only by the holder, once.
    assert!(!pool.release(BIZ, "a1", "c1").await.unwrap());
    assert!(!pool.release(BIZ, "a1", "nothing").await.unwrap());
    assert!(pool.release(BIZ, "a2", "c1").await.unwrap());
    assert!(!pool.release(BIZ, "a2", "c1").await.unwrap());
    assert_eq!(agent(pool, "a2").await.load, 1);
    assert_eq!(agent(pool, "a1").await.load, 3);
    assert_eq!(pool.assignment(BIZ, "c1").await.unwrap(), None);

    // a1's presence dies: its work comes back once, the second call finds nothing.
    pool.set_presence(BIZ, "a1", &presence(PresenceStatus::Offline, 3, &[]), LONG)
        .await
        .unwrap();
    assert_eq!(
        pool.requeue_agent(BIZ, "a1").await.unwrap(),
        ["c0", "c2", "c4"]
    );
    assert!(pool.requeue_agent(BIZ, "a1").await.unwrap().is_empty());
    assert_eq!(agent(pool, "a1").await.load, 0);
    assert!(pool.assignments_of(BIZ, "a1").await.unwrap().is_empty());
    assert_eq!(pool.assignment(BIZ, "c0").await.unwrap(), None);
    assert!(!pool.release(BIZ, "a1", "c0").await.unwrap());
    assert_eq!(agent(pool, "a1").await.load, 0, "never below 0");
    assert_eq!(agent(pool, "a2").await.load, 1, "others untouched");

    // Re-queued, they go to the live agent.
    for c in ["c0", "c2", "c4"] {
        assert_eq!(
            pool.enqueue(BIZ, Q, &entry(c, 0, 1, &[])).await.unwrap(),
            EnqueueOutcome::Added
        );
    }
    assert_eq!(next(pool).await, assignment("c0", "a2"));
    assert_eq!(next(pool).await, assignment("c2", "a2"));
    assert_eq!(next(pool).await, None, "a2 is full");
}

async fn businesses_are_isolated(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    available(pool, "a1", 3, &[]).await;
    pool.enqueue("other", Q, &entry("c1", 0, 1, &[]))
        .await
        .unwrap();
    assert_eq!(pool.assign_next("other", Q, 10, None).await.unwrap(), None);
    assert!(pool.agents("other").await.unwrap().is_empty());
    assert_eq!(next(pool).await, None);
    assert_eq!(pool.position(BIZ, Q, "c1").await.unwrap(), None);
    assert_eq!(pool.position("other", Q, "c1").await.unwrap(), Some(0));
}

async fn a_direct_transfer_counts_against_the_named_agents_capacity(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    available(pool, "a1", 2, &[]).await;
    available(pool, "a2", 1, &[]).await;
    pool.set_presence(BIZ, "away", &presence(PresenceStatus::Away, 5, &[]), LONG)
        .await
        .unwrap();
    pool.set_presence(
        BIZ,
        "gone",
        &presence(PresenceStatus::Available, 5, &[]),
        Duration::ZERO, // expired as soon as it is written
    )
    .await
    .unwrap();
    pool.enqueue(BIZ, Q, &entry("c0", 0, 1, &[])).await.unwrap();
    assert_eq!(next(pool).await, assignment("c0", "a1"));

    // a1 transfers c0 to a2: a2 holds it, a1's load drops, once.
    assert!(pool.assign_to(BIZ, "a2", "c0").await.unwrap());
    assert!(pool.assign_to(BIZ, "a2", "c0").await.unwrap(), "repeatable");
    assert_eq!(
        pool.assignment(BIZ, "c0").await.unwrap().as_deref(),
        Some("a2")
    );
    assert_eq!(agent(pool, "a2").await.load, 1);
    assert_eq!(agent(pool, "a1").await.load, 0);
    // The old holder's later release changes nothing.
    assert!(!pool.release(BIZ, "a1", "c0").await.unwrap());
    assert_eq!(agent(pool, "a2").await.load, 1);

    // a2 is full, away and expired agents take nothing, unknown agents neither.
    for target in ["a2", "away", "gone", "nobody"] {
        assert!(
            !pool.assign_to(BIZ, target, "c1").await.unwrap(),
            "{target}"
        );
    }
    assert_eq!(pool.assignment(BIZ, "c1").await.unwrap(), None);
    assert_eq!(agent(pool, "a2").await.load, 1, "never above capacity");

    // The automatic assignment sees the direct one: a queued copy is dropped, and the
    // named agent's load counts.
    pool.enqueue(BIZ, Q, &entry("c2", 0, 2, &[])).await.unwrap();
    assert!(pool.assign_to(BIZ, "a1", "c2").await.unwrap());
    assert_eq!(next(pool).await, None, "the queued copy of c2 is dropped");
    assert_eq!(pool.position(BIZ, Q, "c2").await.unwrap(), None);
    pool.enqueue(BIZ, Q, &entry("c3", 0, 3, &[])).await.unwrap();
    assert_eq!(next(pool).await, assignment("c3", "a1"));
    pool.enqueue(BIZ, Q, &entry("c4", 0, 4, &[])).await.unwrap();
    assert_eq!(next(pool).await, None, "a1 (2) and a2 (1) are full");
}

async fn assign_first_serves_earlier_queues_first_atomically(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    let urgent = QueueChoice {
        queue: "urgent",
        relax_after: None,
    };
    let relaxed = QueueChoice {
        queue: "urgent",
        relax_after: Some(Duration::from_millis(500)),
    };
    let later = QueueChoice {
        queue: "later",
        relax_after: None,
    };
    let first = |queues: Vec<QueueChoice<'static>>, now: u64| async move {
        pool.assign_first(BIZ, &queues, now).await.unwrap()
    };
    assert_eq!(
        first(vec![urgent, later], 10_000).await,
        None,
        "nobody is online"
    );
    available(pool, "a1", 3, &["en"]).await;
    // The later queue's entry is older, but the urgent queue is looked at first.
    pool.enqueue(BIZ, "later", &entry("old", 0, 100, &[]))
        .await
        .unwrap();
    pool.enqueue(BIZ, "urgent", &entry("new", 0, 900, &[]))
        .await
        .unwrap();
    assert_eq!(
        first(vec![urgent, later], 10_000).await,
        Some(("urgent".to_owned(), assignment("new", "a1").unwrap()))
    );
    // An urgent entry nobody can take does not block the later queue.
    pool.enqueue(BIZ, "urgent", &entry("fr", 0, 9_000, &["fr"]))
        .await
        .unwrap();
    assert_eq!(
        first(vec![urgent, later], 9_100).await,
        Some(("later".to_owned(), assignment("old", "a1").unwrap()))
    );
    // Each queue's own relaxation applies: past 500 ms the urgent entry may miss `fr`.
    pool.enqueue(BIZ, "later", &entry("next", 0, 200, &[]))
        .await
        .unwrap();
    assert_eq!(
        first(vec![relaxed, later], 9_400).await,
        Some(("later".to_owned(), assignment("next", "a1").unwrap())),
        "not waited long enough"
    );
    pool.enqueue(BIZ, "later", &entry("last", 0, 300, &[]))
        .await
        .unwrap();
    available(pool, "a1", 4, &["en"]).await;
    assert_eq!(
        first(vec![relaxed, later], 9_600).await,
        Some(("urgent".to_owned(), assignment("fr", "a1").unwrap())),
        "relaxed after 500 ms"
    );
    // a1 is full now (4): nothing more, and the waiting entry keeps its place.
    assert_eq!(first(vec![urgent, later], 9_700).await, None);
    assert_eq!(pool.position(BIZ, "later", "last").await.unwrap(), Some(0));
    assert_eq!(agent(pool, "a1").await.load, 4);
    // Unknown queues and an empty list find nothing.
    assert_eq!(first(Vec::new(), 9_700).await, None);
}

async fn places_ahead_is_the_place_an_entry_gets_or_keeps(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    let empty = entry("first", 0, 500, &[]);
    assert_eq!(
        pool.places_ahead(BIZ, Q, &empty).await.unwrap(),
        0,
        "empty queue"
    );
    for (conversation, priority, at) in [("c-300", 0, 300), ("c-700", 0, 700), ("vip", 5, 900)] {
        pool.enqueue(BIZ, Q, &entry(conversation, priority, at, &[]))
            .await
            .unwrap();
    }
    // Order: vip (priority 5), c-300, c-700. A new entry of age 500 would come third.
    for (candidate, want) in [
        (entry("new-500", 0, 500, &[]), 2),
        (entry("new-100", 0, 100, &[]), 1),
        (entry("new-999", 0, 999, &[]), 3),
        (entry("new-vip", 9, 999, &[]), 0),
        (entry("tie-300", 0, 300, &[]), 2), // same age as c-300: the tag decides ("c" < "t")
    ] {
        assert_eq!(
            pool.places_ahead(BIZ, Q, &candidate).await.unwrap(),
            want,
            "{}",
            candidate.conversation
        );
        // It matches the place the entry really gets.
        pool.enqueue(BIZ, Q, &candidate).await.unwrap();
        assert_eq!(
            pool.position(BIZ, Q, &candidate.conversation)
                .await
                .unwrap(),
            Some(want)
        );
        pool.dequeue(BIZ, Q, &candidate.conversation).await.unwrap();
    }
    // A waiting entry keeps its place, whatever age it is asked about with.
    assert_eq!(
        pool.places_ahead(BIZ, Q, &entry("c-700", 0, 1, &[]))
            .await
            .unwrap(),
        2
    );
}

/// A conversation an agent declined goes to another agent even when the decliner is the
/// better pick; with nobody else it waits until the decline's cool-down ends (the caller's
/// clock), and then the decliner is offered it again. Entries with different decliners are
/// judged apart (one that nobody can take does not hide one that somebody can).
async fn an_agent_that_declined_is_passed_over_until_its_cool_down_ends(make: Make) {
    let f = make();
    let pool = f.pool.as_ref();
    available(pool, "a1", 3, &[]).await;
    let declined_by = |agent: &str, until_ms: u64| Declined {
        agent_id: agent.to_owned(),
        until_ms,
    };
    let mut c1 = entry("c1", 0, 1_000, &[]);
    c1.declined = vec![declined_by("a1", 20_000)];
    pool.enqueue(BIZ, Q, &c1).await.unwrap();
    // a1 is the only agent and declined c1: nothing is assigned before 20 s.
    assert_eq!(pool.assign_next(BIZ, Q, 19_999, None).await.unwrap(), None);
    assert_eq!(pool.position(BIZ, Q, "c1").await.unwrap(), Some(0));
    // A later entry nobody declined is not hidden behind it.
    pool.enqueue(BIZ, Q, &entry("c2", 0, 2_000, &[]))
        .await
        .unwrap();
    assert_eq!(
        pool.assign_next(BIZ, Q, 19_999, None).await.unwrap(),
        assignment("c2", "a1")
    );
    // Another agent, busier than a1 would be, takes c1 at once.
    available(pool, "a2", 1, &[]).await;
    assert_eq!(
        pool.assign_next(BIZ, Q, 19_999, None).await.unwrap(),
        assignment("c1", "a2")
    );
    // Once the cool-down has passed the decliner may be offered it again.
    let mut c3 = entry("c3", 0, 3_000, &[]);
    c3.declined = vec![declined_by("a1", 20_000), declined_by("a2", 90_000)];
    pool.enqueue(BIZ, Q, &c3).await.unwrap();
    pool.release(BIZ, "a2", "c1").await.unwrap();
    assert_eq!(pool.assign_next(BIZ, Q, 19_999, None).await.unwrap(), None);
    assert_eq!(
        pool.assign_next(BIZ, Q, 20_001, None).await.unwrap(),
        assignment("c3", "a1")
    );
}
