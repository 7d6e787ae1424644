//! The `parley.v1.AgentGateway` gRPC service: the [`Desk`]'s calls over gRPC (the session
//! in `authorization: Bearer` metadata, [`DeskError`]s as statuses).

use std::{pin::Pin, sync::Arc};

use futures::Stream;
use parley_proto::v1::{
    AgentCommand, AgentEvent, AttachmentChunk, AuthenticateRequest, AuthenticateResponse,
    GetAttachmentRequest, GetTranscriptRequest, GetTranscriptResponse, ListAgentsRequest,
    ListAgentsResponse, ListCannedResponsesRequest, ListCannedResponsesResponse,
    ListConversationsRequest, ListConversationsResponse, ListQueuesRequest, ListQueuesResponse,
    RevokeSessionsRequest, RevokeSessionsResponse, SignOutRequest, SignOutResponse,
    UploadAttachmentChunk, UploadAttachmentResponse, agent_command,
    agent_gateway_server::AgentGateway,
};
use parley_telemetry::MetadataExtractor;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming, metadata::MetadataMap};
use tracing::Instrument as _;

use crate::desk::{Connection, Desk, DeskError, Session, Tail, command_result, invalid};

/// The gRPC service (cheap to clone).
#[derive(Clone)]
pub struct GatewayService {
    pub(crate) desk: Arc<Desk>,
}

impl From<DeskError> for Status {
    fn from(error: DeskError) -> Self {
        let message = error.to_string();
        match error {
            DeskError::Unauthenticated(_) => Status::unauthenticated(message),
            DeskError::PermissionDenied(_) => Status::permission_denied(message),
            DeskError::NotFound(_) => Status::not_found(message),
            DeskError::Invalid(_) => Status::invalid_argument(message),
            DeskError::TooLarge(_) => Status::resource_exhausted(message),
            DeskError::Unavailable => Status::unavailable(message),
        }
    }
}

/// The session token of a call's `authorization: Bearer` metadata.
fn bearer(metadata: &MetadataMap) -> Result<&str, Status> {
    metadata
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Status::unauthenticated("missing bearer session"))
}

fn span_for(name: &'static str, metadata: &MetadataMap) -> tracing::Span {
    let span = tracing::info_span!("agent_gateway", rpc = name);
    parley_telemetry::set_parent_from(&span, &MetadataExtractor(metadata));
    span
}

impl GatewayService {
    async fn session(&self, metadata: &MetadataMap) -> Result<Session, Status> {
        Ok(self.desk.session(bearer(metadata)?).await?)
    }
}

fn reference(conversation: Option<&parley_proto::v1::ConversationRef>) -> &str {
    conversation.map_or("", |c| c.id.as_str())
}

type EventStream = Pin<Box<dyn Stream<Item = Result<AgentEvent, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl AgentGateway for GatewayService {
    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let span = span_for("Authenticate", request.metadata());
        async {
            let signed = self.desk.sign_in(&request.get_ref().agent_token).await?;
            Ok(Response::new(AuthenticateResponse {
                session_token: signed.token,
                agent_id: signed.session.agent,
                business_id: signed.session.business,
                display_name: signed.session.display_name,
                expires_at: Some(prost_types::Timestamp::from(signed.expires_at)),
            }))
        }
        .instrument(span)
        .await
    }

    type ConnectStream = EventStream;

    async fn connect(
        &self,
        request: Request<Streaming<AgentCommand>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let span = span_for("Connect", request.metadata());
        let desk = self.desk.clone();
        let token = bearer(request.metadata())?.to_owned();
        let session = desk.session(&token).instrument(span.clone()).await?;
        let mut commands = request.into_inner();
        let first = commands
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("the connection ended before hello"))?;
        let Some(agent_command::Command::Hello(hello)) = first.command else {
            return Err(Status::invalid_argument("the first command must be hello"));
        };
        let welcome = desk.welcome(&session).await?;
        let (tx, mut rx) = mpsc::channel::<Result<AgentEvent, DeskError>>(256);
        let _ = tx.send(Ok(welcome)).await;
        let _ = tx.send(Ok(command_result(&first.command_id, Ok(())))).await;
        let stop = desk.stop.child_token();
        tokio::spawn(
            desk.clone()
                .tail(
                    Tail {
                        token: token.clone(),
                        session: session.clone(),
                        after: hello.resume_after_cursor,
                        stop: stop.clone(),
                    },
                    tx.clone(),
                )
                .instrument(span.clone()),
        );
        let mut connection = Connection {
            id: uuid::Uuid::now_v7().to_string(),
            presence: None,
        };
        tokio::spawn(
            async move {
                loop {
                    let next = tokio::select! {
                        () = stop.cancelled() => break,
                        next = commands.message() => next,
                    };
                    let command = match next {
                        Ok(Some(command)) => command,
                        Ok(None) => break,
                        Err(status) => {
                            tracing::debug!(%status, "agent connection ended");
                            break;
                        }
                    };
                    // A session that expired or was revoked ends the connection.
                    if let Err(error) = desk.session(&token).await {
                        let _ = tx.send(Err(error)).await;
                        break;
                    }
                    let outcome = match command.command {
                        Some(c) => {
                            desk.command(&session, &mut connection, c, &command.command_id)
                                .await
                        }
                        None => Err(invalid("no command")),
                    };
                    if tx
                        .send(Ok(command_result(&command.command_id, outcome)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                stop.cancel();
            }
            .instrument(span),
        );
        let stream = futures::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
                .map(|item| item.map(|r| r.map_err(Status::from)))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_transcript(
        &self,
        request: Request<GetTranscriptRequest>,
    ) -> Result<Response<GetTranscriptResponse>, Status> {
        let span = span_for("GetTranscript", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let request = request.get_ref();
            let entries = self
                .desk
                .transcript(
                    &session,
                    reference(request.conversation.as_ref()),
                    request.limit,
                )
                .await?;
            Ok(Response::new(GetTranscriptResponse { entries }))
        }
        .instrument(span)
        .await
    }

    async fn list_conversations(
        &self,
        request: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        let span = span_for("ListConversations", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let conversations = self.desk.conversations(&session).await?;
            Ok(Response::new(ListConversationsResponse { conversations }))
        }
        .instrument(span)
        .await
    }

    type GetAttachmentStream =
        Pin<Box<dyn Stream<Item = Result<AttachmentChunk, Status>> + Send + 'static>>;

    async fn get_attachment(
        &self,
        request: Request<GetAttachmentRequest>,
    ) -> Result<Response<Self::GetAttachmentStream>, Status> {
        use futures::StreamExt as _;
        let span = span_for("GetAttachment", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let request = request.get_ref();
            let body = self
                .desk
                .open_attachment(
                    &session,
                    reference(request.conversation.as_ref()),
                    &request.blob_key,
                )
                .await?;
            let size = body.size;
            let head = futures::stream::once(async move {
                Ok(AttachmentChunk {
                    data: Vec::new(),
                    size_bytes: size,
                })
            });
            let rest = body
                .bytes
                .map(|item| {
                    let pieces: Vec<Result<AttachmentChunk, Status>> = match item {
                        Ok(bytes) => bytes
                            .chunks(crate::attachments::CHUNK_BYTES)
                            .map(|piece| {
                                Ok(AttachmentChunk {
                                    data: piece.to_vec(),
                                    size_bytes: 0,
                                })
                            })
                            .collect(),
                        Err(error) => vec![Err(Status::from(error))],
                    };
                    futures::stream::iter(pieces)
                })
                .flatten();
            let stream: Self::GetAttachmentStream = Box::pin(head.chain(rest));
            Ok(Response::new(stream))
        }
        .instrument(span)
        .await
    }

    async fn upload_attachment(
        &self,
        request: Request<Streaming<UploadAttachmentChunk>>,
    ) -> Result<Response<UploadAttachmentResponse>, Status> {
        let span = span_for("UploadAttachment", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let mut chunks = request.into_inner();
            let first = chunks
                .message()
                .await?
                .ok_or_else(|| Status::invalid_argument("the upload is empty"))?;
            let limit = usize::try_from(crate::attachments::MAX_UPLOAD_BYTES).unwrap_or(usize::MAX);
            let mut data = first.data;
            while data.len() <= limit
                && let Some(chunk) = chunks.message().await?
            {
                data.extend_from_slice(&chunk.data);
            }
            let attachment = self
                .desk
                .put_attachment(
                    &session,
                    reference(first.conversation.as_ref()),
                    &first.name,
                    &first.mime_type,
                    data,
                )
                .await?;
            Ok(Response::new(UploadAttachmentResponse {
                attachment: Some(attachment),
            }))
        }
        .instrument(span)
        .await
    }

    async fn sign_out(
        &self,
        request: Request<SignOutRequest>,
    ) -> Result<Response<SignOutResponse>, Status> {
        let span = span_for("SignOut", request.metadata());
        async {
            self.desk.sign_out(bearer(request.metadata())?).await?;
            Ok(Response::new(SignOutResponse {}))
        }
        .instrument(span)
        .await
    }

    async fn revoke_sessions(
        &self,
        request: Request<RevokeSessionsRequest>,
    ) -> Result<Response<RevokeSessionsResponse>, Status> {
        let span = span_for("RevokeSessions", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            self.desk
                .revoke_sessions(&session, &request.get_ref().agent_id)
                .await?;
            Ok(Response::new(RevokeSessionsResponse {}))
        }
        .instrument(span)
        .await
    }

    async fn list_queues(
        &self,
        request: Request<ListQueuesRequest>,
    ) -> Result<Response<ListQueuesResponse>, Status> {
        let span = span_for("ListQueues", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let queues = self.desk.queues(&session).await?;
            Ok(Response::new(ListQueuesResponse { queues }))
        }
        .instrument(span)
        .await
    }

    async fn list_agents(
        &self,
        request: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let span = span_for("ListAgents", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let agents = self.desk.agent_summaries(&session).await?;
            Ok(Response::new(ListAgentsResponse { agents }))
        }
        .instrument(span)
        .await
    }

    async fn list_canned_responses(
        &self,
        request: Request<ListCannedResponsesRequest>,
    ) -> Result<Response<ListCannedResponsesResponse>, Status> {
        let span = span_for("ListCannedResponses", request.metadata());
        async {
            let session = self.session(request.metadata()).await?;
            let responses = self.desk.canned(&session);
            Ok(Response::new(ListCannedResponsesResponse { responses }))
        }
        .instrument(span)
        .await
    }
}
