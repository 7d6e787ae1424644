//! The agent gateway service: state, consumer, gRPC server and running.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use parley_bus::{ConsumeOptions, ConsumerSpec, Namespace, StreamKind, Topology, run_consumer};
use parley_proto::v1::agent_gateway_server::AgentGatewayServer;
use parley_runtime::{Backends, PlatformConfig, ServiceContext};
use parley_state::{AgentPool, RedisStore, RedisStoreOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    agents::Agents,
    delivery::{DeliveryHandler, delivery_consumer_spec},
    desk::{Desk, GatewayOptions},
    grpc::GatewayService,
    handler,
    store::GatewayStore,
    system_lines::{SystemLines, conversation_consumer_spec},
};

/// The durable consumer the gateway reads `amb.agent` with (shared by every replica).
/// Waiting at the ordering gate for an earlier task of the conversation is a redelivery
/// too, so the consume loop's dead-letter threshold is set out of reach (as outbound does):
/// malformed tasks are dead-lettered at once, backend failures retry until healed.
pub fn consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Agent, "agent-gateway").with_max_deliver(u32::MAX)
}

/// The gateway's command line: the platform's, plus where agents and gRPC live.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Parley's agent gateway: live agents over gRPC.")]
pub struct GatewayArgs {
    /// The platform's arguments.
    #[command(flatten)]
    pub service: parley_runtime::ServiceArgs,
    /// The agents file (TOML: `[[agents]]` and `[[canned]]`).
    #[arg(long)]
    pub agents_file: PathBuf,
    /// Where the gRPC server listens.
    #[arg(long, default_value = "0.0.0.0:50051")]
    pub listen: SocketAddr,
    /// Where the web console listens (HTTP); without it, no console.
    #[arg(long)]
    pub console_listen: Option<SocketAddr>,
    /// The console is reached over HTTPS (a TLS-terminating proxy in front): its session
    /// cookie is marked `Secure`.
    #[arg(long)]
    pub console_secure_cookies: bool,
    /// How long an agent's session lasts after sign-in (gRPC and console), for example
    /// `8h` or `30m`; sign-out and an operator's revocation end it sooner.
    #[arg(long, default_value = "12h", value_parser = session_lifetime)]
    pub session_lifetime: Duration,
}

/// A session lifetime: a duration like `8h`, from one minute to 30 days.
fn session_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = humantime_serde::re::humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like \"8h\": {e}"))?;
    if lifetime < Duration::from_secs(60) || lifetime > Duration::from_secs(30 * 24 * 3600) {
        return Err(format!("`{text}` is outside 1m to 30 days"));
    }
    Ok(lifetime)
}

/// What the gateway is built from.
pub struct GatewayParts {
    /// The platform configuration.
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// The agents and canned responses.
    pub agents: Agents,
    /// Tunables.
    pub options: GatewayOptions,
}

/// The agent gateway.
pub struct AgentGatewayService {
    service: GatewayService,
    spec: ConsumerSpec,
    delivery_spec: ConsumerSpec,
    conversation_spec: ConsumerSpec,
    drain: std::time::Duration,
    gate: parley_state::GatePolicy,
    console: Option<(TcpListener, crate::console::ConsoleOptions)>,
}

impl AgentGatewayService {
    /// Connects the gateway's Redis keys and the agent pool, and creates the consumer.
    pub async fn new(parts: GatewayParts, stop: CancellationToken) -> Result<Self, String> {
        let config = &parts.config;
        let store = GatewayStore::connect(
            &config.redis.url,
            &config.redis.key_prefix,
            config.redis.retention,
        )
        .await
        .map_err(|e| format!("invalid setting `redis.url`: {e}"))?;
        let pool: Arc<dyn AgentPool> = Arc::new(
            RedisStore::connect(
                &RedisStoreOptions::new(config.redis.url.clone()),
                config.redis.store_settings(),
            )
            .map_err(|e| format!("invalid setting `redis.url`: {e}"))?,
        );
        Self::build(parts, store, pool, stop).await
    }

    /// One gateway in this process over the given agent pool (routing's, the embedded
    /// store's), with its sessions and agent logs in memory: `parley up` without Redis.
    /// Only one such gateway can serve an agent (nothing is shared between processes).
    pub async fn in_process(
        parts: GatewayParts,
        pool: Arc<dyn AgentPool>,
        stop: CancellationToken,
    ) -> Result<Self, String> {
        let store = GatewayStore::in_memory(parts.config.redis.retention);
        Self::build(parts, store, pool, stop).await
    }

    async fn build(
        parts: GatewayParts,
        store: GatewayStore,
        pool: Arc<dyn AgentPool>,
        stop: CancellationToken,
    ) -> Result<Self, String> {
        let config = &parts.config;
        let namespace = parts.backends.namespace.clone();
        let spec = consumer_spec(&namespace);
        let delivery_spec = delivery_consumer_spec(&namespace);
        let conversation_spec = conversation_consumer_spec(&namespace);
        parts
            .backends
            .bus
            .ensure(
                &Topology::default()
                    .with_consumer(spec.clone())
                    .with_consumer(delivery_spec.clone())
                    .with_consumer(conversation_spec.clone()),
            )
            .await
            .map_err(|e| format!("agent-gateway consumer: {e}"))?;
        Ok(Self {
            service: GatewayService {
                desk: Arc::new(Desk {
                    agents: parts.agents,
                    blobs: crate::attachments::Blobs::new(config.blobs.clone()),
                    store,
                    conversations: parts.backends.store.clone(),
                    pool,
                    bus: parts.backends.bus.clone(),
                    namespace,
                    partitions: config.partitions,
                    options: parts.options,
                    stop,
                }),
            },
            spec,
            delivery_spec,
            conversation_spec,
            drain: config.admin.shutdown_grace,
            gate: parley_state::GatePolicy {
                gap_timeout: config.outbound.gap_timeout,
                lease: config.outbound.claim_lease,
                max_attempts: config.events.max_attempts,
            },
            console: None,
        })
    }

    /// Also serves the web console (HTTP) on `listener`, over the same desk as gRPC.
    #[must_use]
    pub fn with_console(
        mut self,
        listener: TcpListener,
        options: crate::console::ConsoleOptions,
    ) -> Self {
        self.console = Some((listener, options));
        self
    }

    /// Serves gRPC on `listener` and consumes `amb.agent` (and the agents' delivery results
    /// on `amb.events.delivery`, the lifecycle changes on `amb.events.conversation` for the
    /// transcript's system lines) until the stop token given to
    /// [`AgentGatewayService::new`] fires.
    pub async fn run(self, listener: TcpListener) -> Result<(), String> {
        let inner = self.service.desk.clone();
        let stop = inner.stop.clone();
        let consumer = run_consumer(
            inner.bus.clone(),
            &inner.namespace,
            &self.spec,
            handler::handler(inner.store.clone(), inner.conversations.clone(), self.gate),
            // Gated: a conversation holds at most ordered::PER_CONVERSATION deliveries.
            parley_runtime::ordered::consume_options(self.drain),
            stop.clone(),
        );
        let deliveries = run_consumer(
            inner.bus.clone(),
            &inner.namespace,
            &self.delivery_spec,
            Arc::new(DeliveryHandler {
                store: inner.store.clone(),
                agents: inner.agents.clone(),
            }),
            ConsumeOptions {
                drain_timeout: self.drain,
                ..ConsumeOptions::default()
            },
            stop.clone(),
        );
        let lifecycle = run_consumer(
            inner.bus.clone(),
            &inner.namespace,
            &self.conversation_spec,
            Arc::new(SystemLines {
                conversations: inner.conversations.clone(),
                agents: inner.agents.clone(),
                store: inner.store.clone(),
            }),
            ConsumeOptions {
                drain_timeout: self.drain,
                ..ConsumeOptions::default()
            },
            stop.clone(),
        );
        // grpc.health.v1: SERVING while running, NOT_SERVING from the moment the stop
        // token fires (the drain), for Kubernetes gRPC probes and load balancers.
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<AgentGatewayServer<GatewayService>>()
            .await;
        let watch_stop = stop.clone();
        tokio::spawn(async move {
            watch_stop.cancelled().await;
            health
                .set_not_serving::<AgentGatewayServer<GatewayService>>()
                .await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        });
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(parley_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| format!("grpc reflection: {e}"))?;
        let server = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection)
            .add_service(AgentGatewayServer::new(self.service))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                stop.clone().cancelled_owned(),
            );
        let console = async {
            let Some((listener, options)) = self.console else {
                return Ok(());
            };
            let router = crate::console::router(inner.clone(), options);
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.clone().cancelled_owned())
                .await
        };
        let (consumed, delivered, lines, served, console) =
            tokio::join!(consumer, deliveries, lifecycle, server, console);
        console.map_err(|e| format!("console server: {e}"))?;
        let report = consumed.map_err(|e| format!("agent-gateway consumer: {e}"))?;
        let deliveries = delivered.map_err(|e| format!("agent-gateway delivery consumer: {e}"))?;
        let lines = lines.map_err(|e| format!("agent-gateway conversation consumer: {e}"))?;
        tracing::info!(?report, ?deliveries, ?lines, "agent gateway drained");
        served.map_err(|e| format!("grpc server: {e}"))
    }
}

impl GatewayArgs {
    /// The agent-facing tunables these arguments set.
    pub fn options(&self) -> GatewayOptions {
        GatewayOptions {
            session_ttl: self.session_lifetime,
            ..GatewayOptions::default()
        }
    }

    /// Where these arguments say to serve.
    pub fn serving(&self) -> Listen {
        Listen {
            grpc: self.listen,
            console: self.console_listen.map(|address| {
                (
                    address,
                    crate::console::ConsoleOptions {
                        secure_cookies: self.console_secure_cookies,
                    },
                )
            }),
        }
    }
}

/// Where the gateway serves.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The gRPC API.
    pub grpc: SocketAddr,
    /// The web console, and how; `None`: no console.
    pub console: Option<(SocketAddr, crate::console::ConsoleOptions)>,
}

/// Runs the gateway as a service.
pub async fn run(
    ctx: ServiceContext,
    agents: Agents,
    listen: Listen,
    options: GatewayOptions,
) -> Result<(), String> {
    let grpc = listen.grpc;
    let listener = TcpListener::bind(grpc)
        .await
        .map_err(|e| format!("--listen {grpc}: {e}"))?;
    tracing::info!(listen = %grpc, "agent gateway gRPC listening");
    let console = match listen.console {
        Some((address, options)) => {
            let console = TcpListener::bind(address)
                .await
                .map_err(|e| format!("--console-listen {address}: {e}"))?;
            tracing::info!(listen = %address, "agent console listening");
            Some((console, options))
        }
        None => None,
    };
    let gateway = AgentGatewayService::new(
        GatewayParts {
            config: ctx.config.clone(),
            backends: ctx.backends.clone(),
            agents,
            options,
        },
        ctx.shutdown.token(),
    )
    .await?;
    let gateway = match console {
        Some((console, options)) => gateway.with_console(console, options),
        None => gateway,
    };
    gateway.run(listener).await
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn the_session_lifetime_is_a_bounded_duration() {
        let args = |extra: &[&str]| {
            let mut all = vec!["parley-agent-gateway", "--agents-file", "agents.toml"];
            all.extend_from_slice(extra);
            GatewayArgs::try_parse_from(all)
        };
        let default = args(&[]).unwrap();
        assert_eq!(
            default.options().session_ttl,
            Duration::from_secs(12 * 3600)
        );
        let eight = args(&["--session-lifetime", "8h"]).unwrap();
        assert_eq!(eight.options().session_ttl, Duration::from_secs(8 * 3600));
        for bad in ["10s", "31days", "soon"] {
            let error = args(&["--session-lifetime", bad]).unwrap_err().to_string();
            assert!(error.contains(bad), "{bad}: {error}");
        }
    }
}
