//! The store contract: every test runs against the embedded store and against Redis.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use parley_state::{
    CasOutcome, ClaimToken, Commit, CommitOutcome, GateDecision, GatePolicy, GateRead, GateReadout,
    MAX_HOLES, Skipped, StoreSettings, Versioned, WaitReason,
};
use parley_types::{ConversationKey, Sequence};
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use tokio::sync::Mutex;

use crate::support::{Fixture, key};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::embedded).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(crate::support::redis).await;
                }
            )*
        }
    };
}

both_backends!(
    concurrent_compare_and_set_never_loses_an_update,
    commit_writes_all_or_nothing,
    sequences_start_at_one_per_conversation,
    gate_applies_shuffled_duplicated_events_exactly_once_in_order,
    gate_skips_a_gap_after_its_timeout_and_reports_it,
    gate_claim_blocks_a_second_worker_until_released_or_lapsed,
    a_claim_whose_grant_was_lost_is_released_by_its_token_only,
    gate_counts_attempts_and_abandon_lets_the_conversation_go_on,
    gate_keeps_the_newest_holes,
    gate_skips_a_wide_gap_in_one_timeout,
    writes_refresh_the_time_to_live,
    every_write_keeps_every_key_within_the_retention_bound,
    idle_conversations_expire,
    dedup_records_remember_then_expire,
    transcript_keeps_the_newest_entries_in_order,
    forget_removes_every_key_of_one_opaque_id,
    allocation_is_idempotent_per_id_and_counter,
    fields_and_monotonic_marks,
    combined_reads_and_writes_match_their_parts,
    a_claim_reads_what_the_stage_reads_next,
    a_pass_applies_in_order_and_completes_at_once,
    consent_records_per_topic,
);

type Make = fn(StoreSettings) -> Fixture;

fn settings() -> StoreSettings {
    StoreSettings::default()
}

fn sequence(n: u64) -> Sequence {
    Sequence::new(n).unwrap()
}

async fn concurrent_compare_and_set_never_loses_an_update(make: Make) {
    let f = make(settings());
    let k = key("biz", 1);
    let tasks = 16;
    let per_task = 25;
    let conflicts = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let store = f.store.clone();
        let k = k.clone();
        let conflicts = conflicts.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                loop {
                    let current = store.load(&k).await.unwrap();
                    let (version, value) = current.map_or((0, 0u64), |v| {
                        (
                            v.version,
                            String::from_utf8_lossy(&v.state).parse().unwrap(),
                        )
                    });
                    let next = Bytes::from((value + 1).to_string());
                    match store.compare_and_set(&k, version, next).await.unwrap() {
                        CasOutcome::Applied { version: new } => {
                            assert_eq!(new, version + 1);
                            break;
                        }
                        CasOutcome::Conflict { current } => {
                            assert_ne!(current, version);
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let stored = f.store.load(&k).await.unwrap().unwrap();
    let total = (tasks * per_task) as u64;
    assert_eq!(stored.version, total);
    assert_eq!(String::from_utf8_lossy(&stored.state), total.to_string());
    // A stale expected version is refused.
    assert_eq!(
        f.store
            .compare_and_set(&k, 1, Bytes::from_static(b"x"))
            .await
            .unwrap(),
        CasOutcome::Conflict { current: total }
    );
    eprintln!("{} conflicts retried", conflicts.load(Ordering::Relaxed));
}

/// A commit writes the state, draws numbers from the same counters allocate_sequence uses,
/// sets fields (with the numbers drawn) and appends to the transcript, or, on a conflict,
/// nothing at all.
async fn commit_writes_all_or_nothing(make: Make) {
    let f = make(settings());
    let k = key("biz", 12);
    assert_eq!(
        f.store.allocate_sequence(&k, "bot", None).await.unwrap(),
        sequence(1)
    );
    let commit = |expected: u64, state: &'static [u8], entry: &'static [u8]| Commit {
        expected,
        state: Bytes::from_static(state),
        allocate: vec!["bot", "agent", "bot"],
        sequences_field: Some("outbox.seq"),
        fields: vec![("outbox", format!("from {expected}"))],
        transcript: Some(Bytes::from_static(entry)),
    };
    assert_eq!(
        f.store
            .commit(&k, commit(0, b"one", b"line one"))
            .await
            .unwrap(),
        CommitOutcome::Applied {
            version: 1,
            sequences: vec![sequence(2), sequence(1), sequence(3)],
        }
    );
    // A stale writer: nothing is written, no number is drawn.
    assert_eq!(
        f.store
            .commit(&k, commit(0, b"stale", b"stale line"))
            .await
            .unwrap(),
        CommitOutcome::Conflict { current: 1 }
    );
    let stored = f.store.load(&k).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.state.as_ref()),
        (1, b"one".as_ref())
    );
    assert_eq!(
        f.store
            .get_fields(&k, &["outbox", "outbox.seq"])
            .await
            .unwrap(),
        [Some("from 0".to_owned()), Some("2,1,3".to_owned())]
    );
    assert_eq!(
        f.store.transcript(&k, 10).await.unwrap(),
        [Bytes::from_static(b"line one")]
    );
    assert_eq!(
        f.store.allocate_sequence(&k, "bot", None).await.unwrap(),
        sequence(4)
    );
    // Without numbers, fields or a transcript entry: a plain compare-and-set.
    assert!(matches!(
        f.store
            .commit(
                &k,
                Commit {
                    expected: 1,
                    state: Bytes::from_static(b"two"),
                    ..Commit::default()
                }
            )
            .await
            .unwrap(),
        CommitOutcome::Applied { version: 2, ref sequences } if sequences.is_empty()
    ));
    assert_eq!(f.store.transcript(&k, 10).await.unwrap().len(), 1);
}

async fn sequences_start_at_one_per_conversation(make: Make) {
    let f = make(settings());
    let (a, b) = (key("biz", 1), key("biz", 2));
    for expected in 1..=5 {
        assert_eq!(
            f.store
                .allocate_sequence(&a, "inbound", None)
                .await
                .unwrap()
                .get(),
            expected
        );
    }
    assert_eq!(
        f.store
            .allocate_sequence(&b, "inbound", None)
            .await
            .unwrap()
            .get(),
        1
    );
    assert_eq!(
        f.store
            .allocate_sequence(&key("other", 1), "inbound", None)
            .await
            .unwrap()
            .get(),
        1
    );
}

async fn gate_applies_shuffled_duplicated_events_exactly_once_in_order(make: Make) {
    let f = make(settings());
    let conversations: Vec<ConversationKey> = (0..50).map(|i| key("biz", i)).collect();
    let per_conversation = 20u64;
    let mut events = Vec::new();
    for (index, k) in conversations.iter().enumerate() {
        for _ in 0..per_conversation {
            let seq = f.store.allocate_sequence(k, "inbound", None).await.unwrap();
            events.push((index, seq));
        }
    }
    assert_eq!(events.len(), 1000);
    let mut rng = rand::rng();
    let copies: Vec<_> = events.choose_multiple(&mut rng, 300).copied().collect();
    events.extend(copies);
    events.shuffle(&mut rng);

    let queue = Arc::new(Mutex::new(events.into_iter().collect::<VecDeque<_>>()));
    let applied = Arc::new(Mutex::new(HashMap::<usize, Vec<u64>>::new()));
    let busy = Arc::new(AtomicUsize::new(0));
    let duplicates = Arc::new(AtomicUsize::new(0));
    let policy = GatePolicy {
        gap_timeout: Duration::from_secs(600),
        lease: Duration::from_secs(600),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    let conversations = Arc::new(conversations);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (store, queue, applied, busy, duplicates, conversations) = (
            f.store.clone(),
            queue.clone(),
            applied.clone(),
            busy.clone(),
            duplicates.clone(),
            conversations.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let next = {
                    let mut queue = queue.lock().await;
                    let next = queue.pop_front();
                    if next.is_some() {
                        busy.fetch_add(1, Ordering::SeqCst);
                    }
                    next
                };
                let Some((index, seq)) = next else {
                    if busy.load(Ordering::SeqCst) == 0 {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                };
                let k = &conversations[index];
                match store.gate(k, "routing", seq, &policy).await.unwrap() {
                    GateDecision::Apply { skipped, late, .. } => {
                        assert_eq!((skipped, late), (None, false));
                        applied
                            .lock()
                            .await
                            .entry(index)
                            .or_default()
                            .push(seq.get());
                        // The effect takes a moment (a publish), so other workers run meanwhile.
                        tokio::time::sleep(Duration::from_micros(300)).await;
                        store.complete(k, "routing", seq).await.unwrap();
                    }
                    GateDecision::Duplicate => {
                        duplicates.fetch_add(1, Ordering::SeqCst);
                    }
                    GateDecision::Wait { skipped, .. } => {
                        assert_eq!(skipped, None);
                        queue.lock().await.push_back((index, seq));
                    }
                }
                busy.fetch_sub(1, Ordering::SeqCst);
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        for worker in workers {
            worker.await.unwrap();
        }
    })
    .await
    .expect("the gate drained every event within the bound");
    let applied = applied.lock().await;
    let expected: Vec<u64> = (1..=per_conversation).collect();
    for index in 0..50 {
        assert_eq!(applied.get(&index), Some(&expected), "conversation {index}");
    }
    assert_eq!(duplicates.load(Ordering::SeqCst), 300);
}

async fn gate_skips_a_gap_after_its_timeout_and_reports_it(make: Make) {
    let f = make(settings());
    let k = key("biz", 7);
    let policy = GatePolicy {
        gap_timeout: Duration::from_millis(400),
        lease: Duration::from_secs(30),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    for n in 1..=2 {
        assert_eq!(
            f.store.gate(&k, "bot", sequence(n), &policy).await.unwrap(),
            GateDecision::APPLY
        );
        f.store.complete(&k, "bot", sequence(n)).await.unwrap();
    }
    // 3 never arrives (its producer died between allocating and publishing).
    let started = Instant::now();
    let decision = loop {
        let decision = f.store.gate(&k, "bot", sequence(4), &policy).await.unwrap();
        if !matches!(
            decision,
            GateDecision::Wait {
                reason: WaitReason::Gap,
                skipped: None
            }
        ) {
            break decision;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gap never skipped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        decision,
        GateDecision::Apply {
            skipped: Some(Skipped::one(sequence(3))),
            late: false,
            attempt: 1,
        }
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "skipped too early"
    );
    f.store.complete(&k, "bot", sequence(4)).await.unwrap();
    assert_eq!(
        f.store.gate(&k, "bot", sequence(5), &policy).await.unwrap(),
        GateDecision::APPLY
    );
    f.store.complete(&k, "bot", sequence(5)).await.unwrap();
    // The late 3 is applied (never dropped as "already passed"), exactly once; other stages
    // are independent.
    let late = GateDecision::Apply {
        skipped: None,
        late: true,
        attempt: 1,
    };
    assert_eq!(
        f.store.gate(&k, "bot", sequence(3), &policy).await.unwrap(),
        late
    );
    assert_eq!(
        f.store.gate(&k, "bot", sequence(3), &policy).await.unwrap(),
        GateDecision::Wait {
            reason: WaitReason::Claimed,
            skipped: None
        }
    );
    f.store.complete(&k, "bot", sequence(3)).await.unwrap();
    assert_eq!(
        f.store.gate(&k, "bot", sequence(3), &policy).await.unwrap(),
        GateDecision::Duplicate
    );
    assert_eq!(
        f.store.gate(&k, "bot", sequence(4), &policy).await.unwrap(),
        GateDecision::Duplicate
    );
    assert_eq!(
        f.store.gate(&k, "bot", sequence(6), &policy).await.unwrap(),
        GateDecision::APPLY
    );
    assert_eq!(
        f.store
            .gate(&k, "outbound", sequence(1), &policy)
            .await
            .unwrap(),
        GateDecision::APPLY
    );
}

/// Poison: every grant of a claim is an attempt (released, or lapsed with a dead holder);
/// abandoning moves the conversation on at once, and the dead letter's replay is applied
/// late, once. Holes from skips and abandons together, with a failing late apply.
async fn gate_counts_attempts_and_abandon_lets_the_conversation_go_on(make: Make) {
    let f = make(settings());
    let k = key("biz", 9);
    let policy = GatePolicy {
        gap_timeout: Duration::from_secs(30),
        lease: Duration::from_millis(200),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    let apply = |late, attempt| GateDecision::Apply {
        skipped: None,
        late,
        attempt,
    };
    let gate = |n: u64| f.store.gate(&k, "bot", sequence(n), &policy);
    assert_eq!(gate(1).await.unwrap(), apply(false, 1));
    f.store.release(&k, "bot", sequence(1)).await.unwrap();
    assert_eq!(gate(1).await.unwrap(), apply(false, 2));
    // The holder panics or dies without releasing: the lapsed lease counts too.
    let started = Instant::now();
    let third = loop {
        let decision = gate(1).await.unwrap();
        if matches!(decision, GateDecision::Apply { .. }) {
            break decision;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "claim never lapsed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(third, apply(false, 3));
    f.store.abandon(&k, "bot", sequence(1)).await.unwrap();
    // The next message goes through at once, with a fresh count.
    assert_eq!(gate(2).await.unwrap(), apply(false, 1));
    f.store.complete(&k, "bot", sequence(2)).await.unwrap();
    // Abandoning what was applied or never granted changes nothing.
    f.store.abandon(&k, "bot", sequence(2)).await.unwrap();
    f.store.abandon(&k, "bot", sequence(7)).await.unwrap();
    assert_eq!(gate(2).await.unwrap(), GateDecision::Duplicate);
    // The replay of 1's dead letter: late, and a failure offers it again.
    assert_eq!(gate(1).await.unwrap(), apply(true, 1));
    f.store.release(&k, "bot", sequence(1)).await.unwrap();
    assert_eq!(gate(1).await.unwrap(), apply(true, 2));
    // The next in-order message waits for the late claim, then goes on.
    assert!(matches!(
        gate(3).await.unwrap(),
        GateDecision::Wait {
            reason: WaitReason::Claimed,
            ..
        }
    ));
    f.store.complete(&k, "bot", sequence(1)).await.unwrap();
    assert_eq!(gate(1).await.unwrap(), GateDecision::Duplicate);
    assert_eq!(gate(3).await.unwrap(), apply(false, 1));
    f.store.abandon(&k, "bot", sequence(3)).await.unwrap();
    // A replayed dead letter abandoned again stays a hole: a second replay still applies.
    assert_eq!(gate(3).await.unwrap(), apply(true, 1));
    f.store.abandon(&k, "bot", sequence(3)).await.unwrap();
    assert_eq!(gate(3).await.unwrap(), apply(true, 1));
    f.store.complete(&k, "bot", sequence(3)).await.unwrap();
    assert_eq!(gate(3).await.unwrap(), GateDecision::Duplicate);
    assert_eq!(gate(4).await.unwrap(), apply(false, 1));
}

/// Four burned numbers cost one gap timeout, not four, and each is applied if it comes.
async fn gate_skips_a_wide_gap_in_one_timeout(make: Make) {
    let f = make(settings());
    let k = key("biz", 11);
    let policy = GatePolicy {
        gap_timeout: Duration::from_millis(300),
        lease: Duration::from_secs(30),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        GateDecision::APPLY
    );
    f.store.complete(&k, "s", sequence(1)).await.unwrap();
    let started = Instant::now();
    let decision = loop {
        let decision = f.store.gate(&k, "s", sequence(6), &policy).await.unwrap();
        if matches!(decision, GateDecision::Apply { .. }) {
            break decision;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gap never skipped"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "one timeout"
    );
    assert_eq!(
        decision.skipped(),
        Some(Skipped {
            first: sequence(2),
            last: sequence(5)
        })
    );
    f.store.complete(&k, "s", sequence(6)).await.unwrap();
    for n in [5, 2, 4, 3] {
        assert!(matches!(
            f.store.gate(&k, "s", sequence(n), &policy).await.unwrap(),
            GateDecision::Apply { late: true, .. }
        ));
        f.store.complete(&k, "s", sequence(n)).await.unwrap();
        assert_eq!(
            f.store.gate(&k, "s", sequence(n), &policy).await.unwrap(),
            GateDecision::Duplicate
        );
    }
}

/// Many holes: the newest MAX_HOLES are kept, in both backends alike.
async fn gate_keeps_the_newest_holes(make: Make) {
    let f = make(settings());
    let k = key("biz", 10);
    let policy = GatePolicy::default();
    let total = MAX_HOLES as u64 + 3;
    for n in 1..=total {
        assert_eq!(
            f.store.gate(&k, "s", sequence(n), &policy).await.unwrap(),
            GateDecision::APPLY
        );
        f.store.abandon(&k, "s", sequence(n)).await.unwrap();
    }
    for n in 1..=3 {
        assert_eq!(
            f.store.gate(&k, "s", sequence(n), &policy).await.unwrap(),
            GateDecision::Duplicate,
            "hole {n} is forgotten"
        );
    }
    for n in [4, total / 2, total] {
        assert!(
            matches!(
                f.store.gate(&k, "s", sequence(n), &policy).await.unwrap(),
                GateDecision::Apply { late: true, .. }
            ),
            "hole {n} is kept"
        );
        f.store.complete(&k, "s", sequence(n)).await.unwrap();
    }
}

async fn gate_claim_blocks_a_second_worker_until_released_or_lapsed(make: Make) {
    let f = make(settings());
    let k = key("biz", 8);
    let policy = GatePolicy {
        gap_timeout: Duration::from_secs(30),
        lease: Duration::from_millis(300),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    let claimed = GateDecision::Wait {
        reason: WaitReason::Claimed,
        skipped: None,
    };
    let apply = |attempt| GateDecision::Apply {
        skipped: None,
        late: false,
        attempt,
    };
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        apply(1)
    );
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        claimed
    );
    f.store.release(&k, "s", sequence(1)).await.unwrap();
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        apply(2)
    );
    // The holder "dies": after the lease another worker may apply.
    let started = Instant::now();
    loop {
        let decision = f.store.gate(&k, "s", sequence(1), &policy).await.unwrap();
        if decision == apply(3) {
            break;
        }
        assert_eq!(decision, claimed);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "claim never lapsed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
}

/// The gate's reply to a claimant can be lost after the gate ran (a timeout): the claimant
/// never learns it holds the claim, and without a way to drop it the conversation waits for
/// the lease. Asked under a token, the claim is dropped by that token, and only by it.
async fn a_claim_whose_grant_was_lost_is_released_by_its_token_only(make: Make) {
    let f = make(settings());
    let k = key("biz", 21);
    let policy = GatePolicy {
        gap_timeout: Duration::from_secs(30),
        lease: Duration::from_secs(120),
        max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
    };
    let claimed = GateDecision::Wait {
        reason: WaitReason::Claimed,
        skipped: None,
    };
    let apply = |attempt| GateDecision::Apply {
        skipped: None,
        late: false,
        attempt,
    };
    let (lost, next) = (ClaimToken::fresh(), ClaimToken::fresh());
    assert_ne!(lost, next);
    // Granted under `lost`; say its holder never saw this answer.
    assert_eq!(
        f.store
            .gate_claim(&k, "s", sequence(1), &policy, lost)
            .await
            .unwrap(),
        apply(1)
    );
    assert_eq!(
        f.store
            .gate_claim(&k, "s", sequence(1), &policy, next)
            .await
            .unwrap(),
        claimed
    );
    // Another token, or the same token on another sequence, drops nothing.
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(1), next)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(2), lost)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        claimed
    );
    // Its holder drops it at once (not after two minutes), and a retry of that is harmless.
    assert!(
        f.store
            .release_claim(&k, "s", sequence(1), lost)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(1), lost)
            .await
            .unwrap()
    );
    // The next attempt goes in (the lost grant counted as an attempt).
    assert_eq!(
        f.store
            .gate_claim(&k, "s", sequence(1), &policy, next)
            .await
            .unwrap(),
        apply(2)
    );
    // A late retry of the first holder's release leaves the new claim alone.
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(1), lost)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        claimed
    );
    // Completing drops a claim whatever its token.
    f.store.complete(&k, "s", sequence(1)).await.unwrap();
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(1), next)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.gate(&k, "s", sequence(1), &policy).await.unwrap(),
        GateDecision::Duplicate
    );
    // A claim asked for without a token is not dropped by one, and is still released by
    // its sequence (as before tokens).
    assert_eq!(
        f.store.gate(&k, "s", sequence(2), &policy).await.unwrap(),
        apply(1)
    );
    assert!(
        !f.store
            .release_claim(&k, "s", sequence(2), lost)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.gate(&k, "s", sequence(2), &policy).await.unwrap(),
        claimed
    );
    f.store.release(&k, "s", sequence(2)).await.unwrap();
    assert_eq!(
        f.store
            .gate_claim(&k, "s", sequence(2), &policy, lost)
            .await
            .unwrap(),
        apply(2)
    );
    // ... and a token's claim is released by its sequence too (a panic's release).
    f.store.release(&k, "s", sequence(2)).await.unwrap();
    assert_eq!(
        f.store.gate(&k, "s", sequence(2), &policy).await.unwrap(),
        apply(3)
    );
}

async fn writes_refresh_the_time_to_live(make: Make) {
    let f = make(StoreSettings {
        retention: Duration::from_secs(10),
        ..settings()
    });
    let k = key("biz", 9);
    assert_eq!(f.store.time_to_live(&k).await.unwrap(), None);
    f.store
        .compare_and_set(&k, 0, Bytes::from_static(b"s"))
        .await
        .unwrap();
    let fresh = f.store.time_to_live(&k).await.unwrap().unwrap();
    assert!(fresh > Duration::from_millis(9_500), "{fresh:?}");
    // Let time pass (this measures expiry; nothing is being synchronised).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let older = f.store.time_to_live(&k).await.unwrap().unwrap();
    assert!(older < Duration::from_millis(9_000), "{older:?}");
    f.store
        .allocate_sequence(&k, "inbound", None)
        .await
        .unwrap();
    let refreshed = f.store.time_to_live(&k).await.unwrap().unwrap();
    assert!(refreshed > Duration::from_millis(9_500), "{refreshed:?}");
    // Every kind of write refreshes all of the conversation's keys.
    f.store
        .append_transcript(&k, Bytes::from_static(b"hi"))
        .await
        .unwrap();
    f.store
        .remember(&k, "apple", "m1", Duration::from_secs(5))
        .await
        .unwrap();
    for raw in f.raw_keys(&k).await {
        let client = ::redis::Client::open(f.redis.as_ref().unwrap().url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&raw)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(ttl > 9_000, "{raw} has ttl {ttl}");
    }
}

/// The bound the stores promise: after any write, every key of the conversation lives at
/// least `100 - TTL_SLACK_PERCENT` % of the retention and at most all of it, whether the
/// write moved the keys' expiry or (Redis, soon after another write) only gave the keys it
/// created the shared one.
async fn every_write_keeps_every_key_within_the_retention_bound(make: Make) {
    let retention = Duration::from_secs(10);
    let f = make(StoreSettings {
        retention,
        ..settings()
    });
    let k = key("biz", 19);
    let slack = retention * u32::try_from(parley_state::TTL_SLACK_PERCENT).unwrap() / 100;
    // A little for the time between the write and the check.
    let low = retention - slack - Duration::from_millis(150);
    let check = |what: &'static str| {
        let f = &f;
        let k = &k;
        async move {
            let ttl = f.store.time_to_live(k).await.unwrap().unwrap();
            assert!(
                ttl >= low && ttl <= retention,
                "after {what}: record {ttl:?}"
            );
            for raw in f.raw_keys(k).await {
                let client = ::redis::Client::open(f.redis.as_ref().unwrap().url()).unwrap();
                let mut c = client.get_multiplexed_async_connection().await.unwrap();
                let ms: i64 = ::redis::cmd("PTTL")
                    .arg(&raw)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                let ms = u64::try_from(ms).unwrap_or_else(|_| panic!("after {what}: {raw} {ms}"));
                let ttl = Duration::from_millis(ms);
                assert!(
                    ttl >= low && ttl <= retention,
                    "after {what}: {raw} {ttl:?}"
                );
            }
        }
    };
    let policy = GatePolicy::default();
    for round in 0..2 {
        // Round 0: the writes follow each other within the slack (Redis gives a key it
        // creates the shared expiry); round 1: each waits past the slack first (every key's
        // expiry moves).
        let pause = if round == 0 {
            Duration::ZERO
        } else {
            slack + Duration::from_millis(50)
        };
        f.store
            .compare_and_set(&k, round, Bytes::from_static(b"s"))
            .await
            .unwrap();
        check("compare_and_set").await;
        tokio::time::sleep(pause).await;
        f.store
            .remember(&k, "apple", &format!("m{round}"), Duration::from_secs(5))
            .await
            .unwrap();
        check("remember").await;
        tokio::time::sleep(pause).await;
        f.store
            .append_transcript(&k, Bytes::from_static(b"hi"))
            .await
            .unwrap();
        check("append_transcript").await;
        tokio::time::sleep(pause).await;
        f.store
            .set_consent(&k, "offers", Bytes::from_static(b"c"))
            .await
            .unwrap();
        check("set_consent").await;
        tokio::time::sleep(pause).await;
        f.store
            .allocate_sequence(&k, "outbound", Some(&format!("e{round}")))
            .await
            .unwrap();
        check("allocate_sequence").await;
        tokio::time::sleep(pause).await;
        let s = sequence(round + 1);
        f.store.gate(&k, "st", s, &policy).await.unwrap();
        check("gate").await;
        tokio::time::sleep(pause).await;
        f.store
            .remember_then_complete(
                &k,
                "sent",
                &format!("s{round}"),
                Duration::from_secs(5),
                "st",
                s,
            )
            .await
            .unwrap();
        check("remember_then_complete").await;
        tokio::time::sleep(pause).await;
        f.store
            .set_fields_then_complete(&k, &[("done", &format!("d{round}"))], "st", s)
            .await
            .unwrap();
        check("set_fields_then_complete").await;
    }
    // Soon after a write, another one leaves the record's expiry where it was: the refresh
    // that used to touch every key on every write is gone. A long retention (its 1 % is
    // 6 s) so that a loaded machine's pause between the two writes cannot pass the slack.
    let g = make(StoreSettings {
        retention: Duration::from_secs(600),
        ..settings()
    });
    let (f, k) = (g, key("biz", 20));
    f.store.set_fields(&k, &[("y", "1")]).await.unwrap();
    if let Some(server) = &f.redis {
        let client = ::redis::Client::open(server.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let record = f
            .raw_keys(&k)
            .await
            .into_iter()
            .find(|r| r.ends_with('}'))
            .unwrap();
        let pexpiretime = |c: &mut ::redis::aio::MultiplexedConnection| {
            let record = record.clone();
            let mut c = c.clone();
            async move {
                let at: i64 = ::redis::cmd("PEXPIRETIME")
                    .arg(&record)
                    .query_async(&mut c)
                    .await
                    .unwrap();
                at
            }
        };
        let before = pexpiretime(&mut c).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        f.store.set_fields(&k, &[("x", "1")]).await.unwrap();
        assert_eq!(pexpiretime(&mut c).await, before);
    }
}

async fn idle_conversations_expire(make: Make) {
    let f = make(StoreSettings {
        retention: Duration::from_millis(300),
        ..settings()
    });
    let k = key("biz", 10);
    f.store
        .compare_and_set(&k, 0, Bytes::from_static(b"s"))
        .await
        .unwrap();
    f.store
        .append_transcript(&k, Bytes::from_static(b"hi"))
        .await
        .unwrap();
    let started = Instant::now();
    while f.store.load(&k).await.unwrap().is_some() {
        assert!(started.elapsed() < Duration::from_secs(10), "never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(f.store.transcript(&k, 10).await.unwrap().is_empty());
    assert_eq!(
        f.store
            .allocate_sequence(&k, "inbound", None)
            .await
            .unwrap()
            .get(),
        1
    );
}

async fn dedup_records_remember_then_expire(make: Make) {
    let f = make(settings());
    let k = key("biz", 11);
    let ttl = Duration::from_millis(400);
    assert!(!f.store.is_remembered(&k, "apple", "m1").await.unwrap());
    assert!(f.store.remember(&k, "apple", "m1", ttl).await.unwrap());
    assert!(!f.store.remember(&k, "apple", "m1", ttl).await.unwrap());
    assert!(f.store.is_remembered(&k, "apple", "m1").await.unwrap());
    // Scopes and conversations are separate.
    assert!(!f.store.is_remembered(&k, "sent", "m1").await.unwrap());
    assert!(
        !f.store
            .is_remembered(&key("biz", 12), "apple", "m1")
            .await
            .unwrap()
    );
    let started = Instant::now();
    while f.store.is_remembered(&k, "apple", "m1").await.unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "record never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(f.store.remember(&k, "apple", "m1", ttl).await.unwrap());
}

async fn transcript_keeps_the_newest_entries_in_order(make: Make) {
    let f = make(StoreSettings {
        transcript_cap: 5,
        ..settings()
    });
    let k = key("biz", 13);
    for i in 0..8 {
        f.store
            .append_transcript(&k, Bytes::from(format!("e{i}")))
            .await
            .unwrap();
    }
    let text = |v: Vec<Bytes>| -> Vec<String> {
        v.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    assert_eq!(
        text(f.store.transcript(&k, 100).await.unwrap()),
        vec!["e3", "e4", "e5", "e6", "e7"]
    );
    assert_eq!(
        text(f.store.transcript(&k, 2).await.unwrap()),
        vec!["e6", "e7"]
    );
    assert!(f.store.transcript(&k, 0).await.unwrap().is_empty());
}

async fn forget_removes_every_key_of_one_opaque_id(make: Make) {
    let f = make(settings());
    let k = key("biz", 14);
    let neighbour = key("biz", 15);
    let policy = GatePolicy::default();
    for target in [&k, &neighbour] {
        f.store
            .compare_and_set(target, 0, Bytes::from_static(b"s"))
            .await
            .unwrap();
        let seq = f
            .store
            .allocate_sequence(target, "inbound", None)
            .await
            .unwrap();
        f.store.gate(target, "routing", seq, &policy).await.unwrap();
        f.store.complete(target, "routing", seq).await.unwrap();
        f.store
            .remember(target, "apple", "m1", Duration::from_secs(60))
            .await
            .unwrap();
        f.store
            .append_transcript(target, Bytes::from_static(b"hi"))
            .await
            .unwrap();
        f.store
            .allocate_sequence(target, "outbound", Some("e-1"))
            .await
            .unwrap();
        f.store
            .set_consent(target, "orders", Bytes::from_static(b"in"))
            .await
            .unwrap();
        f.store
            .set_fields(target, &[("caps", "LIST")])
            .await
            .unwrap();
    }
    let before = f.raw_keys(&k).await.len();
    let removed = f.store.forget(&k).await.unwrap();
    assert_eq!(
        removed, 5,
        "record, transcript, consent, dedup and allocation sets"
    );
    if f.redis.is_some() {
        assert_eq!(before, 5);
    }
    assert!(
        f.raw_keys(&k).await.is_empty(),
        "keys left: {:?}",
        f.raw_keys(&k).await
    );
    assert_eq!(f.store.load(&k).await.unwrap(), None);
    assert!(f.store.transcript(&k, 10).await.unwrap().is_empty());
    assert!(!f.store.is_remembered(&k, "apple", "m1").await.unwrap());
    assert_eq!(f.store.time_to_live(&k).await.unwrap(), None);
    assert_eq!(f.store.forget(&k).await.unwrap(), 0);
    // The neighbour is untouched.
    assert!(f.store.load(&neighbour).await.unwrap().is_some());
    assert!(
        f.store
            .is_remembered(&neighbour, "apple", "m1")
            .await
            .unwrap()
    );
    assert_eq!(f.store.transcript(&neighbour, 10).await.unwrap().len(), 1);
    assert_eq!(
        f.store
            .allocate_sequence(&k, "inbound", None)
            .await
            .unwrap()
            .get(),
        1
    );
}

async fn allocation_is_idempotent_per_id_and_counter(make: Make) {
    let f = make(settings());
    let k = key("biz", 20);
    let alloc = |counter: &'static str, id: Option<&'static str>| {
        let store = f.store.clone();
        let k = k.clone();
        async move {
            store
                .allocate_sequence(&k, counter, id)
                .await
                .unwrap()
                .get()
        }
    };
    assert_eq!(alloc("inbound", Some("apple-1")).await, 1);
    assert_eq!(alloc("inbound", Some("apple-2")).await, 2);
    // A retried request gets its first number back; nothing is burnt.
    assert_eq!(alloc("inbound", Some("apple-1")).await, 1);
    assert_eq!(alloc("inbound", None).await, 3);
    assert_eq!(alloc("inbound", Some("apple-3")).await, 4);
    // Counters are independent, and so are ids across counters.
    assert_eq!(alloc("outbound", Some("apple-1")).await, 1);
    assert_eq!(alloc("outbound", None).await, 2);
    // Concurrent retries of one id get one number.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = f.store.clone();
        let k = k.clone();
        handles.push(tokio::spawn(async move {
            store
                .allocate_sequence(&k, "inbound", Some("apple-9"))
                .await
                .unwrap()
                .get()
        }));
    }
    let mut got = Vec::new();
    for handle in handles {
        got.push(handle.await.unwrap());
    }
    got.dedup();
    assert_eq!(got, vec![5]);
}

async fn fields_and_monotonic_marks(make: Make) {
    let f = make(settings());
    let k = key("biz", 21);
    assert_eq!(
        f.store.get_fields(&k, &["caps", "agent"]).await.unwrap(),
        vec![None, None]
    );
    f.store
        .set_fields(&k, &[("caps", "QUICK,LIST"), ("agent", "iPhone OS")])
        .await
        .unwrap();
    f.store.set_fields(&k, &[("caps", "QUICK")]).await.unwrap();
    assert_eq!(
        f.store
            .get_fields(&k, &["caps", "agent", "nope"])
            .await
            .unwrap(),
        vec![Some("QUICK".into()), Some("iPhone OS".into()), None]
    );
    assert_eq!(f.store.raise_field(&k, "closed_at", 5).await.unwrap(), 5);
    assert_eq!(
        f.store.raise_field(&k, "closed_at", 3).await.unwrap(),
        5,
        "never lowered"
    );
    assert_eq!(f.store.raise_field(&k, "closed_at", 9).await.unwrap(), 9);
    assert_eq!(
        f.store.get_fields(&k, &["closed_at"]).await.unwrap(),
        vec![Some("9".into())]
    );
    // Fields do not collide with the store's own bookkeeping.
    f.store
        .set_fields(&k, &[("version", "x"), ("state", "y")])
        .await
        .unwrap();
    assert_eq!(f.store.load(&k).await.unwrap(), None);
}

/// The gate's claim with the state, facts and a de-duplication record read in the same call:
/// the same answers as the calls one by one, whatever the gate decides.
/// `gate_claim_reading` of sequence `n` on stage "stage" under a fresh token.
async fn claim_reading(
    f: &Fixture,
    k: &ConversationKey,
    n: u64,
    read: &GateRead<'_>,
) -> (GateDecision, GateReadout) {
    f.store
        .gate_claim_reading(
            k,
            "stage",
            sequence(n),
            &GatePolicy::default(),
            ClaimToken::fresh(),
            read,
        )
        .await
        .unwrap()
}

async fn a_claim_reads_what_the_stage_reads_next(make: Make) {
    let f = make(settings());
    let k = key("biz", 24);
    let read = GateRead {
        state: true,
        fields: &["caps", "nope"],
        remembered: Some(("sent", "e1")),
    };
    // Nothing there yet.
    let (decision, readout) = claim_reading(&f, &k, 1, &read).await;
    assert!(
        matches!(decision, GateDecision::Apply { attempt: 1, .. }),
        "{decision:?}"
    );
    assert_eq!(
        readout,
        GateReadout {
            state: None,
            fields: vec![None, None],
            remembered: false,
        }
    );
    f.store.complete(&k, "stage", sequence(1)).await.unwrap();
    f.store
        .compare_and_set(&k, 0, Bytes::from_static(b"\x00state\xff"))
        .await
        .unwrap();
    f.store.set_fields(&k, &[("caps", "QUICK")]).await.unwrap();
    f.store
        .remember(&k, "sent", "e1", Duration::from_secs(60))
        .await
        .unwrap();
    let (decision, readout) = claim_reading(&f, &k, 2, &read).await;
    assert!(
        matches!(decision, GateDecision::Apply { .. }),
        "{decision:?}"
    );
    let expected = GateReadout {
        state: Some(Versioned {
            version: 1,
            state: Bytes::from_static(b"\x00state\xff"),
        }),
        fields: vec![Some("QUICK".into()), None],
        remembered: true,
    };
    assert_eq!(readout, expected);
    // Read for a duplicate and for one that must wait too; only the facts, when asked.
    let (decision, readout) = claim_reading(&f, &k, 1, &read).await;
    assert_eq!(decision, GateDecision::Duplicate);
    assert_eq!(readout, expected);
    let facts_only = GateRead {
        state: false,
        fields: &["caps"],
        remembered: None,
    };
    let (decision, readout) = claim_reading(&f, &k, 2, &facts_only).await;
    assert!(
        matches!(decision, GateDecision::Wait { .. }),
        "{decision:?}"
    );
    assert_eq!(
        readout,
        GateReadout {
            state: None,
            fields: vec![Some("QUICK".into())],
            remembered: false,
        }
    );
}

/// `gate_pass`: an event a stage has nothing to do for is applied and completed in one call,
/// in order: the next sequence may apply at once, a repeat is a duplicate, and one behind a
/// held claim waits.
async fn a_pass_applies_in_order_and_completes_at_once(make: Make) {
    let f = make(settings());
    let k = key("biz", 25);
    let policy = GatePolicy::default();
    let pass = |n: u64| {
        let store = f.store.clone();
        let k = k.clone();
        async move {
            store
                .gate_pass(
                    &k,
                    "stage",
                    sequence(n),
                    &GatePolicy::default(),
                    ClaimToken::fresh(),
                )
                .await
                .unwrap()
        }
    };
    assert!(matches!(pass(1).await, GateDecision::Apply { .. }));
    assert_eq!(pass(1).await, GateDecision::Duplicate);
    let token = ClaimToken::fresh();
    let claimed = f
        .store
        .gate_claim(&k, "stage", sequence(2), &policy, token)
        .await
        .unwrap();
    assert!(
        matches!(claimed, GateDecision::Apply { .. }),
        "1 was completed: {claimed:?}"
    );
    assert!(
        matches!(pass(3).await, GateDecision::Wait { .. }),
        "2 is not done yet"
    );
    f.store.complete(&k, "stage", sequence(2)).await.unwrap();
    assert!(matches!(pass(3).await, GateDecision::Apply { .. }));
    assert!(
        matches!(
            f.store
                .gate_claim(&k, "stage", sequence(4), &policy, ClaimToken::fresh())
                .await
                .unwrap(),
            GateDecision::Apply { attempt: 1, .. }
        ),
        "3 left no claim and no attempt count behind"
    );
}

async fn combined_reads_and_writes_match_their_parts(make: Make) {
    let f = make(settings());
    let k = key("biz", 23);
    assert_eq!(
        f.store.load_with_fields(&k, &["a", "b"]).await.unwrap(),
        (None, vec![None, None])
    );
    let first = f
        .store
        .set_fields_then_allocate(&k, &[("a", "1")], "out", Some("e1"))
        .await
        .unwrap();
    assert_eq!(first.get(), 1);
    // The same id keeps its number, and the fields are written again all the same.
    let again = f
        .store
        .set_fields_then_allocate(&k, &[("a", "2"), ("b", "x")], "out", Some("e1"))
        .await
        .unwrap();
    assert_eq!(again, first);
    let next = f
        .store
        .set_fields_then_allocate(&k, &[], "out", Some("e2"))
        .await
        .unwrap();
    assert_eq!(next.get(), 2);
    assert_eq!(
        f.store
            .allocate_sequence(&k, "out", Some("e3"))
            .await
            .unwrap()
            .get(),
        3,
        "one counter whichever call allocates"
    );
    f.store
        .compare_and_set(&k, 0, Bytes::from_static(b"s"))
        .await
        .unwrap();
    let (state, fields) = f
        .store
        .load_with_fields(&k, &["a", "b", "nope"])
        .await
        .unwrap();
    assert_eq!(state, f.store.load(&k).await.unwrap());
    assert_eq!(state.map(|s| s.version), Some(1));
    assert_eq!(
        fields,
        f.store.get_fields(&k, &["a", "b", "nope"]).await.unwrap()
    );
    assert_eq!(fields, vec![Some("2".into()), Some("x".into()), None]);

    // Remember-then-complete: the record, and the gate moves on as after `complete`.
    let policy = GatePolicy::default();
    let one = Sequence::new(1).unwrap();
    let two = Sequence::new(2).unwrap();
    assert!(matches!(
        f.store.gate(&k, "st", one, &policy).await.unwrap(),
        GateDecision::Apply { .. }
    ));
    let ttl = Duration::from_secs(60);
    assert!(
        f.store
            .remember_then_complete(&k, "sent", "m1", ttl, "st", one)
            .await
            .unwrap()
    );
    assert!(f.store.is_remembered(&k, "sent", "m1").await.unwrap());
    assert_eq!(
        f.store.gate(&k, "st", one, &policy).await.unwrap(),
        GateDecision::Duplicate
    );
    assert!(matches!(
        f.store.gate(&k, "st", two, &policy).await.unwrap(),
        GateDecision::Apply { .. }
    ));
    assert!(
        !f.store
            .remember_then_complete(&k, "sent", "m1", ttl, "st", one)
            .await
            .unwrap(),
        "already recorded; an older sequence changes nothing"
    );
    assert!(
        matches!(
            f.store.gate(&k, "st", two, &policy).await.unwrap(),
            GateDecision::Wait { .. }
        ),
        "the claim on 2 is still held"
    );

    // Set-fields-then-complete: the facts, and the gate moves on as after `complete`.
    f.store
        .set_fields_then_complete(&k, &[("done", "e2"), ("b", "y")], "st", two)
        .await
        .unwrap();
    assert_eq!(
        f.store.get_fields(&k, &["done", "b"]).await.unwrap(),
        vec![Some("e2".into()), Some("y".into())]
    );
    assert_eq!(
        f.store.gate(&k, "st", two, &policy).await.unwrap(),
        GateDecision::Duplicate
    );
    assert!(matches!(
        f.store
            .gate(&k, "st", Sequence::new(3).unwrap(), &policy)
            .await
            .unwrap(),
        GateDecision::Apply { .. }
    ));

    // Allocate-recording: the facts, a number per id (the same for a retry), and the mark
    // raised to it, never lowered.
    let r = key("biz", 23);
    let first = f
        .store
        .allocate_recording(&r, None, &[("cap", "a")], "in", Some("m1"), Some("active"))
        .await
        .unwrap();
    let second = f
        .store
        .allocate_recording(&r, None, &[("cap", "b")], "in", Some("m2"), Some("active"))
        .await
        .unwrap();
    let retried = f
        .store
        .allocate_recording(&r, None, &[("cap", "c")], "in", Some("m1"), Some("active"))
        .await
        .unwrap();
    let typing = f
        .store
        .allocate_recording(&r, None, &[], "in", Some("m3"), None)
        .await
        .unwrap();
    let number = |s: Option<Sequence>| s.map(Sequence::get);
    assert_eq!(
        (
            number(first),
            number(second),
            number(retried),
            number(typing)
        ),
        (Some(1), Some(2), Some(1), Some(3))
    );
    // A message remembered as published: nothing is allocated or recorded.
    f.store
        .remember(&r, "apple", "m4", Duration::from_secs(60))
        .await
        .unwrap();
    let seen = f
        .store
        .allocate_recording(
            &r,
            Some(("apple", "m4")),
            &[("cap", "d")],
            "in",
            Some("m4"),
            Some("active"),
        )
        .await
        .unwrap();
    assert_eq!(seen, None);
    let fresh = f
        .store
        .allocate_recording(
            &r,
            Some(("apple", "m5")),
            &[("cap", "c")],
            "in",
            Some("m5"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(number(fresh), Some(4), "m4 took no number");
    assert_eq!(
        f.store.get_fields(&r, &["cap", "active"]).await.unwrap(),
        vec![Some("c".into()), Some("2".into())],
        "the latest facts; the mark at 2 (a retry of 1 does not lower it, no raise for 3)"
    );
}

async fn consent_records_per_topic(make: Make) {
    let f = make(settings());
    let k = key("biz", 22);
    assert_eq!(f.store.consent(&k, "orders").await.unwrap(), None);
    f.store
        .set_consent(&k, "orders", Bytes::from_static(b"in"))
        .await
        .unwrap();
    f.store
        .set_consent(&k, "promos", Bytes::from_static(b"out"))
        .await
        .unwrap();
    f.store
        .set_consent(&k, "orders", Bytes::from_static(b"out"))
        .await
        .unwrap();
    assert_eq!(
        f.store.consent(&k, "orders").await.unwrap().as_deref(),
        Some(&b"out"[..])
    );
    assert_eq!(
        f.store.consent(&k, "promos").await.unwrap().as_deref(),
        Some(&b"out"[..])
    );
    assert_eq!(
        f.store.consent(&key("biz", 23), "orders").await.unwrap(),
        None
    );
}
