//! The service: its configuration, its consumer of `amb.inbound`, its HTTP server, running.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use parley_bus::{ConsumeOptions, ConsumerSpec, Namespace, StreamKind, Topology, run_consumer};
use parley_runtime::{Backends, PlatformConfig, ServiceContext};
use parley_state::GatePolicy;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use parley_proto::v1::notification_service_server::NotificationServiceServer;

use crate::{
    error::{Error, Result},
    grpc::GrpcApi,
    http::router,
    inbound::InboundHandler,
    ledger::Ledger,
    notify::Api,
    policy::Policies,
};

/// How long a message held by a replica that died comes back after.
pub const ACK_WAIT: Duration = Duration::from_secs(10);

/// The in-order gate: a claim whose holder died lapses after 15 s; a missing message is given
/// up on after 60 s (well past [`ACK_WAIT`] plus the lease, so a message of a replica killed
/// mid-work is redelivered before the gate could skip it).
pub const DEFAULT_GATE: GatePolicy = GatePolicy {
    gap_timeout: Duration::from_secs(60),
    lease: Duration::from_secs(15),
    max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
};

/// The default address of the notification API over HTTP.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8081";
/// The default address of the notification API over gRPC.
pub const DEFAULT_GRPC_LISTEN: &str = "0.0.0.0:50052";

/// Where the notification API listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// HTTP/JSON.
    pub http: SocketAddr,
    /// gRPC.
    pub grpc: SocketAddr,
}

/// The durable consumer of `amb.inbound` (waiting at the gate is a redelivery too, so the
/// dead-letter threshold is out of reach; poison messages are dead-lettered explicitly).
pub fn consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Inbound, "notification-consent")
        .with_max_deliver(u32::MAX)
        .with_ack_wait(ACK_WAIT)
}

/// What the service is configured with (built by the binary or `parley up`, never from the
/// environment).
#[derive(Debug, Clone)]
pub struct ConsentConfig {
    /// The businesses' policies and the API's clients.
    pub policies: Policies,
    /// The in-order gate ([`DEFAULT_GATE`]).
    pub gate: GatePolicy,
}

impl ConsentConfig {
    /// A configuration with the given policies and the default gate.
    pub fn new(policies: Policies) -> Self {
        Self {
            policies,
            gate: DEFAULT_GATE,
        }
    }
}

/// What the service is built from.
pub struct ConsentParts {
    /// The platform configuration (partitions, shutdown grace).
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// The service's own configuration.
    pub consent: ConsentConfig,
}

/// The notification-consent service.
pub struct NotificationConsent {
    api: Api,
    handler: Arc<InboundHandler>,
    spec: ConsumerSpec,
    options: ConsumeOptions,
}

impl NotificationConsent {
    /// Builds the service and creates its consumer.
    pub async fn new(parts: ConsentParts) -> Result<Self> {
        let namespace = parts.backends.namespace.clone();
        let spec = consumer_spec(&namespace);
        parts
            .backends
            .bus
            .ensure(&Topology::default().with_consumer(spec.clone()))
            .await?;
        let ledger = Ledger {
            store: parts.backends.store.clone(),
            bus: parts.backends.bus.clone(),
            namespace,
            partitions: parts.config.partitions,
        };
        let policies = Arc::new(parts.consent.policies);
        Ok(Self {
            api: Api {
                ledger: ledger.clone(),
                policies: policies.clone(),
            },
            handler: Arc::new(InboundHandler {
                ledger,
                policies,
                gate: parts.consent.gate,
            }),
            spec,
            // Gated: a conversation holds at most ordered::PER_CONVERSATION deliveries.
            options: parley_runtime::ordered::consume_options(parts.config.admin.shutdown_grace),
        })
    }

    /// The notification API's routes.
    pub fn router(&self) -> axum::Router {
        router(self.api.clone())
    }

    /// Serves the API on `http` and `grpc` and consumes until `stop` fires, then finishes
    /// the requests in flight and drains the consumer.
    pub async fn run(
        self,
        http: TcpListener,
        grpc: TcpListener,
        stop: CancellationToken,
    ) -> Result<()> {
        let address = |l: &TcpListener| {
            l.local_addr().map_err(|e| Error::Listen {
                listen: SocketAddr::from(([0, 0, 0, 0], 0)),
                problem: e.to_string(),
            })
        };
        let listen = address(&http)?;
        let grpc_listen = address(&grpc)?;
        let server_stop = stop.clone();
        let server = tokio::spawn(
            axum::serve(http, self.router())
                .with_graceful_shutdown(async move { server_stop.cancelled().await })
                .into_future(),
        );
        let grpc_server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(NotificationServiceServer::new(GrpcApi(self.api.clone())))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(grpc),
                    stop.clone().cancelled_owned(),
                ),
        );
        let consumed = run_consumer(
            self.api.ledger.bus.clone(),
            &self.api.ledger.namespace,
            &self.spec,
            self.handler.clone(),
            self.options,
            stop.clone(),
        )
        .await;
        // The consumer only returns on `stop` or a fatal error; either way the API stops too.
        stop.cancel();
        let served = server.await;
        let grpc_served = grpc_server.await;
        let report = consumed.map_err(|e| Error::Run(e.to_string()))?;
        tracing::info!(?report, "notification-consent drained");
        let failed = |listen: SocketAddr, problem: String| Error::Listen { listen, problem };
        match served {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(failed(listen, e.to_string())),
            Err(e) => return Err(failed(listen, e.to_string())),
        }
        match grpc_served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(failed(grpc_listen, e.to_string())),
            Err(e) => Err(failed(grpc_listen, e.to_string())),
        }
    }
}

/// The binary's command line: the platform's, plus the policies file and the API's address.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Parley's notification-consent service.")]
pub struct ConsentArgs {
    /// The platform's arguments.
    #[command(flatten)]
    pub service: parley_runtime::ServiceArgs,
    /// The policies file (TOML: `[[business]]` and `[[client]]`); without one every business
    /// gets the default topics and the notification API has no clients.
    #[arg(long)]
    pub policies_file: Option<PathBuf>,
    /// Where the notification API listens over HTTP.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Where the notification API listens over gRPC.
    #[arg(long, default_value = DEFAULT_GRPC_LISTEN)]
    pub grpc_listen: SocketAddr,
}

impl ConsentArgs {
    /// Where the API listens.
    pub fn listen(&self) -> Listen {
        Listen {
            http: self.listen,
            grpc: self.grpc_listen,
        }
    }
}

/// Loads the policies file (none: defaults for every business, no API clients).
pub fn configure(policies_file: Option<&std::path::Path>) -> Result<ConsentConfig> {
    let policies = match policies_file {
        Some(path) => Policies::load(path)?,
        None => Policies::default(),
    };
    Ok(ConsentConfig::new(policies))
}

/// The service as a process (its binary and `parley notification-consent`): validates the
/// policies file before connecting to anything, then runs until SIGTERM. `env` is the
/// process's environment (nothing here reads it).
pub async fn run_process(args: ConsentArgs, env: Vec<(String, String)>) -> Result<()> {
    let consent = configure(args.policies_file.as_deref())?;
    let listen = args.listen();
    parley_runtime::run_service(
        "parley-notification-consent",
        args.service.config,
        env,
        move |ctx| run(ctx, consent, listen),
    )
    .await?;
    Ok(())
}

/// Runs the service: the notification API on `listen` and the consumer, until shutdown.
pub async fn run(
    ctx: ServiceContext,
    consent: ConsentConfig,
    listen: Listen,
) -> std::result::Result<(), String> {
    for business in consent.policies.businesses() {
        if !ctx.config.businesses.iter().any(|b| &b.id == business) {
            tracing::warn!(%business, "the policies file names a business the platform does not serve");
        }
    }
    let service = NotificationConsent::new(ConsentParts {
        config: ctx.config.clone(),
        backends: ctx.backends.clone(),
        consent,
    })
    .await
    .map_err(|e| e.to_string())?;
    let http = TcpListener::bind(listen.http)
        .await
        .map_err(|e| format!("notification API on --listen {}: {e}", listen.http))?;
    let grpc = TcpListener::bind(listen.grpc)
        .await
        .map_err(|e| format!("notification API on --grpc-listen {}: {e}", listen.grpc))?;
    tracing::info!(http = %listen.http, grpc = %listen.grpc, "notification API listening");
    service
        .run(http, grpc, ctx.shutdown.token())
        .await
        .map_err(|e| e.to_string())
}
