//! Tokens for sessions.

use parley_proto::v1::{AuthenticateRequest, ListCannedResponsesRequest};
use tonic::Code;

use crate::harness::{self, AGENT, AGENT_TOKEN, BIZ, authed, client};

#[tokio::test]
async fn the_right_token_gets_a_session_and_a_wrong_one_is_refused() {
    let platform = harness::platform().await;
    let addr = platform.gateway().await;
    let mut c = client(addr).await;
    let ok = c
        .authenticate(AuthenticateRequest {
            agent_token: AGENT_TOKEN.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.agent_id, AGENT);
    assert_eq!(ok.business_id, BIZ);
    assert_eq!(ok.display_name, "Sam");
    assert_eq!(ok.session_token.len(), 64);
    assert!(ok.expires_at.is_some());

    let wrong = c
        .authenticate(AuthenticateRequest {
            agent_token: "not-a-token".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);

    // The session works; no session and a made-up session do not.
    let canned = c
        .list_canned_responses(authed(ListCannedResponsesRequest {}, &ok.session_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canned.responses.len(), 1);
    let none = c
        .list_canned_responses(ListCannedResponsesRequest {})
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
    let forged = c
        .list_canned_responses(authed(ListCannedResponsesRequest {}, &"0".repeat(64)))
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
}
