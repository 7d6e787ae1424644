//! The platform as separate `parley <service>` processes over private nats-server and
//! redis-server, with the simulator in the test as Apple.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use parley::{demo_business, up::simulator_secret};
use parley_apple_sim::{SimConfig, Simulator};
use parley_testkit::{NatsServer, RedisServer};

use crate::support::status_of;

/// The services, in start order.
pub const SERVICES: [&str; 6] = [
    "ingest",
    "routing",
    "bot",
    "agent-gateway",
    "notification-consent",
    "outbound",
];

/// One service process.
pub struct Service {
    pub name: &'static str,
    pub admin: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The running mesh.
pub struct Mesh {
    pub nats: NatsServer,
    pub redis: RedisServer,
    pub sim: Simulator,
    pub dir: tempfile::TempDir,
    pub config_file: PathBuf,
    pub grpc: String,
    /// The notification API's base URL.
    pub notification_api: String,
    pub services: Vec<Service>,
    /// Where every service exports its spans, if anywhere.
    pub otlp: Option<String>,
}

/// A port for a service this test starts as a process (reserved across test processes,
/// outside the range outgoing connections draw from).
pub fn free_port() -> u16 {
    parley_testkit::free_port().unwrap()
}

impl Mesh {
    /// Starts everything (`log_filter` for every service) and waits for every `/readyz`.
    pub async fn start(log_filter: &str) -> Self {
        Self::start_with(log_filter, None).await
    }

    /// [`Mesh::start`], every service exporting its spans to `otlp` when set.
    pub async fn start_with(log_filter: &str, otlp: Option<String>) -> Self {
        parley_testkit::init_tracing();
        let nats = NatsServer::start().unwrap();
        let redis = RedisServer::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ingest_port = free_port();
        let secret = simulator_secret();
        let sim = Simulator::start(
            SimConfig {
                msp_id: "parley-dev-msp".into(),
                secret_base64: secret.clone(),
                businesses: vec![demo_business::BUSINESS_ID.into()],
                msp_webhook_url: Some(format!("http://127.0.0.1:{ingest_port}/message")),
            },
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        )
        .await
        .unwrap();
        let prefix = parley_testkit::prefix();
        let config_file = dir.path().join("parley.toml");
        std::fs::write(
            &config_file,
            format!(
                r#"[msp]
id = "parley-dev-msp"
secret = "{secret}"
apple_base_url = "{apple}"
[nats]
url = "{nats}"
prefix = "{prefix}"
[redis]
url = "{redis}"
key_prefix = "{prefix}:"
[ingest]
listen = "127.0.0.1:{ingest_port}"
[admin]
shutdown_grace = "5s"
[blobs]
url = "file://{blobs}"
[telemetry]
log_format = "text"
log_filter = "{log_filter}"
[[businesses]]
id = "{business}"
name = "{name}"
"#,
                apple = sim.api_base_url(),
                nats = nats.url(),
                redis = redis.url(),
                blobs = dir.path().join("blobs").display(),
                business = demo_business::BUSINESS_ID,
                name = demo_business::BUSINESS_NAME,
            ),
        )
        .unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir(&rules).unwrap();
        std::fs::write(
            rules.join(format!("{}.toml", demo_business::BUSINESS_ID)),
            demo_business::RULES,
        )
        .unwrap();
        let knowledge = dir.path().join("knowledge");
        std::fs::create_dir(&knowledge).unwrap();
        std::fs::write(knowledge.join("acme.toml"), demo_business::KNOWLEDGE).unwrap();
        let agents = dir.path().join("agents.toml");
        std::fs::write(&agents, demo_business::AGENTS).unwrap();
        let grpc = format!("127.0.0.1:{}", free_port());
        // The demo policies without quiet hours: the test runs at any time of day.
        let policies = dir.path().join("policies.toml");
        let without_quiet_hours: String = demo_business::POLICIES
            .lines()
            .filter(|l| !l.starts_with("quiet_hours"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&policies, without_quiet_hours).unwrap();
        let notification_listen = format!("127.0.0.1:{}", free_port());
        let notification_grpc = format!("127.0.0.1:{}", free_port());
        let services = SERVICES
            .iter()
            .map(|name| Service {
                name,
                admin: free_port(),
                args: match *name {
                    "routing" => vec!["--rules-dir".into(), rules.display().to_string()],
                    "bot" => vec!["--knowledge-dir".into(), knowledge.display().to_string()],
                    "agent-gateway" => vec![
                        "--agents-file".into(),
                        agents.display().to_string(),
                        "--listen".into(),
                        grpc.clone(),
                    ],
                    "notification-consent" => vec![
                        "--policies-file".into(),
                        policies.display().to_string(),
                        "--listen".into(),
                        notification_listen.clone(),
                        "--grpc-listen".into(),
                        notification_grpc.clone(),
                    ],
                    _ => vec![],
                },
                child: None,
            })
            .collect();
        let mut mesh = Self {
            nats,
            redis,
            sim,
            dir,
            config_file,
            grpc,
            notification_api: format!("http://{notification_listen}"),
            services,
            otlp,
        };
        for i in 0..mesh.services.len() {
            mesh.spawn(i);
        }
        for i in 0..mesh.services.len() {
            mesh.wait_ready(i).await;
        }
        mesh
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    /// Starts service `i` (its log is appended to).
    pub fn spawn(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(self.services[i].name))
            .unwrap();
        let service = &self.services[i];
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
        match &self.otlp {
            Some(endpoint) => command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            None => command.env_remove("OTEL_EXPORTER_OTLP_ENDPOINT"),
        };
        let child = command
            .arg(service.name)
            .args(&service.args)
            .arg("--config")
            .arg(&self.config_file)
            .env(
                "PARLEY_ADMIN__LISTEN",
                format!("127.0.0.1:{}", service.admin),
            )
            .env_remove("RUST_LOG")
            .env_remove("PARLEY_CONFIG")
            .env_remove("PARLEY_NATS_URL")
            .env_remove("PARLEY_REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start parley {}: {e}", service.name));
        self.services[i].child = Some(child);
    }

    /// Waits (at most 60 s) for service `i`'s `/readyz`. Readiness has no event to await,
    /// so it is polled.
    pub async fn wait_ready(&mut self, i: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let url = format!("http://127.0.0.1:{}/readyz", self.services[i].admin);
        while status_of(&url).await != 200 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "parley {} not ready within 60 s\n{}",
                self.services[i].name,
                self.logs()
            );
            if let Some(child) = self.services[i].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "parley {} exited: {status}\n{}",
                    self.services[i].name,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM to service `i`; its exit status, or `None` if it did not exit within `within`.
    pub async fn terminate(&mut self, i: usize, within: Duration) -> Option<ExitStatus> {
        let mut child = self.services[i].child.take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every service's log.
    pub fn logs(&self) -> String {
        SERVICES
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.log_path(name)).unwrap_or_default();
                format!("--- parley {name}\n{text}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Where the logs are.
    pub fn log_dir(&self) -> &Path {
        self.dir.path()
    }
}
