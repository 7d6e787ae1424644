//! The command line.

use crate::{Result, bench, env::config_env, services, up};

/// `parley`: Parley's services, all in one binary.
#[derive(Debug, clap::Parser)]
#[command(
    name = "parley",
    version,
    about = "Parley: Apple Messages for Business. `parley up` runs everything in one process; \
             `parley <service>` runs one service. Configuration: defaults, then --config \
             (PARLEY_CONFIG), then PARLEY_* variables."
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every service in one process, with the Apple simulator and a demo business.
    Up(up::UpArgs),
    /// Plays a scripted conversation through the simulator and prints the transcript.
    Demo(crate::demo::DemoArgs),
    /// Measures the mesh end to end against a baseline measured in the same run.
    Bench(bench::BenchArgs),
    /// The Apple simulator on its own; `parley sim chat` types as a customer.
    Sim(crate::sim::SimArgs),
    /// A terminal client for a live agent (accept, reply, resolve) over the gRPC API.
    Agent(crate::agent::AgentArgs),
    /// Dead letters: `list`, `show ID`, `replay ID` (over NATS).
    Dlq(crate::dlq::DlqArgs),
    /// Ingest: Apple's webhook (`POST /message`).
    Ingest(parley_runtime::ServiceArgs),
    /// Routing: the conversation lifecycle, queues and assignment.
    Routing(parley_routing::RoutingArgs),
    /// The bot: FAQ answers, menus, opening hours, escalation to a person.
    Bot(parley_bot::BotArgs),
    /// The agent gateway: live agents over gRPC.
    AgentGateway(parley_agent_gateway::GatewayArgs),
    /// Notification-consent: consent keywords, the notification API, the audit trail.
    NotificationConsent(parley_notification_consent::ConsentArgs),
    /// Outbound: the business's messages to Apple, behind the last gate.
    Outbound(parley_runtime::ServiceArgs),
}

/// Runs `cli` with the process's variables `env` (the binary passes `std::env::vars()`).
pub async fn run(cli: Cli, env: Vec<(String, String)>) -> Result<()> {
    match cli.command {
        Command::Up(args) => {
            let env = config_env(env, args.nats.as_deref(), args.redis.as_deref());
            up::run(args, env).await
        }
        Command::Bench(args) => bench::run(args, env).await,
        Command::Demo(args) => crate::demo::run(args, env).await,
        Command::Sim(args) => crate::sim::run(args, env).await,
        Command::Agent(args) => crate::agent::run(args).await,
        Command::Dlq(args) => crate::dlq::run(args, env).await,
        Command::Ingest(args) => services::ingest(args, config_env(env, None, None)).await,
        Command::Routing(args) => services::routing(args, config_env(env, None, None)).await,
        Command::Bot(args) => services::bot(args, config_env(env, None, None)).await,
        Command::AgentGateway(args) => {
            services::agent_gateway(args, config_env(env, None, None)).await
        }
        Command::NotificationConsent(args) => {
            services::notification_consent(args, config_env(env, None, None)).await
        }
        Command::Outbound(args) => services::outbound(args, config_env(env, None, None)).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn every_subcommand_the_deployment_files_call_parses() {
        for args in [
            vec!["parley", "up"],
            vec![
                "parley",
                "up",
                "--nats",
                "nats://n:4222",
                "--redis",
                "redis://r:6379",
            ],
            vec!["parley", "ingest"],
            vec!["parley", "outbound", "--config", "/etc/parley/parley.toml"],
            vec!["parley", "routing", "--rules-dir", "/etc/parley/rules"],
            vec!["parley", "bot", "--knowledge-dir", "/etc/parley/knowledge"],
            vec![
                "parley",
                "agent-gateway",
                "--agents-file",
                "/etc/parley/agents.toml",
            ],
            vec![
                "parley",
                "notification-consent",
                "--policies-file",
                "/etc/parley/policies.toml",
                "--listen",
                "0.0.0.0:8081",
            ],
            vec!["parley", "bench", "--quick"],
            vec!["parley", "demo"],
            vec!["parley", "sim", "--listen", "127.0.0.1:8089"],
            vec!["parley", "sim", "chat", "--sim", "http://127.0.0.1:8089"],
            vec!["parley", "agent", "--token", "demo-agent-ava"],
            vec!["parley", "dlq", "list"],
            vec!["parley", "dlq", "--nats", "nats://n:4222", "show", "7"],
            vec!["parley", "dlq", "replay", "7"],
        ] {
            Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        assert!(Cli::try_parse_from(["parley", "no-such-service"]).is_err());
    }
}
