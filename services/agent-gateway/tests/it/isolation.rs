//! Tenant isolation: every RPC with a session of another business is refused and leaks
//! nothing.

use std::time::Duration;

use parley_proto::v1::{
    Accept, AgentTyping, AuthenticateRequest, CommandError, Decline, GetTranscriptRequest,
    ListCannedResponsesRequest, ListConversationsRequest, OutboundText, Reply, Resolve,
    ReturnConversationToBot, RevokeSessionsRequest, Transfer, agent_command::Command, agent_event,
    reply::Content, transfer,
};
use prost::Message as _;
use tonic::Code;

use crate::harness::{
    self, AGENT, AGENT_TOKEN, Agent, BIZ, OTHER, OTHER_TOKEN, authed, client, offered_ref,
};

#[derive(Debug, Clone, Copy)]
enum Case {
    Authenticate,
    GetTranscript,
    ListConversations,
    ListCannedResponses,
    Accept,
    Reply,
    Typing,
    Transfer,
    Resolve,
    Decline,
    ReturnToBot,
    RevokeSessions,
}

const CASES: [Case; 12] = [
    Case::Authenticate,
    Case::GetTranscript,
    Case::ListConversations,
    Case::ListCannedResponses,
    Case::Accept,
    Case::Reply,
    Case::Typing,
    Case::Transfer,
    Case::Resolve,
    Case::Decline,
    Case::ReturnToBot,
    Case::RevokeSessions,
];

#[tokio::test]
async fn every_rpc_with_another_business_session_is_refused() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    // Acme's conversation, assigned to Acme's agent, with a transcript.
    let key = platform.customer(BIZ, "QUICK,LIST,TIME").await;
    platform.assign(&key, AGENT).await;
    platform
        .backends
        .store
        .append_transcript(
            &key,
            harness::customer_entry("secret order 42", "m-1")
                .encode_to_vec()
                .into(),
        )
        .await
        .unwrap();
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let mut owner = Agent::connect(addr, &owner_session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&owner.next_logged().await);

    // Control: the owner reads the transcript.
    let mine = client(addr)
        .await
        .get_transcript(authed(
            GetTranscriptRequest {
                conversation: Some(reference.clone()),
                limit: 10,
            },
            &owner_session,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.entries.len(), 1);

    let intruder_session = harness::session(addr, OTHER_TOKEN).await;
    let mut intruder = Agent::connect(addr, &intruder_session, 0).await;
    match intruder.next().await.event {
        Some(agent_event::Event::Welcome(w)) => assert_eq!(w.latest_cursor, 0),
        other => panic!("expected welcome, got {other:?}"),
    }
    let mut c = client(addr).await;
    let refused = |code: Code| matches!(code, Code::PermissionDenied | Code::NotFound);
    for case in CASES {
        let command = |command: Command| Some(command);
        let conversation = Some(reference.clone());
        let verdict = match case {
            Case::Authenticate => {
                let s = c
                    .authenticate(AuthenticateRequest {
                        agent_token: OTHER_TOKEN.into(),
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(s.business_id, OTHER, "{case:?}");
                None
            }
            Case::GetTranscript => {
                let e = c
                    .get_transcript(authed(
                        GetTranscriptRequest {
                            conversation,
                            limit: 10,
                        },
                        &intruder_session,
                    ))
                    .await
                    .unwrap_err();
                assert!(refused(e.code()), "{case:?}: {e:?}");
                assert!(!e.message().contains("secret"), "{case:?}");
                None
            }
            Case::ListConversations => {
                let r = c
                    .list_conversations(authed(ListConversationsRequest {}, &intruder_session))
                    .await
                    .unwrap()
                    .into_inner();
                assert!(r.conversations.is_empty(), "{case:?}: {r:?}");
                None
            }
            Case::ListCannedResponses => {
                let r = c
                    .list_canned_responses(authed(ListCannedResponsesRequest {}, &intruder_session))
                    .await
                    .unwrap()
                    .into_inner();
                assert!(
                    r.responses.iter().all(|x| !x.text.contains("Acme")),
                    "{case:?}: {r:?}"
                );
                None
            }
            Case::Accept => command(Command::Accept(Accept { conversation })),
            Case::Reply => command(Command::Reply(Reply {
                conversation,
                content: Some(Content::Text(OutboundText {
                    body: "hijack".into(),
                    attachments: Vec::new(),
                })),
            })),
            Case::Typing => command(Command::Typing(AgentTyping {
                conversation,
                active: true,
            })),
            Case::Transfer => command(Command::Transfer(Transfer {
                conversation,
                target: Some(transfer::Target::Queue("general".into())),
                note: String::new(),
            })),
            Case::Resolve => command(Command::Resolve(Resolve {
                conversation,
                ..Resolve::default()
            })),
            Case::RevokeSessions => {
                let e = c
                    .revoke_sessions(authed(
                        RevokeSessionsRequest {
                            agent_id: AGENT.into(),
                        },
                        &intruder_session,
                    ))
                    .await
                    .unwrap_err();
                assert!(refused(e.code()), "{case:?}: {e:?}");
                let still = c
                    .list_canned_responses(authed(ListCannedResponsesRequest {}, &owner_session))
                    .await;
                assert!(still.is_ok(), "{case:?}: the owner's session ended");
                None
            }
            Case::Decline => command(Command::Decline(Decline {
                conversation,
                reason: String::new(),
            })),
            Case::ReturnToBot => command(Command::ReturnToBot(ReturnConversationToBot {
                conversation,
                note: String::new(),
            })),
        };
        if let Some(command) = verdict {
            let result = intruder.command(command).await;
            assert!(!result.ok, "{case:?}: {result:?}");
            assert_eq!(
                result.error,
                CommandError::NotAllowed as i32,
                "{case:?}: {result:?}"
            );
        }
    }
    // Nothing reached the customer, and the intruder's stream carried none of Acme's events.
    assert!(
        platform
            .outbound(1, Duration::from_millis(800))
            .await
            .is_empty()
    );
    let leaked = tokio::time::timeout(Duration::from_millis(500), intruder.events.message()).await;
    assert!(
        leaked.is_err(),
        "unexpected event for the intruder: {leaked:?}"
    );
}
