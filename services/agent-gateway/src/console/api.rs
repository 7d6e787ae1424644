//! The console's JSON API: sign-in and sign-out, the agent's conversations, transcripts,
//! files, commands, and the supervisor's views. Every handler is one desk call.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use parley_proto::v1::{
    AgentStatus, AttachmentRef, BlobRef, BubbleLayout, CommandError, ConversationRef,
    InteractiveCommon, ListPickerItem, ListPickerRequest, ListPickerSection, OutboundText,
    QuickReplyItem, QuickReplyRequest, Reply, RichLink, SetPresence, TimePickerEvent,
    TimePickerRequest, TimeSlot, Transfer, agent_command::Command, reply, transfer,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Console,
    cookies::{self, SignedInAgent},
    json as view,
};
use crate::desk::{Connection, DeskError};

/// Bodies of the JSON calls (a reply with its choices is small; files go to their own
/// route with its own bound).
const MAX_JSON_BYTES: usize = 256 * 1024;

/// Why an API call was refused, as a status and a line saying what was wrong.
#[derive(Debug)]
pub(crate) enum ApiError {
    Desk(DeskError),
    /// A state change without the session's CSRF token or from another origin.
    Forbidden(&'static str),
    /// A command the desk refused.
    Refused(CommandError, String),
    /// The request itself is malformed.
    BadRequest(String),
}

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        Self::Desk(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::Desk(error) => {
                let status = match error {
                    DeskError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                    DeskError::PermissionDenied(_) => StatusCode::FORBIDDEN,
                    DeskError::NotFound(_) => StatusCode::NOT_FOUND,
                    DeskError::Invalid(_) => StatusCode::BAD_REQUEST,
                    DeskError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    DeskError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                };
                (status, error.to_string())
            }
            Self::Forbidden(why) => (StatusCode::FORBIDDEN, why.to_owned()),
            Self::Refused(error, detail) => {
                let status = match error {
                    CommandError::NotAllowed => StatusCode::FORBIDDEN,
                    CommandError::CapabilityMissing => StatusCode::UNPROCESSABLE_ENTITY,
                    CommandError::ConversationEnded => StatusCode::CONFLICT,
                    CommandError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                    CommandError::Invalid | CommandError::Unspecified => StatusCode::BAD_REQUEST,
                };
                (status, detail)
            }
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, why),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/api/session", post(sign_in).delete(sign_out))
        .route("/api/me", get(me))
        .route("/api/conversations", get(conversations))
        .route("/api/conversations/{reference}", get(conversation))
        .route("/api/conversations/{reference}/transcript", get(transcript))
        .route("/api/commands", post(command))
        .route("/api/canned", get(canned))
        .route("/api/queues", get(queues))
        .route("/api/agents", get(agents))
        .route("/api/agents/{agent}/revoke-sessions", post(revoke))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .merge(
            Router::new()
                .route(
                    "/api/conversations/{reference}/files",
                    post(upload).get(download),
                )
                .layer(DefaultBodyLimit::max(
                    usize::try_from(crate::attachments::MAX_UPLOAD_BYTES).unwrap_or(usize::MAX),
                )),
        )
}

/// A JSON body, or a 400 saying what is wrong with it.
fn parse<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::BadRequest(
            "the body must be JSON (Content-Type: application/json)".to_owned(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a valid request: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

fn whoami(console: &Console, agent: &crate::desk::Session, csrf: &str) -> Value {
    json!({
        "agent_id": agent.agent,
        "display_name": agent.display_name,
        "business_id": agent.business,
        "supervisor": console.desk.is_supervisor(agent),
        "max_capacity": console
            .desk
            .agents
            .entry(&agent.business, &agent.agent)
            .map_or(0, crate::agents::AgentEntry::max_capacity),
        "csrf_token": csrf,
    })
}

/// `POST /api/session {"token": …}`: the agent's token for a session cookie. JSON only (a
/// cross-site form cannot send it) and from the console's origin.
async fn sign_in(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    if !cookies::same_origin(&headers) {
        return Err(ApiError::Forbidden("the request comes from another origin"));
    }
    let request: SignIn = parse(&headers, &body)?;
    let signed = console.desk.sign_in(request.token.trim()).await?;
    let csrf = cookies::csrf_token(&signed.token);
    let cookie = cookies::session_cookie(
        &signed.token,
        console.desk.options.session_ttl.as_secs(),
        console.options.secure_cookies,
    );
    let mut response = Json(whoami(&console, &signed.session, &csrf)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `DELETE /api/session`: signs out (the session is deleted, not only the cookie).
async fn sign_out(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    console.desk.sign_out(&agent.token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) =
        HeaderValue::from_str(&cookies::cleared_cookie(console.options.secure_cookies))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /api/me`: who is signed in, and the CSRF token for state changes.
async fn me(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    let csrf = cookies::csrf_token(&agent.token);
    Ok(Json(whoami(&console, &agent.session, &csrf)).into_response())
}

async fn conversations(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    let list = console.desk.conversations(&agent.session).await?;
    Ok(Json(json!({
        "conversations": list.iter().map(view::summary).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn conversation(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    Path(reference): Path<String>,
) -> ApiResult {
    let detail = console
        .desk
        .conversation_detail(&agent.session, &reference)
        .await?;
    Ok(Json(view::detail(&reference, &detail)).into_response())
}

#[derive(Deserialize)]
struct TranscriptQuery {
    #[serde(default)]
    limit: u32,
}

async fn transcript(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    Path(reference): Path<String>,
    Query(query): Query<TranscriptQuery>,
) -> ApiResult {
    let entries = console
        .desk
        .transcript(&agent.session, &reference, query.limit)
        .await?;
    Ok(Json(json!({
        "entries": entries.iter().map(view::entry).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn canned(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    let canned = console.desk.canned(&agent.session);
    Ok(
        Json(json!({ "responses": canned.iter().map(view::canned).collect::<Vec<_>>() }))
            .into_response(),
    )
}

async fn queues(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    let queues = console.desk.queues(&agent.session).await?;
    Ok(
        Json(json!({ "queues": queues.iter().map(view::queue).collect::<Vec<_>>() }))
            .into_response(),
    )
}

async fn agents(State(console): State<Arc<Console>>, agent: SignedInAgent) -> ApiResult {
    let agents = console.desk.agent_summaries(&agent.session).await?;
    Ok(
        Json(json!({ "agents": agents.iter().map(view::agent).collect::<Vec<_>>() }))
            .into_response(),
    )
}

async fn revoke(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    Path(target): Path<String>,
) -> ApiResult {
    console
        .desk
        .revoke_sessions(&agent.session, &target)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct FileQuery {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    mime_type: String,
}

/// Image types a browser may show inline (an SVG, HTML or anything else is a download: a
/// customer's file must never run as the console's own page).
const INLINE_IMAGES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/heic",
];

/// `GET /api/conversations/{ref}/files?key=…&name=…&type=…`: a file of a conversation the
/// agent may read; images inline (for the preview), everything else as a download.
async fn download(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    Path(reference): Path<String>,
    Query(query): Query<FileQuery>,
) -> ApiResult {
    let body = console
        .desk
        .open_attachment(&agent.session, &reference, &query.key)
        .await?;
    let inline = INLINE_IMAGES.contains(&query.mime_type.as_str());
    let content_type = if inline {
        query.mime_type.as_str()
    } else {
        "application/octet-stream"
    };
    let name: String = query
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .collect();
    let disposition = format!(
        "{}; filename=\"{}\"",
        if inline { "inline" } else { "attachment" },
        if name.trim().is_empty() {
            "file"
        } else {
            name.trim()
        }
    );
    let mut response = Body::from_stream(body.bytes).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_LENGTH, body.size.to_string()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

/// `POST /api/conversations/{ref}/files?name=…&type=…` with the file as the body: stores an
/// agent's file for a conversation it holds; answers the attachment to send in a reply.
async fn upload(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    Path(reference): Path<String>,
    Query(query): Query<FileQuery>,
    body: Bytes,
) -> ApiResult {
    let attachment = console
        .desk
        .put_attachment(
            &agent.session,
            &reference,
            &query.name,
            &query.mime_type,
            body.to_vec(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view::attachment(&attachment))).into_response())
}

/// A command as the console sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    /// The page's id for the command (a retry sends the same one: it is applied once).
    command_id: String,
    command: ConsoleCommand,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ConsoleCommand {
    Presence {
        status: String,
        capacity: u32,
        #[serde(default)]
        skills: Vec<String>,
    },
    Accept {
        conversation: String,
    },
    Decline {
        conversation: String,
        #[serde(default)]
        reason: String,
    },
    Reply {
        conversation: String,
        content: ReplyContent,
    },
    Typing {
        conversation: String,
        active: bool,
    },
    Transfer {
        conversation: String,
        #[serde(default)]
        agent_id: String,
        #[serde(default)]
        queue: String,
        #[serde(default)]
        note: String,
    },
    ReturnToBot {
        conversation: String,
        #[serde(default)]
        note: String,
    },
    Resolve {
        conversation: String,
        #[serde(default)]
        code: String,
        #[serde(default)]
        note: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ReplyContent {
    Text {
        body: String,
        #[serde(default)]
        attachments: Vec<FileJson>,
    },
    QuickReply {
        prompt: String,
        items: Vec<String>,
    },
    ListPicker {
        title: String,
        #[serde(default)]
        subtitle: String,
        items: Vec<ChoiceJson>,
    },
    TimePicker {
        title: String,
        /// Minutes east of UTC of the times offered (the business's zone).
        #[serde(default)]
        timezone_offset_minutes: Option<i32>,
        slots: Vec<SlotJson>,
    },
}

#[derive(Deserialize)]
struct FileJson {
    key: String,
    #[serde(default)]
    store: String,
    #[serde(default)]
    sha256: String,
    name: String,
    mime_type: String,
    #[serde(default)]
    size_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChoiceJson {
    title: String,
    #[serde(default)]
    subtitle: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotJson {
    /// Milliseconds since the Unix epoch.
    start_ms: i64,
    duration_minutes: u32,
}

/// A text that is one web address and nothing else, which the console sends as a rich link.
fn lone_url(body: &str) -> Option<&str> {
    let body = body.trim();
    let rest = body
        .strip_prefix("https://")
        .or_else(|| body.strip_prefix("http://"))?;
    (!rest.is_empty() && !body.contains(char::is_whitespace)).then_some(body)
}

fn conversation_ref(id: String) -> Option<ConversationRef> {
    Some(ConversationRef { id })
}

fn bubble(title: String, subtitle: String) -> Option<InteractiveCommon> {
    Some(InteractiveCommon {
        received_message: Some(BubbleLayout {
            title,
            subtitle,
            ..BubbleLayout::default()
        }),
        ..InteractiveCommon::default()
    })
}

fn reply_content(content: ReplyContent) -> reply::Content {
    match content {
        ReplyContent::Text { body, attachments } => {
            if attachments.is_empty()
                && let Some(url) = lone_url(&body)
            {
                return reply::Content::RichLink(RichLink {
                    url: url.to_owned(),
                    title: url.to_owned(),
                    ..RichLink::default()
                });
            }
            reply::Content::Text(OutboundText {
                body,
                attachments: attachments
                    .into_iter()
                    .map(|f| AttachmentRef {
                        blob: Some(BlobRef {
                            store: f.store,
                            key: f.key,
                            sha256: f.sha256,
                            size_bytes: f.size_bytes,
                        }),
                        mime_type: f.mime_type,
                        size_bytes: f.size_bytes,
                        name: f.name,
                    })
                    .collect(),
            })
        }
        ReplyContent::QuickReply { prompt, items } => {
            reply::Content::QuickReply(QuickReplyRequest {
                common: bubble(prompt.clone(), String::new()),
                summary_text: prompt,
                items: items
                    .into_iter()
                    .enumerate()
                    .map(|(i, title)| QuickReplyItem {
                        identifier: (i + 1).to_string(),
                        title,
                    })
                    .collect(),
            })
        }
        ReplyContent::ListPicker {
            title,
            subtitle,
            items,
        } => reply::Content::ListPicker(ListPickerRequest {
            common: bubble(title.clone(), subtitle),
            sections: vec![ListPickerSection {
                title,
                order: 0,
                multiple_selection: false,
                items: items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| ListPickerItem {
                        identifier: (i + 1).to_string(),
                        title: item.title,
                        subtitle: item.subtitle,
                        order: u32::try_from(i).unwrap_or(u32::MAX),
                        ..ListPickerItem::default()
                    })
                    .collect(),
            }],
        }),
        ReplyContent::TimePicker {
            title,
            timezone_offset_minutes,
            slots,
        } => reply::Content::TimePicker(TimePickerRequest {
            common: bubble(title.clone(), String::new()),
            event: Some(TimePickerEvent {
                identifier: String::new(),
                title,
                timezone_offset_minutes,
                timeslots: slots
                    .into_iter()
                    .enumerate()
                    .map(|(i, slot)| TimeSlot {
                        identifier: (i + 1).to_string(),
                        start_time: Some(prost_types::Timestamp {
                            seconds: slot.start_ms.div_euclid(1000),
                            nanos: 0,
                        }),
                        duration_seconds: slot.duration_minutes.saturating_mul(60),
                    })
                    .collect(),
            }),
        }),
    }
}

fn to_command(command: ConsoleCommand) -> Result<Command, ApiError> {
    Ok(match command {
        ConsoleCommand::Presence {
            status,
            capacity,
            skills,
        } => {
            let status = match status.as_str() {
                "available" => AgentStatus::Available,
                "away" => AgentStatus::Away,
                "offline" => AgentStatus::Offline,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "`status` is available, away or offline, not `{other}`"
                    )));
                }
            };
            Command::Presence(SetPresence {
                status: status as i32,
                capacity,
                skills,
            })
        }
        ConsoleCommand::Accept { conversation } => Command::Accept(parley_proto::v1::Accept {
            conversation: conversation_ref(conversation),
        }),
        ConsoleCommand::Decline {
            conversation,
            reason,
        } => Command::Decline(parley_proto::v1::Decline {
            conversation: conversation_ref(conversation),
            reason,
        }),
        ConsoleCommand::Reply {
            conversation,
            content,
        } => Command::Reply(Reply {
            conversation: conversation_ref(conversation),
            content: Some(reply_content(content)),
        }),
        ConsoleCommand::Typing {
            conversation,
            active,
        } => Command::Typing(parley_proto::v1::AgentTyping {
            conversation: conversation_ref(conversation),
            active,
        }),
        ConsoleCommand::Transfer {
            conversation,
            agent_id,
            queue,
            note,
        } => {
            let target = match (agent_id.trim().is_empty(), queue.trim().is_empty()) {
                (false, true) => transfer::Target::AgentId(agent_id),
                (true, false) => transfer::Target::Queue(queue),
                _ => {
                    return Err(ApiError::BadRequest(
                        "a transfer names either `agent_id` or `queue`".to_owned(),
                    ));
                }
            };
            Command::Transfer(Transfer {
                conversation: conversation_ref(conversation),
                target: Some(target),
                note,
            })
        }
        ConsoleCommand::ReturnToBot { conversation, note } => {
            Command::ReturnToBot(parley_proto::v1::ReturnConversationToBot {
                conversation: conversation_ref(conversation),
                note,
            })
        }
        ConsoleCommand::Resolve {
            conversation,
            code,
            note,
        } => Command::Resolve(parley_proto::v1::Resolve {
            conversation: conversation_ref(conversation),
            note,
            resolution_code: code,
        }),
    })
}

/// `POST /api/commands`: one agent command; 200 when it was taken, else the status that
/// says why not (403 not the agent's, 422 the device cannot show it, 400 malformed, 503
/// retry).
async fn command(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: CommandBody = parse(&headers, &body)?;
    if request.command_id.trim().is_empty() || request.command_id.len() > 128 {
        return Err(ApiError::BadRequest(
            "`command_id` is required (at most 128 bytes)".to_owned(),
        ));
    }
    let command = to_command(request.command)?;
    // The console holds no connection between calls: its event stream keeps presence
    // alive (see events).
    let mut connection = Connection {
        id: format!("console-{}", cookies::csrf_token(&agent.token)),
        presence: None,
    };
    console
        .desk
        .command(
            &agent.session,
            &mut connection,
            command,
            &request.command_id,
        )
        .await
        .map_err(|(error, detail)| ApiError::Refused(error, detail))?;
    Ok(Json(json!({ "command_id": request.command_id, "ok": true })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_web_address_becomes_a_rich_link() {
        assert_eq!(
            lone_url(" https://acme.test/a "),
            Some("https://acme.test/a")
        );
        assert_eq!(lone_url("see https://acme.test"), None);
        assert_eq!(lone_url("https://"), None);
        assert_eq!(lone_url("ftp://acme.test"), None);
    }

    #[test]
    fn commands_parse_and_unknown_fields_are_refused() {
        let body: CommandBody = serde_json::from_value(json!({
            "command_id": "c1",
            "command": {"reply": {"conversation": "r", "content": {"list_picker": {
                "title": "Sizes", "items": [{"title": "M"}]}}}}
        }))
        .expect("a list picker reply");
        let Ok(Command::Reply(reply)) = to_command(body.command) else {
            panic!("a reply");
        };
        assert!(matches!(reply.content, Some(reply::Content::ListPicker(_))));
        assert!(
            serde_json::from_value::<CommandBody>(json!({
                "command_id": "c1", "command": {"accept": {"conversation": "r", "x": 1}}
            }))
            .is_err()
        );
        let transfer: CommandBody = serde_json::from_value(json!({
            "command_id": "c2",
            "command": {"transfer": {"conversation": "r"}}
        }))
        .expect("parses");
        assert!(
            to_command(transfer.command).is_err(),
            "a transfer needs a target"
        );
    }
}
