//! `parley-ingest`: Apple's webhook as its own process.

use std::path::PathBuf;

use clap::Parser;

/// Apple's `POST /message` webhook.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    parley_runtime::run_service(
        "parley-ingest",
        args.config,
        std::env::vars().collect(),
        parley_ingest::run,
    )
    .await?;
    Ok(())
}
