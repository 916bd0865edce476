//! Health and reflection: what grpcurl and load balancers use, open without a caller token.

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};
use usvc_tests::{Backend, backends, spawn};

use super::Grpc;

async fn health_reports_every_service_serving(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let mut health = HealthClient::new(grpc.channel());
    for service in [
        "",
        "usvc.v1.AuthService",
        "usvc.v1.UserService",
        "usvc.v1.ProfileService",
    ] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e:?}"))
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "usvc.v1.Nothing".to_owned(),
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);
}

async fn reflection_lists_the_services(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let mut reflection = ServerReflectionClient::new(grpc.channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(futures_lite::stream::once(request))
        .await
        .expect("reflection answers")
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "usvc.v1.AuthService",
        "usvc.v1.UserService",
        "usvc.v1.ProfileService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }

    // A client can fetch the schema of a method's messages, as grpcurl does.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "usvc.v1.AuthService".to_owned(),
        )),
    };
    let mut replies = reflection
        .server_reflection_info(futures_lite::stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let Some(MessageResponse::FileDescriptorResponse(files)) = reply.message_response else {
        panic!("not a descriptor: {reply:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

backends!(
    health_reports_every_service_serving,
    reflection_lists_the_services,
    calls_are_counted_by_method_and_code
);

async fn calls_are_counted_by_method_and_code(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let request = usvc_proto::usvc::v1::ValidateTokenRequest {
        access_token: "nonsense".to_owned(),
    };
    let refused = grpc.auth().validate_token(grpc.call(request)).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::Unauthenticated);
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = metrics.lines().any(|line| {
        line.starts_with("usvc_grpc_requests_total{")
            && line.contains(r#"method="/usvc.v1.AuthService/ValidateToken""#)
            && line.contains(r#"code="Unauthenticated""#)
    });
    assert!(counted, "{metrics}");
    assert!(metrics.contains("usvc_grpc_request_duration_seconds"));
}
