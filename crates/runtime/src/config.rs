//! The platform's one configuration model.
//!
//! Layers, later ones winning: built-in defaults (which work with `docker-compose.yml`), an
//! optional TOML file, then `PARLEY_*` variables with `__` between nesting levels
//! (`PARLEY_NATS__URL`, `PARLEY_MSP__SECRET`, `PARLEY_PARTITIONS`). The standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` and `RUST_LOG` keep their meaning. Unknown settings are
//! refused, so a typo cannot silently fall back to a default.
//!
//! Services extend this model with their own sections in later versions instead of loading
//! a second configuration.

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Format as _, Serialized, Toml},
};
use parley_bus::BusSettings;
use parley_state::StoreSettings;
use parley_types::{BusinessId, PartitionCount};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Secret};

/// The whole platform's configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformConfig {
    /// The MSP's identity with Apple.
    pub msp: MspConfig,
    /// NATS JetStream.
    pub nats: NatsConfig,
    /// Redis.
    pub redis: RedisConfig,
    /// How many partitions conversations are split into (the last subject token). Fixed for
    /// the life of the streams.
    pub partitions: PartitionCount,
    /// The admin server.
    pub admin: AdminConfig,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// The businesses this MSP serves.
    pub businesses: Vec<BusinessConfig>,
    /// Where attachments and large interactive payloads are kept.
    pub blobs: BlobStoreConfig,
    /// The ingest service.
    pub ingest: IngestConfig,
    /// The outbound service.
    pub outbound: OutboundConfig,
    /// The routing service.
    pub routing: RoutingSettings,
    /// How every service treats an event it cannot handle.
    pub events: EventSettings,
}

/// How every service treats an event it cannot handle (a poison message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventSettings {
    /// How many times a service starts handling one event (counted by the conversation's
    /// gate, across replicas, crashes and panics) before it dead-letters it and goes on with
    /// the conversation's next event. The retries back off from 1 s to 1 min, so the
    /// default, 15, gives an event about ten minutes (an outage of NATS or Redis shorter than
    /// that dead-letters nothing). Not outbound: its retries of Apple's transient answers and
    /// of its rate limit are starts too; `outbound.max_attempts` bounds it.
    pub max_attempts: u32,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            max_attempts: parley_state::GatePolicy::DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// The MSP's identity with Apple.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MspConfig {
    /// The MSP id Apple assigned (`aud` of Apple's tokens, `iss` of ours).
    pub id: String,
    /// Apple's API secret, Base64 as Apple delivers it. Prefer `PARLEY_MSP__SECRET` or
    /// `secret_file` to writing it in the file.
    pub secret: Option<Secret>,
    /// A file holding the secret (a Kubernetes Secret mount); surrounding white space is
    /// ignored.
    pub secret_file: Option<PathBuf>,
    /// Apple's MSP REST API base URL.
    pub apple_base_url: String,
}

impl Default for MspConfig {
    fn default() -> Self {
        Self {
            id: "parley-dev-msp".into(),
            secret: None,
            secret_file: None,
            apple_base_url: "https://mspgw.push.apple.com/v1".into(),
        }
    }
}

/// NATS JetStream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated.
    pub url: String,
    /// A prefix for every stream, subject and consumer (several deployments on one account);
    /// empty in a normal deployment.
    pub prefix: String,
    /// Stream replicas: 1 for one server, 3 in production clusters.
    pub replicas: usize,
    /// JetStream's `Nats-Msg-Id` duplicate window.
    #[serde(with = "humantime_serde")]
    pub duplicate_window: Duration,
    /// How long the internal work streams keep messages.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// How long the public `AMB_EVENTS` stream keeps events.
    #[serde(with = "humantime_serde")]
    pub events_max_age: Duration,
    /// How long dead letters are kept.
    #[serde(with = "humantime_serde")]
    pub dead_letter_max_age: Duration,
    /// Size bound of each work stream in bytes; past it publishing is refused (503 to Apple)
    /// instead of dropping old messages. 0 = unbounded.
    pub max_bytes: i64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        let bus = BusSettings::default();
        Self {
            url: "nats://127.0.0.1:4222".into(),
            prefix: String::new(),
            replicas: bus.replicas,
            duplicate_window: bus.duplicate_window,
            max_age: bus.max_age,
            events_max_age: bus.events_max_age,
            dead_letter_max_age: bus.dead_letter_max_age,
            max_bytes: bus.max_bytes,
        }
    }
}

impl NatsConfig {
    /// The stream settings for the bus crate.
    pub fn bus_settings(&self) -> BusSettings {
        BusSettings {
            replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            events_max_age: self.events_max_age,
            dead_letter_max_age: self.dead_letter_max_age,
            memory_storage: false,
            max_bytes: self.max_bytes,
        }
    }
}

/// Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// A prefix for every key; empty in a normal deployment.
    pub key_prefix: String,
    /// How long a conversation is kept after its last write (privacy by default).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long de-duplication records (Apple message ids, sent message ids) are kept;
    /// must not exceed `retention`.
    #[serde(with = "humantime_serde")]
    pub dedup_ttl: Duration,
    /// Transcript entries kept per conversation.
    pub transcript_cap: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        let store = StoreSettings::default();
        Self {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: String::new(),
            retention: store.retention,
            dedup_ttl: Duration::from_secs(7 * 24 * 3600),
            transcript_cap: store.transcript_cap,
        }
    }
}

impl RedisConfig {
    /// The store settings for the state crate.
    pub fn store_settings(&self) -> StoreSettings {
        StoreSettings {
            retention: self.retention,
            transcript_cap: self.transcript_cap,
            key_prefix: self.key_prefix.clone(),
        }
    }
}

/// The admin server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Where `/livez`, `/readyz` and `/metrics` are served.
    pub listen: SocketAddr,
    /// How long shutdown waits for in-flight work before exiting; keep it below Kubernetes'
    /// `terminationGracePeriodSeconds`.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 9090)),
            shutdown_grace: Duration::from_secs(25),
        }
    }
}

/// The log format setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormatSetting {
    /// JSON lines.
    #[default]
    Json,
    /// Text.
    Text,
}

/// Logs and traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// `json` or `text`.
    pub log_format: LogFormatSetting,
    /// The log filter (`RUST_LOG` overrides it).
    pub log_filter: String,
    /// The OTLP/gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` overrides it); unset = no export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormatSetting::Json,
            log_filter: "info".into(),
            otlp_endpoint: None,
        }
    }
}

/// Where attachments and large interactive payloads are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobStoreConfig {
    /// `file:///path` (a local directory, the default) or `s3://bucket/prefix`
    /// (S3-compatible; credentials and endpoint in `options`).
    pub url: String,
    /// Store options passed to `object_store` (for S3: `aws_endpoint`, `aws_region`,
    /// `aws_access_key_id`, `aws_secret_access_key`, `aws_allow_http`, …). Values may be
    /// secrets: they are never logged.
    pub options: std::collections::BTreeMap<String, Secret>,
}

impl Default for BlobStoreConfig {
    fn default() -> Self {
        Self {
            url: "file:///var/lib/parley/blobs".into(),
            options: std::collections::BTreeMap::new(),
        }
    }
}

/// The ingest service: Apple's webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Where `POST /message` is served.
    pub listen: SocketAddr,
    /// Bytes accepted on the wire per request.
    pub max_body_bytes: usize,
    /// Bytes accepted after decompression.
    pub max_decoded_bytes: usize,
    /// The oldest accepted token (`iat`); Apple's token lifetime is unknown.
    #[serde(with = "humantime_serde")]
    pub token_max_age: Duration,
    /// The time budget for downloading attachments and interactive data references within
    /// one webhook (Apple waits 30 s for the answer).
    #[serde(with = "humantime_serde")]
    pub download_budget: Duration,
    /// Attempts per attachment download before it is reported as failed.
    pub download_attempts: u32,
    /// The largest attachment downloaded (Apple's limit is 100 MB).
    pub max_attachment_bytes: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_body_bytes: 1 << 20,
            max_decoded_bytes: 4 << 20,
            token_max_age: Duration::from_secs(3600),
            download_budget: Duration::from_secs(20),
            download_attempts: 3,
            max_attachment_bytes: 100 * 1024 * 1024,
        }
    }
}

/// The outbound service: the last gate before Apple.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Messages per second each business may send (a token bucket per business and
    /// replica).
    pub rate_per_business: f64,
    /// The bucket's burst.
    pub burst_per_business: u32,
    /// Attempts before a retryable failure is given up and dead-lettered.
    pub max_attempts: u32,
    /// The first retry delay; each further one doubles, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    /// The longest retry delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// The longest one request to Apple may take.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Consecutive failures that open the circuit to Apple's base URL.
    pub breaker_failures: u32,
    /// How long the circuit stays open before one trial request.
    #[serde(with = "humantime_serde")]
    pub breaker_cooldown: Duration,
    /// How long a missing earlier message of a conversation is waited for before it is
    /// skipped (and reported).
    #[serde(with = "humantime_serde")]
    pub gap_timeout: Duration,
    /// How long a message's claim on its conversation lasts if the replica sending it dies
    /// (the conversation's next messages wait this long); longer than one send.
    #[serde(with = "humantime_serde")]
    pub claim_lease: Duration,
    /// Deliveries handled at once.
    pub max_in_flight: usize,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            rate_per_business: 50.0,
            burst_per_business: 100,
            max_attempts: 12,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(15),
            breaker_failures: 10,
            breaker_cooldown: Duration::from_secs(10),
            gap_timeout: Duration::from_secs(60),
            claim_lease: Duration::from_secs(60),
            max_in_flight: 256,
        }
    }
}

/// The routing service: where the businesses' rules are and its timings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSettings {
    /// The directory of routing rules, one `<business id>.toml` per business; a business
    /// without a file (or no directory) gets the built-in rules: one always-open queue
    /// `general`, the bot first.
    pub rules_dir: Option<PathBuf>,
    /// How often every queue is tried, response targets are checked and agents whose
    /// presence expired lose their conversations.
    #[serde(with = "humantime_serde")]
    pub tick: Duration,
    /// How long an agent's presence set through a routing command lasts without a refresh.
    #[serde(with = "humantime_serde")]
    pub presence_ttl: Duration,
    /// How long a missing earlier customer message is waited for before it is skipped; at
    /// least twice routing's ack wait (10 s) plus `claim_lease`, or a message redelivered
    /// after a crash could be skipped (routing refuses to start otherwise).
    #[serde(with = "humantime_serde")]
    pub gap_timeout: Duration,
    /// How long a conversation waits after a replica died while handling its message.
    #[serde(with = "humantime_serde")]
    pub claim_lease: Duration,
    /// How long the agent pool and a conversation's state may disagree about who holds it
    /// (a replica died between the two writes) before the tick repairs it.
    #[serde(with = "humantime_serde")]
    pub reconcile_after: Duration,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        Self {
            rules_dir: None,
            tick: Duration::from_secs(1),
            presence_ttl: Duration::from_secs(90),
            gap_timeout: Duration::from_secs(60),
            claim_lease: Duration::from_secs(15),
            reconcile_after: Duration::from_secs(10),
        }
    }
}

/// One business this MSP serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessConfig {
    /// Apple's business id.
    pub id: BusinessId,
    /// A display name.
    pub name: String,
}

/// Loads the configuration: defaults, then `file` (if given; it must exist), then the
/// `PARLEY_*` entries of `env` (the binary passes `std::env::vars()`), then validates it and
/// reads `msp.secret_file` if set.
pub fn load_config(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<PlatformConfig> {
    let mut figment = Figment::from(Serialized::defaults(PlatformConfig::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(Error::setting(
                "--config",
                format!("{} is not a readable file", path.display()),
            ));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    for (name, value) in env {
        match name.as_str() {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => {
                figment = figment.merge(Serialized::default("telemetry.otlp_endpoint", value));
            }
            "RUST_LOG" => {
                figment = figment.merge(Serialized::default("telemetry.log_filter", value));
            }
            "PARLEY_CONFIG" => {}
            _ => {
                if let Some(rest) = name.strip_prefix("PARLEY_") {
                    let path = rest.to_ascii_lowercase().replace("__", ".");
                    let parsed: figment::value::Value = value
                        .parse()
                        .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
                    figment = figment.merge(Serialized::default(&path, parsed));
                }
            }
        }
    }
    let mut config: PlatformConfig = figment.extract().map_err(describe_figment_error)?;
    config.resolve_secret()?;
    config.validate()?;
    Ok(config)
}

/// Turns figment's error into one naming the setting.
fn describe_figment_error(error: figment::Error) -> Error {
    let setting = error.path.join(".");
    let reason = error.kind.to_string();
    if setting.is_empty() {
        Error::Load(error.to_string())
    } else {
        Error::Setting { setting, reason }
    }
}

impl PlatformConfig {
    fn resolve_secret(&mut self) -> Result<()> {
        let Some(path) = self.msp.secret_file.clone() else {
            return Ok(());
        };
        if self.msp.secret.is_some() {
            return Err(Error::setting(
                "msp.secret_file",
                "set either msp.secret or msp.secret_file, not both",
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::setting(
                "msp.secret_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        self.msp.secret = Some(Secret::new(text.trim()));
        Ok(())
    }

    /// Checks every setting; the first wrong one is named in the error.
    pub fn validate(&self) -> Result<()> {
        if self.msp.id.trim().is_empty() {
            return Err(Error::setting("msp.id", "must not be empty"));
        }
        if self.msp.secret.as_ref().is_some_and(Secret::is_empty) {
            return Err(Error::setting("msp.secret", "is set but empty"));
        }
        check_url(
            "msp.apple_base_url",
            &self.msp.apple_base_url,
            &["https://", "http://"],
        )?;
        for url in self.nats.url.split(',') {
            check_url(
                "nats.url",
                url.trim(),
                &["nats://", "tls://", "ws://", "wss://"],
            )?;
        }
        if !self.nats.prefix.is_empty() {
            parley_bus::Namespace::prefixed(&self.nats.prefix)
                .map_err(|e| Error::setting("nats.prefix", e.to_string()))?;
        }
        if self.events.max_attempts == 0 {
            return Err(Error::setting("events.max_attempts", "must be at least 1"));
        }
        if !(1..=5).contains(&self.nats.replicas) {
            return Err(Error::setting("nats.replicas", "must be between 1 and 5"));
        }
        for (setting, value) in [
            ("nats.duplicate_window", self.nats.duplicate_window),
            ("nats.max_age", self.nats.max_age),
            ("nats.events_max_age", self.nats.events_max_age),
            ("nats.dead_letter_max_age", self.nats.dead_letter_max_age),
            ("redis.retention", self.redis.retention),
            ("redis.dedup_ttl", self.redis.dedup_ttl),
            ("routing.tick", self.routing.tick),
            ("routing.presence_ttl", self.routing.presence_ttl),
            ("routing.gap_timeout", self.routing.gap_timeout),
            ("routing.claim_lease", self.routing.claim_lease),
            ("routing.reconcile_after", self.routing.reconcile_after),
        ] {
            if value.is_zero() {
                return Err(Error::setting(setting, "must be longer than zero"));
            }
        }
        if self.nats.duplicate_window > self.nats.max_age {
            return Err(Error::setting(
                "nats.duplicate_window",
                "must not exceed nats.max_age",
            ));
        }
        if self.nats.max_bytes < 0 {
            return Err(Error::setting(
                "nats.max_bytes",
                "must be 0 (unbounded) or positive",
            ));
        }
        check_url(
            "redis.url",
            &self.redis.url,
            &["redis://", "rediss://", "unix://"],
        )?;
        if self.redis.dedup_ttl > self.redis.retention {
            return Err(Error::setting(
                "redis.dedup_ttl",
                "must not exceed redis.retention (records live inside the conversation's keys)",
            ));
        }
        if self.redis.transcript_cap == 0 {
            return Err(Error::setting("redis.transcript_cap", "must be at least 1"));
        }
        if !(self.blobs.url.starts_with("file://") || self.blobs.url.starts_with("s3://")) {
            return Err(Error::setting(
                "blobs.url",
                format!("{:?} must start with file:// or s3://", self.blobs.url),
            ));
        }
        if self.ingest.max_body_bytes == 0
            || self.ingest.max_decoded_bytes < self.ingest.max_body_bytes
        {
            return Err(Error::setting(
                "ingest.max_decoded_bytes",
                "must be at least ingest.max_body_bytes, which must be positive",
            ));
        }
        if self.ingest.download_attempts == 0 {
            return Err(Error::setting(
                "ingest.download_attempts",
                "must be at least 1",
            ));
        }
        if !self.outbound.rate_per_business.is_finite()
            || self.outbound.rate_per_business <= 0.0
            || self.outbound.burst_per_business == 0
        {
            return Err(Error::setting(
                "outbound.rate_per_business",
                "rate and burst_per_business must be positive",
            ));
        }
        if self.outbound.max_attempts == 0 {
            return Err(Error::setting(
                "outbound.max_attempts",
                "must be at least 1",
            ));
        }
        if self.outbound.backoff_initial.is_zero()
            || self.outbound.backoff_max < self.outbound.backoff_initial
        {
            return Err(Error::setting(
                "outbound.backoff_max",
                "backoff_initial must be positive and backoff_max at least backoff_initial",
            ));
        }
        if self.outbound.request_timeout.is_zero()
            || self.outbound.request_timeout > Duration::from_secs(30)
        {
            return Err(Error::setting(
                "outbound.request_timeout",
                "must be between 0 and 30 s",
            ));
        }
        let mut seen = HashSet::new();
        for (index, business) in self.businesses.iter().enumerate() {
            if !seen.insert(business.id.as_str()) {
                return Err(Error::setting(
                    &format!("businesses[{index}].id"),
                    format!("{} is listed twice", business.id),
                ));
            }
            if business.name.trim().is_empty() {
                return Err(Error::setting(
                    &format!("businesses[{index}].name"),
                    "must not be empty",
                ));
            }
        }
        Ok(())
    }

    /// Points the platform at a NATS server and a Redis server.
    pub fn with_backends(
        mut self,
        nats_url: impl Into<String>,
        redis_url: impl Into<String>,
    ) -> Self {
        self.nats.url = nats_url.into();
        self.redis.url = redis_url.into();
        self
    }

    /// Puts every stream, subject, consumer and Redis key under `prefix`, so several
    /// deployments (or tests) share one NATS account and one Redis without meeting.
    pub fn in_namespace(mut self, prefix: &str) -> Self {
        self.nats.prefix = prefix.to_owned();
        self.redis.key_prefix = format!("{prefix}:");
        self
    }

    /// Adds a business this MSP serves.
    pub fn with_business(mut self, id: BusinessId, name: impl Into<String>) -> Self {
        self.businesses.push(BusinessConfig {
            id,
            name: name.into(),
        });
        self
    }

    /// The business with this id, if served.
    pub fn business(&self, id: &BusinessId) -> Option<&BusinessConfig> {
        self.businesses.iter().find(|b| &b.id == id)
    }
}

fn check_url(setting: &str, value: &str, schemes: &[&str]) -> Result<()> {
    let Some(rest) = schemes.iter().find_map(|s| value.strip_prefix(s)) else {
        return Err(Error::setting(
            setting,
            format!("{value:?} must start with one of {}", schemes.join(", ")),
        ));
    };
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(Error::setting(
            setting,
            format!("{value:?} has no valid host"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_match_docker_compose() {
        let config = load_config(None, Vec::new()).unwrap();
        assert_eq!(config.nats.url, "nats://127.0.0.1:4222");
        assert_eq!(config.redis.url, "redis://127.0.0.1:6379");
        assert_eq!(config.partitions.get(), 16);
        assert!(config.msp.secret.is_none());
    }

    #[test]
    fn file_then_env_override() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "partitions = 8\n[nats]\nurl = \"nats://file:4222\"\nduplicate_window = \"5m\"\n\
             [[businesses]]\nid = \"biz-1\"\nname = \"Acme\""
        )
        .unwrap();
        let config = load_config(
            Some(file.path()),
            env(&[
                ("PARLEY_NATS__URL", "nats://env:4222"),
                ("PARLEY_MSP__SECRET", "c2VjcmV0"),
                ("PARLEY_REDIS__RETENTION", "10d"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(config.partitions.get(), 8);
        assert_eq!(config.nats.url, "nats://env:4222");
        assert_eq!(config.nats.duplicate_window, Duration::from_secs(300));
        assert_eq!(config.redis.retention, Duration::from_secs(10 * 86400));
        assert_eq!(config.msp.secret.as_ref().unwrap().expose(), "c2VjcmV0");
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://otel:4317")
        );
        assert_eq!(config.businesses[0].name, "Acme");
    }

    #[test]
    fn wrong_settings_are_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("PARLEY_NATS__URL", "http://x")], "nats.url"),
            (&[("PARLEY_PARTITIONS", "0")], "partitions"),
            (&[("PARLEY_PARTITIONS", "many")], "partitions"),
            (&[("PARLEY_REDIS__URL", "localhost")], "redis.url"),
            (
                &[("PARLEY_NATS__DUPLICATE_WINDOW", "soon")],
                "nats.duplicate_window",
            ),
            (&[("PARLEY_NATS__REPLICAS", "9")], "nats.replicas"),
            (&[("PARLEY_MSP__ID", "")], "msp.id"),
            (&[("PARLEY_ADMIN__LISTEN", "nowhere")], "admin.listen"),
            (&[("PARLEY_REDIS__DEDUP_TTL", "90d")], "redis.dedup_ttl"),
        ];
        for (vars, setting) in cases {
            let error = load_config(None, env(vars)).unwrap_err();
            assert!(
                error.to_string().contains(setting),
                "{vars:?}: {error} does not name {setting}"
            );
        }
    }

    #[test]
    fn unknown_settings_are_refused() {
        let error = load_config(None, env(&[("PARLEY_NATS__URLL", "nats://x:1")])).unwrap_err();
        assert!(error.to_string().contains("urll"), "{error}");
    }

    #[test]
    fn bad_business_ids_are_refused() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[[businesses]]\nid = \"a b\"\nname = \"x\"").unwrap();
        let error = load_config(Some(file.path()), Vec::new()).unwrap_err();
        assert!(error.to_string().contains("business"), "{error}");
    }

    #[test]
    fn secret_from_file_and_never_printed() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "  c2VjcmV0LWZyb20tZmlsZQ==  ").unwrap();
        let path = file.path().display().to_string();
        let config = load_config(None, env(&[("PARLEY_MSP__SECRET_FILE", &path)])).unwrap();
        let secret = config.msp.secret.as_ref().unwrap();
        assert_eq!(secret.expose(), "c2VjcmV0LWZyb20tZmlsZQ==");
        let shown = format!("{config:?} {}", toml::to_string(&config).unwrap());
        assert!(!shown.contains("c2VjcmV0LWZyb20tZmlsZQ"), "{shown}");

        let both = load_config(
            None,
            env(&[
                ("PARLEY_MSP__SECRET_FILE", &path),
                ("PARLEY_MSP__SECRET", "x"),
            ]),
        )
        .unwrap_err();
        assert!(both.to_string().contains("msp.secret_file"));
        let missing =
            load_config(None, env(&[("PARLEY_MSP__SECRET_FILE", "/nonexistent")])).unwrap_err();
        assert!(missing.to_string().contains("msp.secret_file"), "{missing}");
    }

    #[test]
    fn builders_set_backends_namespace_and_businesses() {
        let config = PlatformConfig::default()
            .with_backends("nats://10.0.0.1:4222", "redis://10.0.0.2:6379")
            .in_namespace("tenant-a")
            .with_business(BusinessId::new("biz-1").unwrap(), "Acme")
            .with_business(BusinessId::new("biz-2").unwrap(), "Globex");
        config.validate().unwrap();
        assert_eq!(config.nats.url, "nats://10.0.0.1:4222");
        assert_eq!(config.redis.url, "redis://10.0.0.2:6379");
        assert_eq!(config.nats.prefix, "tenant-a");
        assert_eq!(config.redis.key_prefix, "tenant-a:");
        let names: Vec<&str> = config.businesses.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["Acme", "Globex"]);
        // A namespace that cannot be a subject token is refused by validation.
        assert!(
            PlatformConfig::default()
                .in_namespace("a.b")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn missing_config_file_is_named() {
        let error = load_config(Some(Path::new("/nonexistent.toml")), Vec::new()).unwrap_err();
        assert!(error.to_string().contains("--config"), "{error}");
    }
}
