//! The routing service: consumers, the assignment tick and running.

use std::{path::PathBuf, sync::Arc};

use parley_bus::{ConsumeOptions, ConsumerSpec, Namespace, StreamKind, Topology, run_consumer};
use parley_runtime::{Backends, PlatformConfig, ServiceContext};
use parley_state::{AgentPool, RedisStore, RedisStoreOptions};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{RoutingConfig, default_rules, load_rules},
    handler::{CommandHandler, InboundHandler, Shared},
};

/// How long a delivery of `amb.inbound` stays with a replica without an answer (the consume
/// loop sends progress for longer work) before JetStream gives it to another one.
pub const INBOUND_ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The durable consumer of `amb.inbound` (waiting at the in-order gate is a redelivery too,
/// so the dead-letter threshold is out of reach).
pub fn inbound_consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Inbound, "routing")
        .with_max_deliver(u32::MAX)
        .with_ack_wait(INBOUND_ACK_WAIT)
}

/// Refuses gate timings that can lose a customer message: a replica that dies holding a
/// message it has not claimed yet leaves a gap that only the redelivery (after the ack wait)
/// fills, and a gap skipped before that drops the message when it comes back.
pub fn check_gate(gate: &parley_state::GatePolicy) -> Result<(), String> {
    let floor = INBOUND_ACK_WAIT * 2 + gate.lease;
    if gate.gap_timeout < floor {
        return Err(format!(
            "invalid setting `routing.gap_timeout`: {:?} must be at least twice the inbound \
             consumer's ack wait ({INBOUND_ACK_WAIT:?}) plus `routing.claim_lease` ({:?}), \
             {floor:?}, or a message redelivered after a crash could be skipped and lost",
            gate.gap_timeout, gate.lease
        ));
    }
    Ok(())
}

/// The durable consumer of `amb.routing`.
pub fn command_consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Routing, "routing-commands").with_max_deliver(50)
}

/// What routing is built from.
pub struct RoutingParts {
    /// The platform configuration (partitions, businesses, dedup TTL, shutdown grace).
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// The agent pool (the same Redis as the store).
    pub pool: Arc<dyn AgentPool>,
    /// The rules and timings.
    pub routing: RoutingConfig,
}

/// The routing service.
pub struct Routing {
    shared: Arc<Shared>,
    inbound: ConsumerSpec,
    commands: ConsumerSpec,
    options: ConsumeOptions,
}

impl Routing {
    /// Builds routing and creates its consumers.
    pub async fn new(parts: RoutingParts) -> Result<Self, String> {
        check_gate(&parts.routing.gate)?;
        let namespace = parts.backends.namespace.clone();
        let inbound = inbound_consumer_spec(&namespace);
        let commands = command_consumer_spec(&namespace);
        parts
            .backends
            .bus
            .ensure(
                &Topology::default()
                    .with_consumer(inbound.clone())
                    .with_consumer(commands.clone()),
            )
            .await
            .map_err(|e| format!("routing consumers: {e}"))?;
        let shared = Arc::new(Shared {
            store: parts.backends.store.clone(),
            pool: parts.pool,
            bus: parts.backends.bus.clone(),
            namespace,
            partitions: parts.config.partitions,
            businesses: parts
                .config
                .businesses
                .iter()
                .map(|b| b.id.clone())
                .collect(),
            dedup_ttl: parts.config.redis.dedup_ttl,
            config: parts.routing,
            default_rules: default_rules(),
            mismatches: std::sync::Mutex::default(),
        });
        Ok(Self {
            shared,
            inbound,
            commands,
            options: ConsumeOptions {
                drain_timeout: parts.config.admin.shutdown_grace,
                ..ConsumeOptions::default()
            },
        })
    }

    /// Consumes and assigns until `stop` fires, then drains.
    pub async fn run(self, stop: CancellationToken) -> Result<(), String> {
        let shared = self.shared.clone();
        let inbound = run_consumer(
            shared.bus.clone(),
            &shared.namespace,
            &self.inbound,
            Arc::new(InboundHandler(shared.clone())),
            // Gated: a conversation holds at most ordered::PER_CONVERSATION deliveries
            // (commands are not gated, so they keep every delivery in stream order).
            ConsumeOptions {
                per_conversation: parley_runtime::ordered::PER_CONVERSATION,
                ..self.options.clone()
            },
            stop.clone(),
        );
        let commands = run_consumer(
            shared.bus.clone(),
            &shared.namespace,
            &self.commands,
            Arc::new(CommandHandler(shared.clone())),
            self.options.clone(),
            stop.clone(),
        );
        let tick = tick(shared.clone(), stop.clone());
        let (inbound, commands, ()) = tokio::join!(inbound, commands, tick);
        let inbound = inbound.map_err(|e| format!("routing inbound consumer: {e}"))?;
        let commands = commands.map_err(|e| format!("routing command consumer: {e}"))?;
        tracing::info!(?inbound, ?commands, "routing drained");
        Ok(())
    }
}

/// Every `config.tick`: tries every queue of every business (capacity frees up anywhere)
/// and re-queues conversations whose agent missed the queue's response target.
async fn tick(shared: Arc<Shared>, stop: CancellationToken) {
    let mut interval = tokio::time::interval(shared.config.tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut businesses: Vec<_> = shared.config.rules.keys().cloned().collect();
    for business in &shared.businesses {
        if !businesses.contains(business) {
            businesses.push(business.clone());
        }
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        for business in &businesses {
            if let Err(error) = shared.assign_business(business).await {
                tracing::warn!(%error, "assignment tick failed");
            }
            if let Err(error) = shared.requeue_expired(business).await {
                tracing::warn!(%error, "re-queueing expired agents failed");
            }
            if let Err(error) = shared.check_response_targets(business).await {
                tracing::warn!(%error, "response target check failed");
            }
        }
    }
}

/// The routing binary's own command line: the platform's, plus the rules directory.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Parley's routing service.")]
pub struct RoutingArgs {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// The directory of routing rules, one `<business_id>.toml` per business (overrides
    /// `routing.rules_dir`); a business without a file gets the built-in rules (one queue
    /// `general`, bot first, always open).
    #[arg(long, env = "ROUTING_RULES_DIR")]
    pub rules_dir: Option<PathBuf>,
}

/// Runs routing as a service, with the rules of `rules_dir`, else of the configuration's
/// `routing.rules_dir` (neither: built-in rules for all), and the configuration's timings.
pub async fn run(ctx: ServiceContext, rules_dir: Option<PathBuf>) -> Result<(), String> {
    let businesses: Vec<_> = ctx.config.businesses.iter().map(|b| &b.id).collect();
    let rules_dir = rules_dir.or_else(|| ctx.config.routing.rules_dir.clone());
    let rules = match &rules_dir {
        Some(dir) => load_rules(dir, businesses).map_err(|e| e.to_string())?,
        None => businesses
            .into_iter()
            .map(|b| (b.clone(), default_rules()))
            .collect(),
    };
    // The runtime's backends expose the store only as a `ConversationStore`; the pool is a
    // second client of the same Redis (same key prefix).
    let pool = RedisStore::connect(
        &RedisStoreOptions::new(ctx.config.redis.url.clone()),
        ctx.config.redis.store_settings(),
    )
    .map_err(|e| format!("invalid setting `redis.url`: {e}"))?;
    let routing = Routing::new(RoutingParts {
        config: ctx.config.clone(),
        backends: ctx.backends.clone(),
        pool: Arc::new(pool),
        routing: RoutingConfig::from_settings(rules, &ctx.config.routing, &ctx.config.events),
    })
    .await?;
    routing.run(ctx.shutdown.token()).await
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, time::Duration};

    use parley_state::GatePolicy;

    use super::*;

    #[test]
    fn gate_timings_that_could_skip_a_redelivered_message_are_refused() {
        let gate = |gap: u64, lease: u64| GatePolicy {
            gap_timeout: Duration::from_secs(gap),
            lease: Duration::from_secs(lease),
            max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
        };
        assert!(
            check_gate(&RoutingConfig::new(HashMap::new()).gate).is_ok(),
            "defaults"
        );
        assert!(check_gate(&gate(35, 15)).is_ok());
        // The timings that lost a bot task: the gap as long as the ack wait.
        let error = check_gate(&gate(30, 15)).unwrap_err();
        assert!(error.contains("`routing.gap_timeout`"), "{error}");
        assert!(check_gate(&gate(10, 1)).is_err());
    }
}
