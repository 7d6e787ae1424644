//! A gate answer lost after the gate ran (a timeout): the gate granted a claim its holder
//! never learnt of. `parley_runtime::ordered::admit` releases it by its claim token, so the
//! event's redelivery is applied at once instead of after the lease, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use parley_bus::Outcome;
use parley_runtime::ordered::{self, Admission};
use parley_state::{
    ConversationStore, EmbeddedStore, GatePolicy, RedisStore, RedisStoreOptions, StoreSettings,
    intercept::{Fault, Faulty},
};
use parley_testkit::RedisServer;
use parley_types::{ConversationKey, Sequence};

const STAGE: &str = "lost-reply-test";

/// `inner`, losing the answer of the first `lost` gate calls, and refusing the first
/// `refused` releases.
fn losing(inner: Arc<dyn ConversationStore>, lost: u32, refused: u32) -> Faulty {
    let gates = Arc::new(AtomicU32::new(0));
    let releases = Arc::new(AtomicU32::new(0));
    Faulty {
        inner,
        faults: Arc::new(move |operation| match operation {
            "gate_claim" if gates.fetch_add(1, Ordering::SeqCst) < lost => Fault::LoseReply,
            "release_claim" if releases.fetch_add(1, Ordering::SeqCst) < refused => Fault::Refuse,
            _ => Fault::Pass,
        }),
    }
}

async fn a_lost_gate_answer_does_not_hold_the_conversation_for_the_lease(
    inner: Arc<dyn ConversationStore>,
) {
    let key = ConversationKey::parse("biz-lost", "urn:mbid:lost").unwrap();
    // A lease far longer than the test's bound: waiting for it would fail the test.
    let policy = GatePolicy {
        lease: Duration::from_secs(300),
        ..GatePolicy::default()
    };
    let one = Sequence::new(1).unwrap();
    // The first answer is lost, and the first release after it fails too (it is retried).
    let store = losing(inner, 1, 1);
    let admitted = ordered::admit(&store, &key, STAGE, one, &policy).await;
    assert!(
        matches!(admitted, Admission::Settle(Outcome::Retry { .. })),
        "{admitted:?}"
    );
    // The redelivery, on any worker, is applied now; the lost grant was attempt 1.
    let claim = match ordered::admit(&store, &key, STAGE, one, &policy).await {
        Admission::Proceed(claim) => claim,
        other => panic!("the lost claim still holds the conversation: {other:?}"),
    };
    assert_eq!(claim.attempt, 2);
    assert_eq!(
        ordered::finish(&store, &key, claim, &policy, Outcome::Ack).await,
        Outcome::Ack
    );
    let two = Sequence::new(2).unwrap();
    assert!(matches!(
        ordered::admit(&store, &key, STAGE, two, &policy).await,
        Admission::Proceed(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_lost_gate_answer_does_not_hold_the_conversation_for_the_lease() {
    parley_testkit::init_tracing();
    let store = Arc::new(EmbeddedStore::new(StoreSettings::default()));
    a_lost_gate_answer_does_not_hold_the_conversation_for_the_lease(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_lost_gate_answer_does_not_hold_the_conversation_for_the_lease() {
    parley_testkit::init_tracing();
    let redis = RedisServer::start().unwrap();
    let settings = StoreSettings {
        key_prefix: format!("{}:", parley_testkit::prefix()),
        ..StoreSettings::default()
    };
    let store =
        Arc::new(RedisStore::connect(&RedisStoreOptions::new(redis.url()), settings).unwrap());
    a_lost_gate_answer_does_not_hold_the_conversation_for_the_lease(store).await;
}
