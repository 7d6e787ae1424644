//! `parley-routing`: the conversation lifecycle, queues and assignment, as its own process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_routing::RoutingArgs::parse();
    let env = std::env::vars().collect();
    let rules_dir = args.rules_dir;
    parley_runtime::run_service("parley-routing", args.config, env, move |ctx| {
        parley_routing::run(ctx, rules_dir)
    })
    .await?;
    Ok(())
}
