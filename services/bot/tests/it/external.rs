//! The external-bot example (`examples/external_bot.rs`) run against the same platform as
//! the built-in bot: it answers its business, the built-in bot leaves that business alone,
//! and both number their replies on the conversation's shared outbound counter.

use std::{sync::Arc, time::Duration};

use parley_bus::{ConsumeOptions, Topology, run_consumer};
use parley_proto::v1::{EscalationReason, outbound_message::Kind, routing_command};

use super::{
    example::{EchoBot, NAME},
    harness::{EXTERNAL, key, platform},
};

const WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_bot_example_answers_its_business_and_escalates_on_agent() {
    let p = platform().await;
    let ns = p.backends.namespace.clone();
    let spec = EchoBot::consumer(&ns);
    p.backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .unwrap();
    let echo = Arc::new(EchoBot::new(
        EXTERNAL.into(),
        p.backends.bus.clone(),
        p.backends.store.clone(),
        ns.clone(),
        p.config.partitions,
    ));
    let bus = p.backends.bus.clone();
    let stop = p.stop.child_token();
    tokio::spawn(async move {
        run_consumer(bus, &ns, &spec, echo, ConsumeOptions::default(), stop).await
    });
    let conversation = key(EXTERNAL, "echo");
    p.say(&conversation, 1, "wifi password").await;
    p.say(&conversation, 2, "agent").await;
    let replies = p.outbound_messages(2, WITHIN).await;
    let bodies: Vec<String> = replies
        .iter()
        .map(|m| match m.kind.as_ref() {
            Some(Kind::Text(t)) => t.body.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        bodies,
        ["You said: wifi password", "Connecting you with a person."],
        "only the external bot answered"
    );
    let numbers: Vec<u64> = replies
        .iter()
        .map(|m| m.meta.as_ref().unwrap().sequence)
        .collect();
    assert_eq!(numbers, [1, 2]);
    assert!(
        replies
            .iter()
            .all(|m| m.meta.as_ref().unwrap().producer == NAME)
    );
    assert!(
        replies
            .iter()
            .all(|m| uuid::Uuid::parse_str(&m.apple_message_id).is_ok())
    );
    let commands = p.routing_commands(1, WITHIN).await;
    let Some(routing_command::Command::Escalate(escalate)) = commands[0].command.as_ref() else {
        panic!("not an escalation");
    };
    assert_eq!(escalate.reason(), EscalationReason::TriggerWord);
    let extra = p.outbound_messages(1, Duration::from_secs(2)).await;
    assert!(
        extra.is_empty(),
        "the built-in bot answered an external business"
    );
}
