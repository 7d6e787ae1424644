//! Restart redis-server during compare-and-set load: no panic, errors while it is down,
//! and the store recovers by itself.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use parley_state::{CasOutcome, StoreSettings};

use crate::support::{key, redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_restart_redis_during_cas_load_recovers_by_itself() {
    let mut f = redis(StoreSettings::default());
    let ok = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (store, ok, errors, stop) = (f.store.clone(), ok.clone(), errors.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let k = key("biz", worker);
            while !stop.load(Ordering::SeqCst) {
                let attempt = async {
                    let version = store.load(&k).await?.map_or(0, |v| v.version);
                    store
                        .compare_and_set(&k, version, Bytes::from_static(b"x"))
                        .await
                };
                match attempt.await {
                    Ok(CasOutcome::Applied { .. } | CasOutcome::Conflict { .. }) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(error) => {
                        assert!(error.is_retryable(), "{error}");
                        errors.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    let wait_until = |what: &'static str, cond: Box<dyn Fn() -> bool + Send>| async move {
        let started = Instant::now();
        while !cond() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let ok_probe = ok.clone();
    wait_until(
        "load to start",
        Box::new(move || ok_probe.load(Ordering::SeqCst) > 200),
    )
    .await;

    let server = f.redis.as_mut().unwrap();
    server.kill().expect("kill redis-server");
    let errors_probe = errors.clone();
    wait_until(
        "errors while Redis is down",
        Box::new(move || errors_probe.load(Ordering::SeqCst) > 0),
    )
    .await;
    assert!(
        f.store.health().await.is_err(),
        "health must fail while Redis is down"
    );
    server.restart().expect("restart redis-server");

    let after_restart = ok.load(Ordering::SeqCst);
    let ok_probe = ok.clone();
    wait_until(
        "recovery after restart",
        Box::new(move || ok_probe.load(Ordering::SeqCst) > after_restart + 200),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("no worker panicked");
    }
    f.store.health().await.expect("healthy again");
    eprintln!(
        "{} operations succeeded, {} failed while Redis was down",
        ok.load(Ordering::SeqCst),
        errors.load(Ordering::SeqCst)
    );
}

/// A real lost reply: Redis is paused (`CLIENT PAUSE`) while the gate is asked, the call
/// times out, and the script runs after the caller gave up, granting a claim nobody knows it
/// holds. Its holder drops it by its token once Redis answers again, so the next attempt goes
/// in at once instead of after the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_gate_reply_lost_to_a_timeout_leaves_a_claim_its_token_releases() {
    use parley_state::{
        ClaimToken, ConversationStore as _, GateDecision, GatePolicy, RedisStore, RedisStoreOptions,
    };
    use parley_types::Sequence;

    let f = redis(StoreSettings::default());
    let server = f.redis.as_ref().unwrap();
    let mut options = RedisStoreOptions::new(server.url());
    options.response_timeout = Duration::from_millis(200);
    let settings = StoreSettings {
        key_prefix: format!("{}:", parley_testkit::prefix()),
        ..StoreSettings::default()
    };
    let store = RedisStore::connect(&options, settings).unwrap();
    let k = key("biz", 31);
    let one = Sequence::new(1).unwrap();
    let policy = GatePolicy {
        lease: Duration::from_secs(120),
        ..GatePolicy::default()
    };
    // Warm the connection and load the scripts before the pause (a script Redis does not know
    // yet would answer NOSCRIPT after it, and not run).
    let warm = key("biz", 32);
    store
        .gate_claim(&warm, "s", one, &policy, ClaimToken::fresh())
        .await
        .unwrap();
    store
        .release_claim(&warm, "s", one, ClaimToken::fresh())
        .await
        .unwrap();
    let admin = redis::Client::open(server.url()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let token = ClaimToken::fresh();
    let error = store
        .gate_claim(&k, "s", one, &policy, token)
        .await
        .expect_err("the reply must time out while Redis is paused");
    assert!(error.is_retryable(), "{error}");
    // Retried until Redis answers (bounded). The releases queue behind the lost call, so the
    // first to run drops the claim and the others find nothing: each answer is true or false
    // by timing, and what matters is that the claim is gone.
    let started = Instant::now();
    while let Err(error) = store.release_claim(&k, "s", one, token).await {
        assert!(error.is_retryable(), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Redis never answered"
        );
    }
    // Attempt 2: the lost call did run and take the claim (attempt 1).
    assert_eq!(
        store
            .gate_claim(&k, "s", one, &policy, ClaimToken::fresh())
            .await
            .unwrap(),
        GateDecision::Apply {
            skipped: None,
            late: false,
            attempt: 2,
        },
        "the next attempt goes in at once"
    );
}
