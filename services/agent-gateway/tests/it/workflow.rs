//! The agent workflow's rules: an agent accepts only what was offered to it, declares no more
//! capacity than the administrator allows, never receives Apple's JSON of a customer's
//! message whose data reference failed, learns the outcome of each of its replies, and loses
//! its sessions when it signs out or they are revoked.

use std::time::Duration;

use parley_bus::Outgoing;
use parley_proto::{
    Event as _,
    v1::{
        Accept, Actor, ActorKind, AgentConversationContext, AgentStatus, AttachmentRef,
        CommandError, ConversationEvent, ConversationKey as KeyProto, ConversationState,
        DataRefFailure, Decline, DeliveryResult, EventMeta, GetAttachmentRequest,
        GetTranscriptRequest, InboundMessage, InteractiveDataRef, InteractiveReply, LifecycleState,
        ListAgentsRequest, ListCannedResponsesRequest, ListConversationsRequest, ListQueuesRequest,
        NewAssignment, OutboundText, RefusalReason, Refused, Reply, ReturnConversationToBot,
        RevokeSessionsRequest, Sent, SetPresence, SignOutRequest, Transfer, UploadAttachmentChunk,
        agent_command::Command, agent_event, agent_task, conversation_event, delivery_result,
        inbound_message, interactive_reply, reply, routing_command, transfer,
    },
};
use parley_state::AgentPool as _;
use prost::Message as _;

use crate::harness::{
    self, AGENT, AGENT_TOKEN, Agent, BIZ, COLLEAGUE, COLLEAGUE_TOKEN, SUPERVISOR_TOKEN, authed,
    client, offered_ref,
};

#[tokio::test]
async fn an_agent_accepts_only_a_conversation_offered_to_it() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let mut owner = Agent::connect(addr, &owner_session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&owner.next_logged().await);

    // A colleague of the same business who learned the reference cannot take it.
    let colleague_session = harness::session(addr, COLLEAGUE_TOKEN).await;
    let mut colleague = Agent::connect(addr, &colleague_session, 0).await;
    let taken = colleague
        .command(Command::Accept(Accept {
            conversation: Some(reference.clone()),
        }))
        .await;
    assert!(!taken.ok, "{taken:?}");
    assert_eq!(taken.error, CommandError::NotAllowed as i32);

    // The agent it was offered to can.
    let accepted = owner
        .command(Command::Accept(Accept {
            conversation: Some(reference),
        }))
        .await;
    assert!(accepted.ok, "{accepted:?}");
    let commands = platform.routing(1, Duration::from_secs(10)).await;
    let accepts: Vec<String> = commands
        .iter()
        .filter_map(|c| match &c.command {
            Some(routing_command::Command::Accept(a)) => Some(a.agent_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        accepts,
        [AGENT.to_owned()],
        "only the owner's accept reaches routing"
    );
}

#[tokio::test]
async fn a_capacity_above_the_allowed_maximum_or_a_skill_not_allowed_is_refused() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let session = harness::session(addr, COLLEAGUE_TOKEN).await;
    let mut agent = Agent::connect(addr, &session, 0).await;
    let presence = |capacity, skills: &[&str]| {
        Command::Presence(SetPresence {
            status: AgentStatus::Available as i32,
            capacity,
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        })
    };

    for (capacity, skills) in [(4, &["fr"][..]), (3, &["fr", "billing"][..])] {
        let refused = agent.command(presence(capacity, skills)).await;
        assert!(!refused.ok, "{refused:?}");
        assert_eq!(refused.error, CommandError::Invalid as i32);
        assert!(
            platform.pool.agents(BIZ).await.unwrap().is_empty(),
            "a refused presence changes nothing"
        );
    }

    let allowed = agent.command(presence(3, &["fr"])).await;
    assert!(allowed.ok, "{allowed:?}");
    let agents = platform.pool.agents(BIZ).await.unwrap();
    let me = agents.iter().find(|a| a.agent_id == COLLEAGUE).unwrap();
    assert_eq!(me.capacity, 3);
    assert_eq!(me.skills, ["fr".to_owned()]);
}

#[tokio::test]
async fn a_failed_data_reference_reaches_the_agent_without_apples_json() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let mut agent = Agent::connect(addr, &session, 0).await;
    platform.offer(&key, AGENT).await;
    offered_ref(&agent.next_logged().await);

    let opaque = key.opaque.as_str().to_owned();
    let secret_key = "00aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
    let secret_url = "https://p.apple.example/reference";
    platform
        .task(
            &key,
            AGENT,
            agent_task::Task::CustomerMessage(InboundMessage {
                meta: Some(EventMeta {
                    event_id: "in-data-ref".into(),
                    conversation: Some(KeyProto {
                        business_id: BIZ.into(),
                        opaque_id: opaque.clone(),
                    }),
                    ..Default::default()
                }),
                apple_message_id: "apple-1".into(),
                kind: Some(inbound_message::Kind::InteractiveReply(InteractiveReply {
                    bid: "com.example.ext".into(),
                    raw_json: format!(
                        r#"{{"sourceId":"{opaque}","interactiveDataRef":{{"key":"{secret_key}","url":"{secret_url}"}}}}"#
                    ),
                    reply: Some(interactive_reply::Reply::DataRefFailure(DataRefFailure {
                        data_ref: Some(InteractiveDataRef {
                            bid: "com.example.ext".into(),
                            url: secret_url.into(),
                            owner: "owner-token".into(),
                            key: secret_key.into(),
                            signature: "cafe".into(),
                            title: "Your order".into(),
                            size: 20_000,
                            ..Default::default()
                        }),
                        reason: 2,
                        detail: "download failed".into(),
                    })),
                    ..Default::default()
                })),
                ..Default::default()
            }),
        )
        .await;
    let event = agent.next_logged().await;
    let bytes = event.encode_to_vec();
    for secret in [
        opaque.as_str(),
        "sourceId",
        secret_key,
        secret_url,
        "owner-token",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the agent received {secret:?}: {event:?}"
        );
    }
    let Some(agent_event::Event::CustomerMessage(message)) = event.event else {
        panic!("expected the customer's message, got {event:?}");
    };
    let Some(inbound_message::Kind::InteractiveReply(reply)) = message.message.and_then(|m| m.kind)
    else {
        panic!("expected an interactive reply");
    };
    assert!(reply.raw_json.is_empty());
    let Some(interactive_reply::Reply::DataRefFailure(failure)) = reply.reply else {
        panic!("expected the data reference failure");
    };
    assert_eq!(failure.detail, "download failed");
    let reference = failure.data_ref.unwrap();
    assert_eq!(
        (
            reference.bid.as_str(),
            reference.title.as_str(),
            reference.size
        ),
        ("com.example.ext", "Your order", 20_000)
    );
}

/// A delivery result on `amb.events.delivery`, as outbound publishes it.
async fn publish_result(
    platform: &harness::Platform,
    reply: &parley_proto::v1::OutboundMessage,
    sender: parley_proto::v1::Actor,
    outcome: delivery_result::Outcome,
) {
    let meta = reply.meta.clone().unwrap();
    let partition =
        parley_types::Partition::new(meta.partition, platform.config.partitions).unwrap();
    let id = format!("{}-delivery-{}", meta.event_id, uuid::Uuid::now_v7());
    let result = DeliveryResult {
        meta: Some(EventMeta {
            event_id: id.clone(),
            conversation: meta.conversation.clone(),
            partition: meta.partition,
            producer: "outbound".into(),
            schema_version: 1,
            ..Default::default()
        }),
        outbound_event_id: meta.event_id.clone(),
        apple_message_id: reply.apple_message_id.clone(),
        sender: Some(sender),
        outcome: Some(outcome),
        ..Default::default()
    };
    platform
        .backends
        .bus
        .publish(Outgoing::new(
            platform
                .backends
                .namespace
                .event_subject("delivery", partition),
            id,
            DeliveryResult::TYPE,
            result.encode_to_vec(),
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_outcome_of_an_agents_reply_reaches_the_agent() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let mut agent = Agent::connect(addr, &session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&agent.next_logged().await);
    let sent = agent
        .command(Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(reply::Content::Text(OutboundText {
                body: "Hi".into(),
                attachments: Vec::new(),
            })),
        }))
        .await;
    assert!(sent.ok, "{sent:?}");
    let reply = platform
        .outbound(1, Duration::from_secs(10))
        .await
        .pop()
        .expect("the reply on amb.outbound");
    let opaque = key.opaque.as_str().to_owned();

    // The bot's result for the same conversation is not the agent's; the agent's refusal
    // (Apple's explanation quoting the customer's id) is, without the id.
    publish_result(
        &platform,
        &reply,
        Actor {
            kind: ActorKind::Bot as i32,
            id: "bot".into(),
            display_name: String::new(),
        },
        delivery_result::Outcome::Sent(Sent { data_ref: None }),
    )
    .await;
    publish_result(
        &platform,
        &reply,
        reply.sender.clone().unwrap(),
        delivery_result::Outcome::Refused(Refused {
            reason: RefusalReason::ConversationClosed as i32,
            missing_capabilities: Vec::new(),
            detail: format!("{opaque} closed the conversation"),
        }),
    )
    .await;
    let event = agent.next_logged().await;
    let bytes = event.encode_to_vec();
    assert!(
        !bytes.windows(opaque.len()).any(|w| w == opaque.as_bytes()),
        "the agent received the opaque id: {event:?}"
    );
    let Some(agent_event::Event::Delivery(delivery)) = event.event else {
        panic!("expected the reply's delivery, got {event:?}");
    };
    assert_eq!(delivery.conversation, Some(reference));
    assert_eq!(delivery.command_id, sent.command_id);
    let result = delivery.result.unwrap();
    assert_eq!(result.sender.unwrap().id, AGENT);
    let Some(delivery_result::Outcome::Refused(refused)) = result.outcome else {
        panic!("expected the refusal");
    };
    assert_eq!(refused.reason, RefusalReason::ConversationClosed as i32);
}

#[tokio::test]
async fn a_transcript_is_read_by_whom_it_was_offered_to_and_by_supervisors_only() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    platform
        .backends
        .store
        .append_transcript(
            &key,
            harness::customer_entry("my order", "m-1")
                .encode_to_vec()
                .into(),
        )
        .await
        .unwrap();
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let mut owner = Agent::connect(addr, &owner_session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&owner.next_logged().await);
    let read = |session: String| {
        let reference = reference.clone();
        async move {
            client(addr)
                .await
                .get_transcript(authed(
                    GetTranscriptRequest {
                        conversation: Some(reference),
                        limit: 0,
                    },
                    &session,
                ))
                .await
                .map(|r| r.into_inner().entries.len())
        }
    };

    let colleague = read(harness::session(addr, COLLEAGUE_TOKEN).await).await;
    assert_eq!(
        colleague.map_err(|s| s.code()),
        Err(tonic::Code::PermissionDenied),
        "a colleague it was never offered to"
    );
    let supervisor = read(harness::session(addr, SUPERVISOR_TOKEN).await).await;
    assert_eq!(supervisor.map_err(|s| s.code()), Ok(1), "a supervisor");
    assert_eq!(
        read(owner_session.clone()).await.map_err(|s| s.code()),
        Ok(1)
    );

    // The conversation leaves the agent (the pool no longer holds it): its agent still reads
    // what it worked on.
    platform
        .pool
        .release(BIZ, AGENT, &key.hash_tag())
        .await
        .unwrap();
    assert_eq!(read(owner_session).await.map_err(|s| s.code()), Ok(1));
}

#[tokio::test]
async fn an_agent_declines_or_returns_to_the_bot_only_its_own_conversation() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let mut owner = Agent::connect(addr, &owner_session, 0).await;
    platform
        .task(
            &key,
            AGENT,
            agent_task::Task::NewAssignment(NewAssignment {
                context: Some(AgentConversationContext::default()),
                queue: "general".into(),
                summary: "asked for opening hours".into(),
                transfer_note: "wants a refund".into(),
                previous_agent_id: COLLEAGUE.into(),
                ..Default::default()
            }),
        )
        .await;
    let offer = owner.next_logged().await;
    let Some(agent_event::Event::Assignment(ref details)) = offer.event else {
        panic!("expected an offer, got {offer:?}");
    };
    assert_eq!(
        (
            details.summary.as_str(),
            details.transfer_note.as_str(),
            details.previous_agent_id.as_str()
        ),
        ("asked for opening hours", "wants a refund", COLLEAGUE)
    );
    let reference = offered_ref(&offer);

    let colleague_session = harness::session(addr, COLLEAGUE_TOKEN).await;
    let mut colleague = Agent::connect(addr, &colleague_session, 0).await;
    for command in [
        Command::Decline(Decline {
            conversation: Some(reference.clone()),
            reason: String::new(),
        }),
        Command::ReturnToBot(ReturnConversationToBot {
            conversation: Some(reference.clone()),
            note: String::new(),
        }),
    ] {
        let refused = colleague.command(command).await;
        assert_eq!(
            refused.error,
            CommandError::NotAllowed as i32,
            "{refused:?}"
        );
    }

    let declined = owner
        .command(Command::Decline(Decline {
            conversation: Some(reference.clone()),
            reason: "out of my depth".into(),
        }))
        .await;
    assert!(declined.ok, "{declined:?}");
    let returned = owner
        .command(Command::ReturnToBot(ReturnConversationToBot {
            conversation: Some(reference),
            note: "the bot knows the hours".into(),
        }))
        .await;
    assert!(returned.ok, "{returned:?}");
    let commands = platform.routing(2, Duration::from_secs(10)).await;
    let seen: Vec<(String, String)> = commands
        .iter()
        .filter_map(|c| match &c.command {
            Some(routing_command::Command::Decline(d)) => {
                Some((d.agent_id.clone(), d.reason.clone()))
            }
            Some(routing_command::Command::ReturnToBot(r)) => {
                Some((r.agent_id.clone(), r.note.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        [
            (AGENT.to_owned(), "out of my depth".to_owned()),
            (AGENT.to_owned(), "the bot knows the hours".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_conversation_list_says_when_the_customer_last_wrote() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let wrote = prost_types::Timestamp {
        seconds: 1_700_000_123,
        nanos: 0,
    };
    let state = ConversationState {
        lifecycle: LifecycleState::Assigned as i32,
        queue: "general".into(),
        assigned_agent_id: AGENT.into(),
        last_customer_message_at: Some(wrote),
        ..Default::default()
    };
    platform
        .backends
        .store
        .compare_and_set(&key, 0, state.encode_to_vec().into())
        .await
        .unwrap();
    let session = harness::session(addr, AGENT_TOKEN).await;
    let listed = client(addr)
        .await
        .list_conversations(authed(ListConversationsRequest {}, &session))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.conversations.len(), 1);
    assert_eq!(
        listed.conversations[0].last_customer_message_at,
        Some(wrote)
    );
    assert_eq!(listed.conversations[0].queue, "general");
    // Nobody answered since: the customer has waited since then.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1_700_000_123;
    let waited = listed.conversations[0].waited_seconds;
    assert!(waited.abs_diff(since) <= 5, "{waited} vs {since}");
}

#[tokio::test]
async fn signing_out_and_revoking_end_sessions_and_their_connections() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let works = |session: String| async move {
        client(addr)
            .await
            .list_canned_responses(authed(ListCannedResponsesRequest {}, &session))
            .await
            .map(|_| ())
            .map_err(|s| s.code())
    };
    let first = harness::session(addr, AGENT_TOKEN).await;
    let second = harness::session(addr, AGENT_TOKEN).await;

    // Signing out ends that session only.
    client(addr)
        .await
        .sign_out(authed(SignOutRequest {}, &first))
        .await
        .unwrap();
    assert_eq!(works(first).await, Err(tonic::Code::Unauthenticated));
    assert_eq!(works(second.clone()).await, Ok(()));

    // Only the agent itself or a supervisor revokes an agent's sessions.
    let revoke = |session: String, agent: &str| {
        let agent = agent.to_owned();
        async move {
            client(addr)
                .await
                .revoke_sessions(authed(RevokeSessionsRequest { agent_id: agent }, &session))
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        }
    };
    let colleague = harness::session(addr, COLLEAGUE_TOKEN).await;
    assert_eq!(
        revoke(colleague.clone(), AGENT).await,
        Err(tonic::Code::PermissionDenied)
    );
    assert_eq!(works(second.clone()).await, Ok(()));
    let supervisor = harness::session(addr, SUPERVISOR_TOKEN).await;
    assert_eq!(
        revoke(supervisor.clone(), "nobody").await,
        Err(tonic::Code::NotFound)
    );

    // A supervisor revokes them all: calls and the open connection end.
    let mut connected = Agent::connect(addr, &second, 0).await;
    assert!(matches!(
        connected.next().await.event,
        Some(agent_event::Event::Welcome(_))
    ));
    assert_eq!(revoke(supervisor, AGENT).await, Ok(()));
    assert_eq!(works(second).await, Err(tonic::Code::Unauthenticated));
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match connected.events.message().await {
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(status) => return Some(status.code()),
            }
        }
    })
    .await
    .expect("the revoked connection ends");
    assert_eq!(ended, Some(tonic::Code::Unauthenticated));
    assert_eq!(works(colleague).await, Ok(()), "other agents keep theirs");
    // Signing in again works.
    let fresh = harness::session(addr, AGENT_TOKEN).await;
    assert_eq!(works(fresh).await, Ok(()));
}

#[tokio::test]
async fn an_agent_downloads_its_conversations_files_and_replies_with_its_own_upload() {
    use object_store::{ObjectStoreExt as _, PutPayload, path::Path};
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    let other = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let session = harness::session(addr, AGENT_TOKEN).await;
    let mut agent = Agent::connect(addr, &session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&agent.next_logged().await);

    // What ingest stored: the customer's photo, and another customer's.
    let blobs = parley_runtime::open_blob_store(&platform.config.blobs).unwrap();
    let photo = format!("inbound/{BIZ}/{}/in-1/0", key.opaque.redacted());
    let foreign = format!("inbound/{BIZ}/{}/in-9/0", other.opaque.redacted());
    let photo_of_other = foreign.clone();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for path in [&photo, &foreign] {
        blobs
            .put(
                &Path::from(path.as_str()),
                PutPayload::from(content.clone()),
            )
            .await
            .unwrap();
    }
    let download = |session: String, blob: String| {
        let reference = reference.clone();
        async move {
            let mut stream = client(addr)
                .await
                .get_attachment(authed(
                    GetAttachmentRequest {
                        conversation: Some(reference),
                        blob_key: blob,
                    },
                    &session,
                ))
                .await
                .map_err(|s| s.code())?
                .into_inner();
            let mut size = None;
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.message().await.map_err(|s| s.code())? {
                size.get_or_insert(chunk.size_bytes);
                bytes.extend_from_slice(&chunk.data);
            }
            Ok::<_, tonic::Code>((size.unwrap_or(0), bytes))
        }
    };
    let (size, bytes) = download(session.clone(), photo.clone()).await.unwrap();
    assert_eq!(size, content.len() as u64);
    assert!(bytes == content, "the download is byte-identical");
    assert_eq!(
        download(session.clone(), foreign.clone()).await.err(),
        Some(tonic::Code::PermissionDenied),
        "another conversation's file"
    );
    let colleague = harness::session(addr, COLLEAGUE_TOKEN).await;
    assert_eq!(
        download(colleague.clone(), photo.clone()).await.err(),
        Some(tonic::Code::PermissionDenied),
        "an agent it was never offered to"
    );

    // The agent uploads a file in two parts and sends it.
    let upload = |session: String, conversation| async move {
        let parts = vec![
            UploadAttachmentChunk {
                conversation: Some(conversation),
                name: "menu.pdf".into(),
                mime_type: "application/pdf".into(),
                data: b"%PDF-1.4 ".to_vec(),
            },
            UploadAttachmentChunk {
                data: b"the menu".to_vec(),
                ..Default::default()
            },
        ];
        client(addr)
            .await
            .upload_attachment(authed(futures::stream::iter(parts), &session))
            .await
            .map(|r| r.into_inner().attachment.unwrap())
            .map_err(|s| s.code())
    };
    assert_eq!(
        upload(colleague, reference.clone()).await.err(),
        Some(tonic::Code::PermissionDenied)
    );
    let uploaded = upload(session.clone(), reference.clone()).await.unwrap();
    assert_eq!(uploaded.size_bytes, 17);
    let blob_key = uploaded.blob.as_ref().unwrap().key.clone();
    let (_, stored) = download(session.clone(), blob_key).await.unwrap();
    assert_eq!(stored, b"%PDF-1.4 the menu");

    let reply = |attachment: AttachmentRef| {
        Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(reply::Content::Text(OutboundText {
                body: "Our menu".into(),
                attachments: vec![attachment],
            })),
        })
    };
    let mut stolen = uploaded.clone();
    stolen.blob.as_mut().unwrap().key = foreign.clone();
    let refused = agent.command(reply(stolen)).await;
    assert_eq!(
        refused.error,
        CommandError::NotAllowed as i32,
        "{refused:?}"
    );
    let link = agent
        .command(Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(reply::Content::RichLink(parley_proto::v1::RichLink {
                url: "https://example.com/menu".into(),
                title: "Menu".into(),
                image: Some(parley_proto::v1::RichLinkImage {
                    source: Some(parley_proto::v1::rich_link_image::Source::Blob(
                        parley_proto::v1::BlobRef {
                            key: foreign,
                            ..Default::default()
                        },
                    )),
                    mime_type: "image/png".into(),
                }),
                video: None,
            })),
        }))
        .await;
    assert_eq!(link.error, CommandError::NotAllowed as i32, "{link:?}");
    let quick = agent
        .command(Command::Reply(Reply {
            conversation: Some(reference.clone()),
            content: Some(reply::Content::QuickReply(
                parley_proto::v1::QuickReplyRequest {
                    common: Some(parley_proto::v1::InteractiveCommon {
                        images: vec![parley_proto::v1::InteractiveImage {
                            identifier: "1".into(),
                            source: Some(parley_proto::v1::interactive_image::Source::Blob(
                                parley_proto::v1::BlobRef {
                                    key: photo_of_other.clone(),
                                    ..Default::default()
                                },
                            )),
                            mime_type: "image/png".into(),
                        }],
                        ..Default::default()
                    }),
                    summary_text: "Pick one".into(),
                    items: vec![
                        parley_proto::v1::QuickReplyItem {
                            identifier: "a".into(),
                            title: "A".into(),
                        },
                        parley_proto::v1::QuickReplyItem {
                            identifier: "b".into(),
                            title: "B".into(),
                        },
                    ],
                },
            )),
        }))
        .await;
    assert_eq!(quick.error, CommandError::NotAllowed as i32, "{quick:?}");
    let sent = agent.command(reply(uploaded.clone())).await;
    assert!(sent.ok, "{sent:?}");
    let out = platform.outbound(1, Duration::from_secs(10)).await;
    assert_eq!(out.len(), 1, "only the reply with its own file went out");
    let Some(parley_proto::v1::outbound_message::Kind::Text(text)) = &out[0].kind else {
        panic!("expected a text, got {:?}", out[0]);
    };
    assert_eq!(text.attachments, vec![uploaded]);
}

#[tokio::test]
async fn a_supervisor_sees_every_agent_and_conversation_and_reassigns() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let key = platform.customer(BIZ, "QUICK").await;
    platform.assign(&key, AGENT).await;
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let mut owner = Agent::connect(addr, &owner_session, 0).await;
    platform.offer(&key, AGENT).await;
    let reference = offered_ref(&owner.next_logged().await);
    let supervisor_session = harness::session(addr, SUPERVISOR_TOKEN).await;
    let colleague_session = harness::session(addr, COLLEAGUE_TOKEN).await;

    // Agents: only a supervisor lists them, with presence and load.
    let agents = |session: String| async move {
        client(addr)
            .await
            .list_agents(authed(ListAgentsRequest {}, &session))
            .await
            .map(|r| r.into_inner().agents)
            .map_err(|s| s.code())
    };
    assert_eq!(
        agents(colleague_session.clone()).await.err(),
        Some(tonic::Code::PermissionDenied)
    );
    let listed = agents(supervisor_session.clone()).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, [AGENT, COLLEAGUE, harness::SUPERVISOR]);
    let owner_row = &listed[0];
    assert_eq!(owner_row.display_name, "Sam");
    assert_eq!(owner_row.status, AgentStatus::Available as i32);
    assert_eq!((owner_row.capacity, owner_row.load), (10, 1));
    assert_eq!(listed[1].status, AgentStatus::Offline as i32);

    // Conversations: the supervisor sees the agent's, with who holds it; a colleague not.
    let conversations = |session: String| async move {
        client(addr)
            .await
            .list_conversations(authed(ListConversationsRequest {}, &session))
            .await
            .unwrap()
            .into_inner()
            .conversations
    };
    let seen = conversations(supervisor_session.clone()).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].conversation.as_ref(), Some(&reference));
    assert_eq!(seen[0].assigned_agent_id, AGENT);
    assert!(conversations(colleague_session.clone()).await.is_empty());

    // A colleague cannot move it; the supervisor reassigns it to the colleague.
    let transfer = || {
        Command::Transfer(Transfer {
            conversation: Some(reference.clone()),
            target: Some(transfer::Target::AgentId(COLLEAGUE.into())),
            note: "Kim knows this customer".into(),
        })
    };
    let mut colleague = Agent::connect(addr, &colleague_session, 0).await;
    let refused = colleague.command(transfer()).await;
    assert_eq!(
        refused.error,
        CommandError::NotAllowed as i32,
        "{refused:?}"
    );
    let mut supervisor = Agent::connect(addr, &supervisor_session, 0).await;
    let moved = supervisor.command(transfer()).await;
    assert!(moved.ok, "{moved:?}");
    let commands = platform.routing(1, Duration::from_secs(10)).await;
    let targets: Vec<_> = commands
        .iter()
        .filter_map(|c| match &c.command {
            Some(routing_command::Command::Transfer(t)) => Some(t.target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        targets,
        [Some(
            parley_proto::v1::transfer_conversation::Target::ToAgentId(COLLEAGUE.into())
        )]
    );
}

/// Queues `key` in the pool and tells the gateway, as routing does.
async fn queued(
    platform: &harness::Platform,
    key: &parley_types::ConversationKey,
    skills: &[&str],
) {
    let skills: Vec<String> = skills.iter().map(|s| (*s).to_owned()).collect();
    platform
        .pool
        .enqueue(
            BIZ,
            "general",
            &parley_state::QueueEntry {
                conversation: key.opaque.as_str().to_owned(),
                priority: 0,
                enqueued_at_ms: 1,
                required_skills: skills.clone(),
                declined: Vec::new(),
            },
        )
        .await
        .unwrap();
    conversation_event(
        platform,
        key,
        conversation_event::Transition::Queued(parley_proto::v1::Queued {
            queue: "general".into(),
            skills,
            response_target_seconds: 300,
            ..Default::default()
        }),
    )
    .await;
}

async fn conversation_event(
    platform: &harness::Platform,
    key: &parley_types::ConversationKey,
    transition: conversation_event::Transition,
) {
    let partition = platform.config.partitions.of(key);
    let id = uuid::Uuid::now_v7().to_string();
    let event = ConversationEvent {
        meta: Some(EventMeta {
            event_id: id.clone(),
            conversation: Some(KeyProto {
                business_id: BIZ.into(),
                opaque_id: key.opaque.as_str().to_owned(),
            }),
            partition: partition.get(),
            occurred_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            ..Default::default()
        }),
        transition: Some(transition),
        ..Default::default()
    };
    platform
        .backends
        .bus
        .publish(Outgoing::new(
            platform
                .backends
                .namespace
                .event_subject("conversation", partition),
            id,
            ConversationEvent::TYPE,
            event.encode_to_vec(),
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn waiting_conversations_are_listed_for_the_agents_who_can_take_them_and_supervisors() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let french = platform.customer(BIZ, "QUICK").await;
    let anyone = platform.customer(BIZ, "QUICK").await;
    queued(&platform, &french, &["fr"]).await;
    queued(&platform, &anyone, &[]).await;

    // The owner declares no skills, the colleague French.
    let owner_session = harness::session(addr, AGENT_TOKEN).await;
    let colleague_session = harness::session(addr, COLLEAGUE_TOKEN).await;
    for (session, skills) in [
        (&owner_session, vec![]),
        (&colleague_session, vec!["fr".to_owned()]),
    ] {
        let mut agent = Agent::connect(addr, session, 0).await;
        let set = agent
            .command(Command::Presence(SetPresence {
                status: AgentStatus::Available as i32,
                capacity: 2,
                skills,
            }))
            .await;
        assert!(set.ok, "{set:?}");
    }
    let list = |session: String| async move {
        client(addr)
            .await
            .list_conversations(authed(ListConversationsRequest {}, &session))
            .await
            .unwrap()
            .into_inner()
            .conversations
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let colleague = loop {
        let seen = list(colleague_session.clone()).await;
        if seen.len() == 2 {
            break seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await; // the gateway's consumer lags
    };
    assert!(
        colleague
            .iter()
            .all(|c| c.queue == "general" && c.assigned_agent_id.is_empty())
    );
    let mut places: Vec<u32> = colleague.iter().map(|c| c.position).collect();
    places.sort_unstable();
    assert_eq!(places, [1, 2]);
    assert!(
        colleague.iter().all(|c| c.response_target_seconds == 300),
        "the queue's response target, for the time left: {colleague:?}"
    );
    let owner = list(owner_session).await;
    assert_eq!(owner.len(), 1, "only what its skills cover: {owner:?}");

    let supervisor_session = harness::session(addr, SUPERVISOR_TOKEN).await;
    let queues = |session: String| async move {
        client(addr)
            .await
            .list_queues(authed(ListQueuesRequest {}, &session))
            .await
            .map(|r| r.into_inner().queues)
            .map_err(|s| s.code())
    };
    assert_eq!(
        queues(colleague_session).await.err(),
        Some(tonic::Code::PermissionDenied)
    );
    let seen = queues(supervisor_session.clone()).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].queue.as_str(), seen[0].waiting), ("general", 2));
    assert_eq!(list(supervisor_session.clone()).await.len(), 2);

    // Once one is taken it no longer waits.
    platform
        .pool
        .dequeue(BIZ, "general", french.opaque.as_str())
        .await
        .unwrap();
    conversation_event(
        &platform,
        &french,
        conversation_event::Transition::Assigned(parley_proto::v1::Assigned {
            agent_id: COLLEAGUE.into(),
            ..Default::default()
        }),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = queues(supervisor_session.clone()).await.unwrap();
        if seen.first().map(|q| q.waiting) == Some(1) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await; // the gateway's consumer lags
    }
}
