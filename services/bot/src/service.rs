//! The bot service: its configuration, its consumer, running.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use parley_bus::{ConsumeOptions, ConsumerSpec, Namespace, StreamKind, Topology, run_consumer};
use parley_runtime::{Backends, PlatformConfig, ServiceContext};
use parley_state::GatePolicy;
use parley_types::BusinessId;
use tokio_util::sync::CancellationToken;

pub use crate::handler::{BUILTIN_BOT_ID, CURSOR_FIELD, MEMORY_FIELD, STAGE_BOT};
use crate::{
    error::{Error, Result},
    handler::{Shared, TaskHandler},
    knowledge::{Knowledge, load_dir},
};

/// How long a task held by a replica that died comes back after (the consumer's ack wait;
/// a live replica sends progress for a slow task).
pub const ACK_WAIT: Duration = Duration::from_secs(10);

/// The default in-order gate: a claim whose holder died lapses after 15 s; a missing task is
/// given up on after 60 s. The gap timeout must exceed [`ACK_WAIT`] plus the lease by a wide
/// margin: a task held by a replica killed mid-work is redelivered only after the ack wait,
/// and a gate that skipped it first would drop it as a duplicate when it comes back (found by
/// the kill -9 test with a 30 s gap timeout against a 30 s ack wait).
pub const DEFAULT_GATE: GatePolicy = GatePolicy {
    gap_timeout: Duration::from_secs(60),
    lease: Duration::from_secs(15),
    max_attempts: GatePolicy::DEFAULT_MAX_ATTEMPTS,
};

/// The durable consumer of `amb.bot` (waiting at the in-order gate is a redelivery too, so
/// the dead-letter threshold is out of reach; poison tasks are dead-lettered explicitly).
pub fn consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Bot, "bot")
        .with_max_deliver(u32::MAX)
        .with_ack_wait(ACK_WAIT)
}

/// What the bot is configured with (built by the binary or `parley up`, never from the
/// environment).
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The knowledge of each business; a business without one gets every message handed
    /// to a person (`ESCALATION_REASON_NO_BOT`).
    pub knowledge: BTreeMap<BusinessId, Knowledge>,
    /// Businesses answered by an external bot: their tasks are acknowledged untouched.
    pub external_businesses: BTreeSet<BusinessId>,
    /// The `BotContext.bot_id`s the built-in bot answers (routing names its bot `bot`); a
    /// task for any other bot id is left to that bot. An empty id is answered.
    pub bot_ids: BTreeSet<String>,
    /// How the in-order gate waits for a missing task ([`DEFAULT_GATE`]); its gap timeout
    /// must exceed [`ACK_WAIT`] plus its lease.
    pub gate: GatePolicy,
}

impl BotConfig {
    /// A configuration with the given knowledge, no external bots, the built-in bot id.
    pub fn new(knowledge: BTreeMap<BusinessId, Knowledge>) -> Self {
        Self {
            knowledge,
            external_businesses: BTreeSet::new(),
            bot_ids: BTreeSet::from([BUILTIN_BOT_ID.to_owned()]),
            gate: DEFAULT_GATE,
        }
    }
}

/// What the bot is built from.
pub struct BotParts {
    /// The platform configuration (partitions, shutdown grace).
    pub config: Arc<PlatformConfig>,
    /// The bus and store.
    pub backends: Backends,
    /// The bot's own configuration.
    pub bot: BotConfig,
}

/// The bot service.
pub struct Bot {
    shared: Arc<Shared>,
    spec: ConsumerSpec,
    options: ConsumeOptions,
}

impl Bot {
    /// Builds the bot and creates its consumer.
    pub async fn new(parts: BotParts) -> Result<Self> {
        let namespace = parts.backends.namespace.clone();
        let spec = consumer_spec(&namespace);
        if parts.bot.gate.gap_timeout <= spec.ack_wait + parts.bot.gate.lease {
            tracing::warn!(
                gap_timeout = ?parts.bot.gate.gap_timeout,
                ack_wait = ?spec.ack_wait,
                lease = ?parts.bot.gate.lease,
                "the bot's gap timeout does not exceed the ack wait plus the lease: a task of a \
                 replica that dies can be skipped and then dropped"
            );
        }
        parts
            .backends
            .bus
            .ensure(&Topology::default().with_consumer(spec.clone()))
            .await?;
        let shared = Arc::new(Shared {
            store: parts.backends.store.clone(),
            bus: parts.backends.bus.clone(),
            namespace,
            partitions: parts.config.partitions,
            knowledge: parts
                .bot
                .knowledge
                .into_iter()
                .map(|(b, k)| (b, Arc::new(k)))
                .collect(),
            external: parts.bot.external_businesses,
            bot_ids: parts.bot.bot_ids,
            gate: parts.bot.gate,
        });
        Ok(Self {
            shared,
            spec,
            // Gated: a conversation holds at most ordered::PER_CONVERSATION deliveries.
            options: parley_runtime::ordered::consume_options(parts.config.admin.shutdown_grace),
        })
    }

    /// Consumes until `stop` fires, then drains.
    pub async fn run(self, stop: CancellationToken) -> Result<()> {
        let report = run_consumer(
            self.shared.bus.clone(),
            &self.shared.namespace,
            &self.spec,
            Arc::new(TaskHandler(self.shared.clone())),
            self.options,
            stop,
        )
        .await
        .map_err(|e| Error::Run(e.to_string()))?;
        tracing::info!(?report, "bot drained");
        Ok(())
    }
}

/// The bot binary's own command line: the platform's, plus the knowledge directory and the
/// businesses with an external bot.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Parley's bot service.")]
pub struct BotArgs {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// The directory of knowledge files (`*.toml`, one business each).
    #[arg(long, env = "BOT_KNOWLEDGE_DIR")]
    pub knowledge_dir: Option<PathBuf>,
    /// A business whose conversations an external bot answers (repeatable, or
    /// comma-separated in `BOT_EXTERNAL_BUSINESSES`).
    #[arg(
        long = "external-business",
        env = "BOT_EXTERNAL_BUSINESSES",
        value_delimiter = ','
    )]
    pub external_businesses: Vec<String>,
}

/// Builds the bot's configuration from a knowledge directory (none: no knowledge) and the
/// external businesses; errors name the bad file and entry.
pub fn configure(
    knowledge_dir: Option<&std::path::Path>,
    external: &[String],
) -> Result<BotConfig> {
    let knowledge = match knowledge_dir {
        Some(dir) => load_dir(dir)?,
        None => BTreeMap::new(),
    };
    let mut config = BotConfig::new(knowledge);
    for business in external.iter().map(|b| b.trim()).filter(|b| !b.is_empty()) {
        let id = BusinessId::new(business).map_err(|e| Error::Knowledge {
            file: "--external-business".into(),
            problem: format!("{business:?}: {e}"),
        })?;
        config.external_businesses.insert(id);
    }
    Ok(config)
}

/// Runs the bot as a service.
pub async fn run(ctx: ServiceContext, bot: BotConfig) -> std::result::Result<(), String> {
    for business in &ctx.config.businesses {
        if !bot.knowledge.contains_key(&business.id)
            && !bot.external_businesses.contains(&business.id)
        {
            tracing::warn!(business = %business.id, "no knowledge file: every message goes to a person");
        }
    }
    let bot = Bot::new(BotParts {
        config: ctx.config.clone(),
        backends: ctx.backends.clone(),
        bot,
    })
    .await
    .map_err(|e| e.to_string())?;
    bot.run(ctx.shutdown.token())
        .await
        .map_err(|e| e.to_string())
}
