//! `parley-agent-gateway`: live agents over gRPC, as its own process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_agent_gateway::GatewayArgs::parse();
    let agents =
        parley_agent_gateway::Agents::load(&args.agents_file).map_err(anyhow::Error::msg)?;
    let env = std::env::vars().collect();
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
