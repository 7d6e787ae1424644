//! The notification API over gRPC (`parley.v1.NotificationService`), on notification-consent's
//! gRPC port: the same calls as [`crate::http`], `authorization: Bearer <token>` metadata,
//! W3C `traceparent` honoured. Refusals map to status codes as `notification.proto` says.

use parley_proto::v1::{
    GetConsentRequest, GetConsentResponse, SendNotificationRequest, SendNotificationResponse,
    SetConsentRequest, TopicConsent, notification_service_server::NotificationService,
};
use parley_telemetry::MetadataExtractor;
use tonic::{Request, Response, Status, metadata::MetadataValue};
use tracing::Instrument as _;

use crate::{
    notify::{Api, Refusal, RefusalKind},
    policy::Client,
};

/// The gRPC service over the shared [`Api`].
pub(crate) struct GrpcApi(pub(crate) Api);

fn status(refusal: Refusal) -> Status {
    let message = format!("{}: {}", refusal.code, refusal.message);
    match refusal.kind {
        RefusalKind::Invalid => Status::invalid_argument(message),
        RefusalKind::Unauthenticated => Status::unauthenticated(message),
        RefusalKind::NoConsent => Status::permission_denied(message),
        RefusalKind::NoConversation => Status::not_found(message),
        RefusalKind::Closed => Status::failed_precondition(message),
        RefusalKind::QuietHours(seconds) => {
            let mut status = Status::failed_precondition(message);
            if let Ok(value) = MetadataValue::try_from(seconds.to_string()) {
                status.metadata_mut().insert("retry-after", value);
            }
            status
        }
        RefusalKind::Unavailable => Status::unavailable(message),
    }
}

fn span<T>(name: &'static str, request: &Request<T>) -> tracing::Span {
    let span = tracing::info_span!("notification_api", call = name, transport = "grpc");
    parley_telemetry::set_parent_from(&span, &MetadataExtractor(request.metadata()));
    span
}

fn authorization<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl GrpcApi {
    /// One call: its span (parented by the caller's `traceparent`), the caller's client,
    /// then `call` over owned parts (so the future is `Send` whatever `call` borrows).
    async fn call<Req, Resp, Fut>(
        &self,
        name: &'static str,
        request: Request<Req>,
        call: impl FnOnce(Api, Client, Req) -> Fut,
    ) -> Result<Response<Resp>, Status>
    where
        Fut: Future<Output = Result<Resp, Refusal>>,
    {
        let span = span(name, &request);
        let authorization = authorization(&request);
        let client = span
            .in_scope(|| self.0.authenticate(authorization.as_deref()).cloned())
            .map_err(status)?;
        call(self.0.clone(), client, request.into_inner())
            .instrument(span)
            .await
            .map(Response::new)
            .map_err(status)
    }
}

#[tonic::async_trait]
impl NotificationService for GrpcApi {
    async fn send_notification(
        &self,
        request: Request<SendNotificationRequest>,
    ) -> Result<Response<SendNotificationResponse>, Status> {
        self.call("send_notification", request, async |api, client, r| {
            api.send_notification(&client, r).await
        })
        .await
    }

    async fn set_consent(
        &self,
        request: Request<SetConsentRequest>,
    ) -> Result<Response<TopicConsent>, Status> {
        self.call("set_consent", request, async |api, client, r| {
            api.set_consent(&client, r).await
        })
        .await
    }

    async fn get_consent(
        &self,
        request: Request<GetConsentRequest>,
    ) -> Result<Response<GetConsentResponse>, Status> {
        self.call("get_consent", request, async |api, client, r| {
            api.get_consent(&client, r).await
        })
        .await
    }
}
