//! `/readyz` touches real NATS and Redis: ready with both, not ready (naming the failing
//! dependency) while one is down, ready again after it is back.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{sync::Arc, time::Duration};

use parley_bus::{JetStreamBus, JetStreamOptions};
use parley_runtime::{AdminServer, BusCheck, ReadinessCheck, StoreCheck};
use parley_state::{RedisStore, RedisStoreOptions, StoreSettings};
use parley_testkit::{NatsServer, RedisServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

async fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

async fn until_status(port: u16, want: u16) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(port, "/readyz").await;
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_readyz_follows_nats_and_redis() {
    let mut nats = NatsServer::start().unwrap();
    let mut redis = RedisServer::start().unwrap();
    let bus = JetStreamBus::connect(&JetStreamOptions::new(nats.url()))
        .await
        .unwrap();
    let store = RedisStore::connect(
        &RedisStoreOptions::new(redis.url()),
        StoreSettings::default(),
    )
    .unwrap();
    let checks: Vec<Arc<dyn ReadinessCheck>> = vec![
        Arc::new(BusCheck(Arc::new(bus))),
        Arc::new(StoreCheck(Arc::new(store))),
    ];
    let shutdown = CancellationToken::new();
    let stop_server = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(
        AdminServer::new(checks, None, shutdown.clone()).serve(listener, stop_server.clone()),
    );

    assert_eq!(get(port, "/livez").await.0, 200);
    let body = until_status(port, 200).await;
    assert!(
        body.contains("nats: ok") && body.contains("redis: ok"),
        "{body}"
    );

    redis.kill().unwrap();
    let body = until_status(port, 503).await;
    assert!(
        body.contains("nats: ok") && body.contains("redis: store unavailable"),
        "{body}"
    );
    redis.restart().unwrap();
    until_status(port, 200).await;

    nats.kill().unwrap();
    let body = until_status(port, 503).await;
    // Until the client has seen the connection drop, its health request goes unanswered
    // (on a loaded machine that can outlast the check's bound): either says NATS is down.
    assert!(
        (body.contains("nats: bus unhealthy") || body.contains("nats: no answer within"))
            && body.contains("redis: ok"),
        "{body}"
    );
    nats.restart().unwrap();
    until_status(port, 200).await;

    shutdown.cancel();
    let (status, body) = get(port, "/readyz").await;
    assert_eq!((status, body.as_str()), (503, "shutting down\n"));
    assert_eq!(get(port, "/livez").await.0, 200, "alive while draining");
    stop_server.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("admin server stops")
        .unwrap()
        .unwrap();
}
