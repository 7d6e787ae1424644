//! `parley sim`: the Apple simulator on its own (Apple's MSP API for outbound, customer
//! devices that send webhooks to Parley, the control API); `parley sim chat`: a person
//! types as a customer in a terminal and sees the business's replies, through a running
//! simulator's control API (the one `parley up` starts on 127.0.0.1:8089 by default).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use parley_apple_sim::{SimConfig, Simulator};
use parley_runtime::{Shutdown, load_config, shutdown_on_signals};
use serde_json::json;

use crate::{
    Error, Result, demo::describe, demo_business, env::config_env, output::stdin_lines, say,
};

/// A device as the control API returns it.
#[derive(serde::Deserialize)]
struct NewDevice {
    customer: String,
}

/// A message Apple received, as the control API returns it.
#[derive(serde::Deserialize)]
struct Answer {
    #[serde(default)]
    msp_agent: Option<String>,
    body: serde_json::Value,
}

/// `parley sim`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// `chat`: type as a customer.
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    /// The platform configuration (its `msp.id`, `msp.secret` and businesses; also
    /// `PARLEY_CONFIG`). Without a secret one is made up and printed.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the simulator listens.
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// Parley's webhook, where devices send.
    #[arg(long, default_value = "http://127.0.0.1:8080/message")]
    pub webhook: String,
}

/// `parley sim`'s subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SimCommand {
    /// Type as a customer and see the business's replies.
    Chat(ChatArgs),
}

/// `parley sim chat`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ChatArgs {
    /// The running simulator.
    #[arg(long, default_value = "http://127.0.0.1:8089")]
    pub sim: String,
    /// The business to write to (default: the demo business).
    #[arg(long, default_value = demo_business::BUSINESS_ID)]
    pub business: String,
    /// The device: `iphone`, `mac` or `watch`.
    #[arg(long, default_value = "iphone", value_parser = ["iphone", "mac", "watch"])]
    pub device: String,
}

/// Runs `parley sim` or `parley sim chat`.
pub async fn run(args: SimArgs, env: Vec<(String, String)>) -> Result<()> {
    if let Some(SimCommand::Chat(chat_args)) = args.command {
        return chat(chat_args).await;
    }
    let config = load_config(args.config.as_deref(), config_env(env, None, None))?;
    let (secret, made_up) = match &config.msp.secret {
        Some(secret) => (secret.expose().to_owned(), false),
        None => (crate::up::simulator_secret(), true),
    };
    let mut businesses: Vec<String> = config
        .businesses
        .iter()
        .map(|b| b.id.as_str().to_owned())
        .collect();
    if businesses.is_empty() {
        businesses.push(demo_business::BUSINESS_ID.to_owned());
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Error::Input(format!("--listen {}: {e}", args.listen)))?;
    let sim = Simulator::start(
        SimConfig {
            msp_id: config.msp.id.clone(),
            secret_base64: secret.clone(),
            businesses: businesses.clone(),
            msp_webhook_url: Some(args.webhook.clone()),
        },
        listener,
    )
    .await
    .map_err(|e| Error::service("apple-sim", e.to_string()))?;
    say(format!("Apple simulator on {}", sim.base_url()));
    say(format!(
        "  Apple's API for outbound: {}  (msp.apple_base_url)",
        sim.api_base_url()
    ));
    say(format!("  devices send to {}", args.webhook));
    say(format!("  control API: {}/control/...", sim.base_url()));
    say(format!("  businesses: {}", businesses.join(", ")));
    if made_up {
        // A secret made up for this simulator only; Parley must use the same one.
        say(format!(
            "  configure Parley with PARLEY_MSP__ID={} PARLEY_MSP__SECRET={secret} \
             PARLEY_MSP__APPLE_BASE_URL={}",
            config.msp.id,
            sim.api_base_url()
        ));
    }
    say("Ctrl-C stops it.");
    let shutdown = Shutdown::new();
    shutdown_on_signals(&shutdown);
    shutdown.token().cancelled().await;
    Ok(())
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Input(format!("simulator: {what}: {error}"))
}

async fn chat(args: ChatArgs) -> Result<()> {
    // reqwest is built without a default TLS provider in this workspace.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(35))
        .build()
        .map_err(|e| failed("client", e))?;
    let base = args.sim.trim_end_matches('/').to_owned();
    let device: NewDevice = http
        .post(format!("{base}/control/devices"))
        .json(&json!({ "business": args.business, "kind": args.device }))
        .send()
        .await
        .map_err(|e| failed("new device", e))?
        .error_for_status()
        .map_err(|e| failed("new device", e))?
        .json()
        .await
        .map_err(|e| failed("new device", e))?;
    say(format!(
        "You are a new customer of {} on an {}. Type a message; /close deletes the \
         conversation; Ctrl-D quits.",
        args.business, args.device
    ));
    let mut lines = stdin_lines();
    let mut poll = tokio::time::interval(Duration::from_millis(300));
    let mut shown = 0usize;
    let customer = device.customer.clone();
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { return Ok(()) };
                let (path, body) = if line.trim() == "/close" {
                    ("close", json!({}))
                } else if line.trim().is_empty() {
                    continue;
                } else {
                    ("text", json!({ "text": line }))
                };
                let answered = http
                    .post(format!("{base}/control/devices/{customer}/{path}"))
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| failed("send", e))?;
                if !answered.status().is_success() {
                    say(format!("  (the simulator answered {})", answered.status()));
                } else if let Ok(sent) = answered.json::<parley_apple_sim::Sent>().await
                    && sent.status != 200
                {
                    say(format!("  (Parley's webhook answered {})", sent.status));
                }
            }
            _ = poll.tick() => {
                let received: Vec<Answer> = match http
                    // Opaque ids are `urn:mbid:` and URL-safe Base64: nothing to escape.
                    .get(format!("{base}/control/received?customer={customer}"))
                    .send()
                    .await
                {
                    Ok(response) => response.json().await.unwrap_or_default(),
                    Err(_) => continue,
                };
                for r in received.iter().skip(shown) {
                    let kind = r.body.get("type").and_then(|t| t.as_str()).unwrap_or("");
                    if kind == "typing_start" || kind == "typing_end" {
                        continue;
                    }
                    let who = r.msp_agent.as_deref().unwrap_or("business");
                    say(format!("{who}: {}", describe(&r.body)));
                }
                shown = shown.max(received.len());
            }
        }
    }
}
