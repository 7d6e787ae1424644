//! gRPC health (`grpc.health.v1`) and server reflection on the gateway's gRPC port.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::harness::platform;

const WAIT: Duration = Duration::from_secs(10);
const GATEWAY: &str = "parley.v1.AgentGateway";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_serves_then_reports_not_serving_on_shutdown_and_reflection_lists_the_api() {
    let p = platform().await;
    let stop = CancellationToken::new();
    let addr = p.gateway_until(stop.clone()).await;
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let mut health = HealthClient::new(channel.clone());
    for service in ["", GATEWAY] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    // Reflection lists the gateway's API and health, and serves the API's descriptors.
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol(GATEWAY.into()),
    ]
    .map(|r| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(r),
    });
    let mut answers = reflection
        .server_reflection_info(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let listed = tokio::time::timeout(WAIT, answers.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("{listed:?}")
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&GATEWAY), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    let file = tokio::time::timeout(WAIT, answers.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = file.message_response else {
        panic!("{file:?}")
    };
    assert!(!files.file_descriptor_proto.is_empty());
    drop(answers);

    // A watcher sees SERVING, then NOT_SERVING as soon as the gateway starts draining.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: GATEWAY.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(WAIT, watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
    stop.cancel();
    let next = tokio::time::timeout(WAIT, watch.message())
        .await
        .expect("the watch hears of the shutdown within the bound")
        .unwrap()
        .expect("a status before the stream ends");
    assert_eq!(next.status(), ServingStatus::NotServing);
}
