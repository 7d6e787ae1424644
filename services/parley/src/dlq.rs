//! `parley dlq list | show ID | replay ID`: an operator reads the dead letters of the
//! configured NATS namespace and re-drives one to the subject it came from. The consumers'
//! in-order gates apply a replay once (the sequence was abandoned when it was dead-lettered),
//! so replaying twice is harmless.
//!
//! Nothing here prints a payload: a dead letter's payload holds a customer's message.

use std::{path::PathBuf, time::Duration};

use parley_bus::{Bus as _, JetStreamBus, JetStreamOptions, Namespace, dead_letters};
use parley_runtime::load_config;

use crate::{Error, Result, env::config_env, output::say};

/// `parley dlq`.
#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// The NATS URL (else `nats.url`, `PARLEY_NATS_URL`).
    #[arg(long)]
    pub nats: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: DlqAction,
}

/// What `parley dlq` does.
#[derive(Debug, clap::Subcommand)]
pub enum DlqAction {
    /// Dead letters, oldest first: id, consumer, subject, deliveries, reason.
    List {
        /// The first id to list.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// How many at most.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// One dead letter: where it came from, why, and its headers (not its payload).
    Show {
        /// The dead letter's id (from `list`).
        id: u64,
    },
    /// Publishes the dead letter's original again to the subject it came from.
    Replay {
        /// The dead letter's id (from `list`).
        id: u64,
    },
}

/// Runs `parley dlq` with the process's variables `env`.
pub async fn run(args: DlqArgs, env: Vec<(String, String)>) -> Result<()> {
    let config = load_config(
        args.config.as_deref(),
        config_env(env, args.nats.as_deref(), None),
    )?;
    let ns = if config.nats.prefix.is_empty() {
        Namespace::root()
    } else {
        Namespace::prefixed(&config.nats.prefix)
            .map_err(|e| Error::Input(format!("nats.prefix: {e}")))?
    };
    let mut options = JetStreamOptions::new(config.nats.url.clone());
    options.client_name = "parley-dlq".to_owned();
    let bus = tokio::time::timeout(Duration::from_secs(10), JetStreamBus::connect(&options))
        .await
        .map_err(|_| {
            Error::Input(format!(
                "NATS at {} did not answer within 10 s",
                config.nats.url
            ))
        })?
        .map_err(|e| Error::Input(e.to_string()))?;
    let bus_error = |e: parley_bus::Error| Error::Input(e.to_string());
    match args.action {
        DlqAction::List { from, max } => {
            let letters = dead_letters::list(&bus, &ns, from, max)
                .await
                .map_err(bus_error)?;
            if letters.is_empty() {
                say("no dead letters");
            }
            for d in letters {
                say(format!(
                    "{}\t{}\t{}\tdeliveries={}\t{}",
                    d.id, d.consumer, d.original_subject, d.deliveries, d.reason
                ));
            }
        }
        DlqAction::Show { id } => {
            let Some(d) = dead_letters::show(&bus, &ns, id).await.map_err(bus_error)? else {
                return Err(Error::Input(format!("no dead letter {id}")));
            };
            say(format!("id: {}", d.id));
            say(format!("consumer: {}", d.consumer));
            say(format!("subject: {}", d.original_subject));
            say(format!("stream sequence: {}", d.original_stream_sequence));
            say(format!("event type: {}", d.event_type));
            say(format!("deliveries: {}", d.deliveries));
            say(format!("reason: {}", d.reason));
            say(format!("payload: {} bytes (not shown)", d.payload.len()));
            for (name, value) in d.headers.iter() {
                say(format!("header {name}: {value}"));
            }
        }
        DlqAction::Replay { id } => match dead_letters::replay(&bus, &ns, id)
            .await
            .map_err(bus_error)?
        {
            None => return Err(Error::Input(format!("no dead letter {id}"))),
            Some(published) if published.duplicate => say(format!(
                "dead letter {id} was replayed already (stored once, as {} #{})",
                published.stream, published.sequence
            )),
            Some(published) => say(format!(
                "replayed dead letter {id} as {} #{}",
                published.stream, published.sequence
            )),
        },
    }
    bus.flush().await.map_err(bus_error)?;
    Ok(())
}
