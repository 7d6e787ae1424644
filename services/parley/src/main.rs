//! `parley`: every Parley service in one binary (`parley <service>`, `parley up`, …).

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = parley::cli::Cli::parse();
    let env = std::env::vars().collect();
    parley::cli::run(cli, env).await?;
    Ok(())
}
