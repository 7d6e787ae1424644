//! `parley agent`: a minimal terminal client for a live agent over the gRPC API: it shows
//! assignments and customer messages as they come and takes one command per line (`accept
//! N`, `reply N text`, `resolve N`, `list`, `quit`). Conversations are numbered locally;
//! the gateway's references never show the customer's opaque id.

use std::{collections::HashMap, time::Duration};

use parley_proto::v1::{
    Accept, ConversationRef, Heartbeat, OutboundText, Reply, Resolve, agent_command::Command,
    agent_event::Event, inbound_message, reply,
};

use crate::{Result, agent_client::AgentConnection, output::stdin_lines, say};

/// `parley agent`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// The agent gateway's gRPC address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub gateway: String,
    /// The agent's token (the demo's: `demo-agent-ava`, `demo-agent-sam`).
    #[arg(long)]
    pub token: String,
    /// How many conversations the agent takes at once.
    #[arg(long, default_value_t = 2)]
    pub capacity: u32,
}

/// One line the agent typed.
#[derive(Debug, PartialEq, Eq)]
enum Typed {
    Accept(usize),
    Reply(usize, String),
    Resolve(usize),
    List,
    Quit,
    Help,
}

fn parse(line: &str) -> Option<Typed> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let number = || {
        rest.split_whitespace()
            .next()?
            .trim_start_matches('#')
            .parse()
            .ok()
    };
    match word {
        "accept" | "a" => number().map(Typed::Accept),
        "resolve" | "done" => number().map(Typed::Resolve),
        "reply" | "r" => {
            let (n, text) = rest.trim().split_once(' ')?;
            let n = n.trim_start_matches('#').parse().ok()?;
            let text = text.trim();
            (!text.is_empty()).then(|| Typed::Reply(n, text.to_owned()))
        }
        "list" | "ls" => Some(Typed::List),
        "quit" | "exit" | "q" => Some(Typed::Quit),
        "help" | "?" | "" => Some(Typed::Help),
        _ => None,
    }
}

/// The conversations seen, numbered from 1 in order of appearance.
#[derive(Default)]
struct Known {
    numbers: HashMap<String, usize>,
    refs: Vec<ConversationRef>,
}

impl Known {
    fn number_of(&mut self, conversation: &Option<ConversationRef>) -> usize {
        let Some(conversation) = conversation else {
            return 0;
        };
        if let Some(n) = self.numbers.get(&conversation.id) {
            return *n;
        }
        self.refs.push(conversation.clone());
        self.numbers
            .insert(conversation.id.clone(), self.refs.len());
        self.refs.len()
    }
}

const HELP: &str = "commands: accept N | reply N text | resolve N | list | quit";

/// Runs the terminal client until `quit`, end of input or the gateway closes the stream.
pub async fn run(args: AgentArgs) -> Result<()> {
    let mut connection =
        AgentConnection::open(&args.gateway, &args.token, 0, args.capacity).await?;
    let sender = connection.sender.clone();
    say(format!(
        "Connected as {} ({}), available for {} conversations. {HELP}",
        connection.display_name, connection.agent_id, args.capacity
    ));
    let mut known = Known::default();
    let mut lines = stdin_lines();
    let mut heartbeat = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            event = connection.event() => {
                let Some(event) = event? else {
                    say("The gateway closed the connection.");
                    return Ok(());
                };
                match event.event {
                    Some(Event::Assignment(offer)) => {
                        let n = known.number_of(&offer.conversation);
                        say(format!("#{n} assigned from queue `{}` (waited {} s); `accept {n}`", offer.queue, offer.waited_seconds));
                    }
                    Some(Event::CustomerMessage(message)) => {
                        let n = known.number_of(&message.conversation);
                        let text = match message.message.and_then(|m| m.kind) {
                            Some(inbound_message::Kind::Text(text)) => text.body,
                            Some(inbound_message::Kind::Close(_)) => "[closed the conversation]".into(),
                            Some(inbound_message::Kind::TypingStart(_)) => continue,
                            Some(inbound_message::Kind::TypingEnd(_)) => continue,
                            Some(other) => format!("[{}]", kind_name(&other)),
                            None => "[?]".into(),
                        };
                        say(format!("#{n} customer: {text}"));
                    }
                    Some(Event::Unassigned(left)) => {
                        let n = known.number_of(&left.conversation);
                        say(format!("#{n} left you: {:?}", left.reason()));
                    }
                    Some(Event::Delivery(delivery)) => {
                        let n = known.number_of(&delivery.conversation);
                        let outcome = delivery.result.and_then(|r| r.outcome).map_or_else(|| "?".to_owned(), |o| outcome_name(&o));
                        say(format!("#{n} your reply: {outcome}"));
                    }
                    Some(Event::Result(result)) if !result.ok => {
                        say(format!("command {} failed: {:?} {}", result.command_id, result.error(), result.detail));
                    }
                    _ => {}
                }
            }
            line = lines.recv() => {
                let Some(line) = line else { return Ok(()) };
                let conversation = |n: usize| known.refs.get(n.wrapping_sub(1)).cloned();
                let command = match parse(&line) {
                    Some(Typed::Quit) => return Ok(()),
                    Some(Typed::Help) | None => { say(HELP); continue }
                    Some(Typed::List) => {
                        for (i, _) in known.refs.iter().enumerate() {
                            say(format!("#{}", i + 1));
                        }
                        continue;
                    }
                    Some(Typed::Accept(n)) => conversation(n).map(|c| Command::Accept(Accept { conversation: Some(c) })),
                    Some(Typed::Resolve(n)) => conversation(n).map(|c| Command::Resolve(Resolve { conversation: Some(c), ..Resolve::default() })),
                    Some(Typed::Reply(n, text)) => conversation(n).map(|c| Command::Reply(Reply {
                        conversation: Some(c),
                        content: Some(reply::Content::Text(OutboundText { body: text, attachments: vec![] })),
                    })),
                };
                match command {
                    Some(command) => { sender.send(command).await?; }
                    None => say("no such conversation number"),
                }
            }
            _ = heartbeat.tick() => {
                sender.send(Command::Heartbeat(Heartbeat {})).await?;
            }
        }
    }
}

fn kind_name(kind: &inbound_message::Kind) -> &'static str {
    match kind {
        inbound_message::Kind::InteractiveReply(_) => "interactive reply",
        _ => "message",
    }
}

fn outcome_name(outcome: &parley_proto::v1::delivery_result::Outcome) -> String {
    use parley_proto::v1::delivery_result::Outcome;
    match outcome {
        Outcome::Sent(_) => "delivered to Apple".into(),
        Outcome::Refused(r) => format!("refused ({:?})", r.reason()),
        Outcome::Retrying(_) => "retrying".into(),
        Outcome::Failed(_) => "failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_commands_are_understood() {
        assert_eq!(parse("accept 2"), Some(Typed::Accept(2)));
        assert_eq!(parse("a #1"), Some(Typed::Accept(1)));
        assert_eq!(
            parse("reply 1 Hello there"),
            Some(Typed::Reply(1, "Hello there".into()))
        );
        assert_eq!(parse("reply 1"), None);
        assert_eq!(parse("resolve 3"), Some(Typed::Resolve(3)));
        assert_eq!(parse("quit"), Some(Typed::Quit));
        assert_eq!(parse("dance"), None);
    }
}
