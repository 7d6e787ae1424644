//! `parley <service>`: one service per process, the same code as the service's own binary
//! (`parley-ingest`, `parley-routing`, `parley-bot`, `parley-agent-gateway`,
//! `parley-notification-consent`, `parley-outbound`).

use crate::{Error, Result};

/// Runs ingest as its own binary does.
pub async fn ingest(args: parley_runtime::ServiceArgs, env: Vec<(String, String)>) -> Result<()> {
    parley_runtime::run_service("parley-ingest", args.config, env, parley_ingest::run).await?;
    Ok(())
}

/// Runs outbound as its own binary does.
pub async fn outbound(args: parley_runtime::ServiceArgs, env: Vec<(String, String)>) -> Result<()> {
    parley_runtime::run_service("parley-outbound", args.config, env, parley_outbound::run).await?;
    Ok(())
}

/// Runs routing as its own binary does.
pub async fn routing(args: parley_routing::RoutingArgs, env: Vec<(String, String)>) -> Result<()> {
    let rules_dir = args.rules_dir;
    parley_runtime::run_service("parley-routing", args.config, env, move |ctx| {
        parley_routing::run(ctx, rules_dir)
    })
    .await?;
    Ok(())
}

/// Runs the bot as its own binary does.
pub async fn bot(args: parley_bot::BotArgs, env: Vec<(String, String)>) -> Result<()> {
    // The knowledge is validated before connecting to anything.
    let bot = parley_bot::configure(args.knowledge_dir.as_deref(), &args.external_businesses)
        .map_err(|e| Error::Input(e.to_string()))?;
    parley_runtime::run_service("parley-bot", args.config, env, move |ctx| {
        parley_bot::run(ctx, bot)
    })
    .await?;
    Ok(())
}

/// Runs the agent gateway as its own binary does.
pub async fn agent_gateway(
    args: parley_agent_gateway::GatewayArgs,
    env: Vec<(String, String)>,
) -> Result<()> {
    let agents = parley_agent_gateway::Agents::load(&args.agents_file).map_err(Error::Input)?;
    let listen = args.serving();
    let options = args.options();
    parley_runtime::run_service(
        "parley-agent-gateway",
        args.service.config,
        env,
        move |ctx| parley_agent_gateway::run(ctx, agents, listen, options),
    )
    .await?;
    Ok(())
}

/// Runs notification-consent as its own binary does.
pub async fn notification_consent(
    args: parley_notification_consent::ConsentArgs,
    env: Vec<(String, String)>,
) -> Result<()> {
    parley_notification_consent::run_process(args, env)
        .await
        .map_err(|e| Error::Input(e.to_string()))?;
    Ok(())
}
