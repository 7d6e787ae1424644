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

use crate::notify::{Api, Refusal, RefusalKind};

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

#[tonic::async_trait]
impl NotificationService for GrpcApi {
    async fn send_notification(
        &self,
        request: Request<SendNotificationRequest>,
    ) -> Result<Response<SendNotificationResponse>, Status> {
        let span = span("send_notification", &request);
        let authorization = authorization(&request);
        async {
            let client = self
                .0
                .authenticate(authorization.as_deref())
                .map_err(status)?;
            self.0
                .send_notification(client, request.into_inner())
                .await
                .map(Response::new)
                .map_err(status)
        }
        .instrument(span)
        .await
    }

    async fn set_consent(
        &self,
        request: Request<SetConsentRequest>,
    ) -> Result<Response<TopicConsent>, Status> {
        let span = span("set_consent", &request);
        let authorization = authorization(&request);
        async {
            let client = self
                .0
                .authenticate(authorization.as_deref())
                .map_err(status)?;
            self.0
                .set_consent(client, request.into_inner())
                .await
                .map(Response::new)
                .map_err(status)
        }
        .instrument(span)
        .await
    }

    async fn get_consent(
        &self,
        request: Request<GetConsentRequest>,
    ) -> Result<Response<GetConsentResponse>, Status> {
        let span = span("get_consent", &request);
        let authorization = authorization(&request);
        async {
            let client = self
                .0
                .authenticate(authorization.as_deref())
                .map_err(status)?;
            self.0
                .get_consent(client, request.into_inner())
                .await
                .map(Response::new)
                .map_err(status)
        }
        .instrument(span)
        .await
    }
}
