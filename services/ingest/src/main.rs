//! `parley-ingest`: Apple's webhook as its own process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_runtime::ServiceArgs::parse();
    let env = std::env::vars().collect();
    parley_runtime::run_service("parley-ingest", args.config, env, parley_ingest::run).await?;
    Ok(())
}
