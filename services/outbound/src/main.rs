//! `parley-outbound`: the business's messages to Apple, as its own process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_runtime::ServiceArgs::parse();
    let env = std::env::vars().collect();
    parley_runtime::run_service("parley-outbound", args.config, env, parley_outbound::run).await?;
    Ok(())
}
