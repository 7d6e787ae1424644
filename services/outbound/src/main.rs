//! `parley-outbound`: the business's messages to Apple, as its own process.

use std::path::PathBuf;

use clap::Parser;

/// Sends the business's messages to Apple, behind the last gate.
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
        "parley-outbound",
        args.config,
        std::env::vars().collect(),
        parley_outbound::run,
    )
    .await?;
    Ok(())
}
