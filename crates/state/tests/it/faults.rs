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
