//! `parley-notification-consent`: consent keywords and the notification API, as its own
//! process.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parley_notification_consent::ConsentArgs::parse();
    // Validate the policies before connecting to anything: a bad file stops start-up with a
    // message naming the entry and the field.
    let consent = parley_notification_consent::configure(args.policies_file.as_deref())?;
    let env = std::env::vars().collect();
    let listen = args.listen();
    parley_runtime::run_service(
        "parley-notification-consent",
        args.service.config,
        env,
        move |ctx| parley_notification_consent::run(ctx, consent, listen),
    )
    .await?;
    Ok(())
}
