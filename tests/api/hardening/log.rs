//! The log: one JSON line per request, and not one secret, token or address in it.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{log_text, spawn};

/// A whole handshake of each dialect, then the log: one JSON line per request with its id, operation, status and
/// latency, and not one secret, token or address in any line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_one_line_per_request_and_no_secret_token_or_address() {
    let app = spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let owner = app.admin(("tenant-logs", "admin@logs-owner.example"));
    let guest = app.admin(("tenant-logs-guest", "bob@logs-guest.example"));
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Logs"}))).await;
    let community = community.body["Id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1-preview/communities/{community}/invitations");
    let created = app
        .call(Method::POST, &path, Some(&owner), Some(json!({"InvitationRecipient": "bob@logs-guest.example"})))
        .await;
    let id = created.body["Id"].as_str().unwrap().to_owned();
    let secret = created.body["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1.to_owned();
    let process = format!("/api/v1-preview/communityinvitations/{id}");
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@logs-guest.example"});
    let accepted = app.process_with_link(&id, &guest, &secret, accept).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Confirm"}))).await.status,
        StatusCode::ACCEPTED
    );
    // Refusals that quote what the caller sent: a bad address list, a wrong token.
    app.call(
        Method::PUT,
        "/api/businesses/tenant-logs/usersettings",
        Some(&owner),
        Some(json!({"InviteUnregisteredUsers": true})),
    )
    .await;
    let bad = json!({"EmailAddresses": ["eve@logs-leak.example", "not-an-address"]});
    assert_eq!(
        app.call(Method::POST, "/api/users/invitations", Some(&owner), Some(bad)).await.status,
        StatusCode::BAD_REQUEST
    );
    let wrong =
        app.call(Method::GET, "/api/v1-preview/communities", Some("not.a-valid.token-but-a-long-one"), None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // Refusals of the server itself, whose sentences quote the path: a sign-up code under the wrong method, and a
    // mistyped landing page link with its secret.
    let code = "3f1c2b9a-0000-4000-8000-000000000000.leaked-signup-code-in-a-path";
    let wrong_method = app.call(Method::DELETE, &format!("/api/users/signupUser/{code}"), Some(&owner), None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let mistyped = format!("/invite/{id}/typo/leaked-secret-in-a-mistyped-link");
    assert_eq!(app.call(Method::GET, &mistyped, Some(&owner), None).await.status, StatusCode::NOT_FOUND);

    let log = log_text();
    assert!(log.contains("\"kind\":\"wrong_method\"") && log.contains("\"kind\":\"no_route\""), "{log}");
    for needle in [
        code,
        "leaked-secret-in-a-mistyped-link",
        &secret,
        &owner,
        &guest,
        "bob@logs-guest.example",
        "admin@logs-owner.example",
        "eve@logs-leak.example",
        "ops@logs-guest.example",
    ] {
        assert!(!log.contains(needle), "the log carries {needle:?}");
    }
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| matches!(l["message"].as_str(), Some("answered" | "refused" | "failed")))
        .collect();
    let ours: Vec<&Value> = lines.iter().filter(|l| l["operation"] == "process_invitation").collect();
    assert!(ours.len() >= 2, "one line per request: {log}");
    // Every request's line (answered, refused or failed) names its request and how it ended: a route's line also
    // its operation and latency, the server's own refusal (no route, a wrong method) its kind.
    for line in &lines {
        for field in ["operation_id", "status"] {
            assert!(!line[field].is_null(), "{field} missing in {line}");
        }
        if line["operation"].is_null() {
            assert!(line["kind"].is_string(), "kind missing in {line}");
        } else {
            assert!(!line["latency_ms"].is_null(), "latency_ms missing in {line}");
        }
    }
}
