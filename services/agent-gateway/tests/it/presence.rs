//! Presence, heartbeats, routing commands and the agent's unary calls.

use std::time::Duration;

use parley_proto::v1::{
    AgentPresence, AgentStatus, GetTranscriptRequest, Heartbeat, ListCannedResponsesRequest,
    ListConversationsRequest, Resolve, SetPresence, agent_command::Command, routing_command,
};
use parley_state::{AgentPool as _, PresenceStatus};
use prost::Message as _;

use crate::harness::{self, AGENT, AGENT_TOKEN, Agent, BIZ, authed, client, offered_ref};

#[tokio::test]
async fn presence_reaches_the_pool_and_routing_and_heartbeats_keep_it() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let mut agent = Agent::connect(addr, &session, 0).await;

    let early = agent.command(Command::Heartbeat(Heartbeat {})).await;
    assert!(!early.ok, "a heartbeat before presence is refused");

    let set = agent
        .command(Command::Presence(SetPresence {
            status: AgentStatus::Available as i32,
            capacity: 3,
            skills: vec!["fr".into()],
        }))
        .await;
    assert!(set.ok, "{set:?}");
    let beat = agent.command(Command::Heartbeat(Heartbeat {})).await;
    assert!(beat.ok, "{beat:?}");

    let agents = platform.pool.agents(BIZ).await.unwrap();
    let me = agents.iter().find(|a| a.agent_id == AGENT).unwrap();
    assert_eq!(me.status, PresenceStatus::Available);
    assert_eq!(me.capacity, 3);
    assert_eq!(me.skills, vec!["fr".to_owned()]);

    let commands = platform.routing(2, Duration::from_secs(10)).await;
    let presence = commands
        .iter()
        .find_map(|c| match &c.command {
            Some(routing_command::Command::AgentPresence(p)) => Some(p.clone()),
            _ => None,
        })
        .expect("a presence change on amb.routing");
    assert_eq!(presence.agent_id, AGENT);
    assert_eq!(presence.presence, AgentPresence::Available as i32);
    assert!(commands.iter().any(|c| matches!(
        &c.command,
        Some(routing_command::Command::AgentCapacity(x)) if x.max_conversations == 3
    )));
}

#[tokio::test]
async fn the_agent_lists_its_conversations_reads_transcripts_and_resolves() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    // A typed entry, the same message appended twice (a writer's redelivery), and bytes
    // that are no entry (an old record, the raw protobuf of an event): one entry is shown.
    let entry = harness::customer_entry("hello there", "m-1");
    for bytes in [
        entry.encode_to_vec(),
        b"\x0a\x05junk!".to_vec(),
        "hello there".as_bytes().to_vec(),
        entry.encode_to_vec(),
    ] {
        platform
            .backends
            .store
            .append_transcript(&key, bytes.into())
            .await
            .unwrap();
    }
    let mut agent = Agent::connect(addr, &session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&agent.next_logged().await);

    let mut c = client(addr).await;
    let listed = c
        .list_conversations(authed(ListConversationsRequest {}, &session))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.conversations.len(), 1);
    assert_eq!(
        listed.conversations[0].conversation.as_ref(),
        Some(&reference)
    );
    let transcript = c
        .get_transcript(authed(
            GetTranscriptRequest {
                conversation: Some(reference.clone()),
                limit: 0,
            },
            &session,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(transcript.entries, vec![entry]);
    let canned = c
        .list_canned_responses(authed(ListCannedResponsesRequest {}, &session))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canned.responses.len(), 1);
    assert_eq!(canned.responses[0].id, "hello");

    let resolved = agent
        .command(Command::Resolve(Resolve {
            conversation: Some(reference),
            note: "done".into(),
            resolution_code: "answered".into(),
        }))
        .await;
    assert!(resolved.ok, "{resolved:?}");
    let commands = platform.routing(1, Duration::from_secs(10)).await;
    let resolve = commands
        .iter()
        .find_map(|c| match &c.command {
            Some(routing_command::Command::Resolve(r)) => Some((c.clone(), r.clone())),
            _ => None,
        })
        .expect("a resolve on amb.routing");
    assert_eq!(resolve.1.agent_id, AGENT);
    assert_eq!(resolve.1.note, "done");
    assert_eq!(
        resolve.1.resolution_code, "answered",
        "the wrap-up code reaches routing"
    );
    let conversation = resolve.0.meta.unwrap().conversation.unwrap();
    assert_eq!(conversation.opaque_id, key.opaque.as_str());
}
