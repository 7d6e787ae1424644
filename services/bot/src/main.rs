//! `parley-bot`: the built-in bot as its own process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_bot::BotArgs::parse();
    // Validate the knowledge before connecting to anything: a bad file stops start-up with
    // a message naming the file and the entry.
    let bot =
        parley_bot::service::configure(args.knowledge_dir.as_deref(), &args.external_businesses)?;
    let env = std::env::vars().collect();
    parley_runtime::run_service("parley-bot", args.config, env, move |ctx| {
        parley_bot::run(ctx, bot)
    })
    .await?;
    Ok(())
}
