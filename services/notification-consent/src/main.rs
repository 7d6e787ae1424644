//! `parley-notification-consent`: consent keywords and the notification API, as its own
//! process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_notification_consent::ConsentArgs::parse();
    parley_notification_consent::run_process(args, std::env::vars().collect()).await?;
    Ok(())
}
