//! Outages of the table or the key: a 503 with `Retry-After` when a retry may mend it, a 500 "misconfigured" when
//! only the deployment can, and either way nothing half-written.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest::{Method, StatusCode};
use rsvp::seal::{KmsSealer, Sealer};
use rsvp::store::Store;
use rsvp::store::dynamodb::DynamoStore;
use rsvp_tests::TestApp;
use rsvp_tests::harness::OWNER;
use serde_json::{Value, json};

use super::{create_community, log_text, server, spawn};

/// A DynamoDB client for `endpoint` with short timeouts and the SDK's standard retries, as Lambda's is configured.
fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = rsvp_tests::aws_config!(aws_sdk_dynamodb, endpoint, "local")
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(50)))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(6))
                .build(),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A stand-in for a throttling DynamoDB: every request gets the throughput error DynamoDB answers when it
/// throttles. Returns its URL and how many requests it answered.
async fn throttling_table() -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                // One request per connection is enough for the SDK's purposes; read what it sent, answer, close.
                let _ = socket.read(&mut buffer).await;
                *counter.lock().unwrap() += 1;
                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}"#;
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Every operation a store outage can meet answers 503, `Retry-After` and an `ErrorResponse`, never a 500.
async fn assert_unavailable(app: &TestApp) {
    let admin = app.admin(OWNER);
    let calls = [
        (Method::POST, "/api/v1-preview/communities".to_owned(), Some(json!({"Name": "Ops"}))),
        (Method::GET, "/api/v1-preview/communities".to_owned(), None),
        (Method::POST, "/api/users/invitations".to_owned(), Some(json!({"EmailAddresses": ["a@b.example"]}))),
        (Method::GET, "/api/businesses/tenant-owner/settings?IncludeUserSettings=true".to_owned(), None),
    ];
    for (method, path, body) in calls {
        let answer = app.call(method, &path, Some(&admin), body).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", answer.body);
        assert_eq!(answer.retry_after(), Some("2"), "{path}");
        assert!(answer.body["Reason"].as_str().is_some_and(|r| r.contains("nothing was changed")), "{}", answer.body);
        assert!(answer.body["OperationId"].as_str().is_some_and(|v| !v.is_empty()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_is_a_503_with_retry_after() {
    let port = rsvp_tests::closed_port();
    let store = DynamoStore::new(client_at(&format!("http://127.0.0.1:{port}")), "rsvp");
    assert_unavailable(&spawn(Arc::new(store)).await).await;
}

/// Each operation of `calls` answers 500 with an `ErrorResponse` that says the service is misconfigured, and no
/// `Retry-After`: a retry cannot mend a deployment. The requests' operation ids, which their log lines carry.
async fn assert_misconfigured(app: &TestApp, calls: &[(Method, String, Option<Value>)]) -> Vec<String> {
    let admin = app.admin(OWNER);
    let mut ids = Vec::new();
    for (method, path, body) in calls {
        let answer = app.call(method.clone(), path, Some(&admin), body.clone()).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {}", answer.body);
        assert_eq!(answer.retry_after(), None, "{path}: no retry mends a deployment");
        let reason = answer.body["Reason"].as_str().unwrap_or_default();
        assert!(reason.contains("misconfigured") && reason.contains("Nothing was changed"), "{}", answer.body);
        assert!(answer.body["Resolution"].as_str().is_some_and(|r| r.contains("Retrying will not help")));
        ids.extend(answer.body["OperationId"].as_str().map(str::to_owned));
    }
    ids
}

/// A deployment pointed at a table that does not exist (a wrong `RSVP_TABLE_NAME`, a stack half deleted) is not an
/// outage: every operation answers 500 "misconfigured" at once, not a 503 that invites retries for ever, and the
/// log says so at error level with DynamoDB's own error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_a_500_that_says_misconfigured_never_a_503() {
    let table = format!("rsvp-missing-{}", uuid::Uuid::new_v4().simple());
    let store = DynamoStore::new(rsvp_tests::dynamodb().await, table);
    let app = spawn(Arc::new(store)).await;
    let calls = [
        (Method::POST, "/api/v1-preview/communities".to_owned(), Some(json!({"Name": "Ops"}))),
        (Method::GET, "/api/v1-preview/communities".to_owned(), None),
        (Method::POST, "/api/users/invitations".to_owned(), Some(json!({"EmailAddresses": ["a@b.example"]}))),
        (Method::GET, "/api/businesses/tenant-owner/settings?IncludeUserSettings=true".to_owned(), None),
    ];
    let ids = assert_misconfigured(&app, &calls).await;
    let log = log_text();
    // This binary's log is every test's: the line is one of these requests'.
    let ours = |l: &&str| ids.iter().any(|id| l.contains(&format!("\"operation_id\":\"{id}\"")));
    let line =
        log.lines().filter(ours).find(|l| l.contains("\"kind\":\"misconfigured\"")).expect("a misconfigured line");
    assert!(line.contains("\"level\":\"ERROR\"") && line.contains("ResourceNotFoundException"), "{line}");
}

/// A KMS key that does not exist (or is disabled, or refused to the function's role) is the deployment's fault
/// too: creating an invitation, which must seal its link for the email, answers 500 "misconfigured" and writes
/// nothing, against moto's KMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_a_500_that_says_misconfigured_and_writes_nothing() {
    let kms = rsvp_tests::harness::moto::kms();
    let missing_key = uuid::Uuid::new_v4().to_string();
    let sealer: Arc<dyn Sealer> = Arc::new(KmsSealer::new(kms, missing_key));
    let store: Arc<dyn Store> = Arc::new(rsvp_tests::fresh_dynamo_store().await);
    let app = server(store).sealer(sealer).spawn().await;
    let admin = app.admin(OWNER);
    let invitations = create_community(&app, &admin, "Sealed").await;
    let calls = [(Method::POST, invitations.clone(), Some(json!({"InvitationRecipient": "bob@guest.example"})))];
    assert_misconfigured(&app, &calls).await;
    let listed = app.call(Method::GET, &invitations, Some(&admin), None).await;
    assert_eq!((listed.status, listed.body), (StatusCode::OK, json!([])), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_table_is_a_503_with_retry_after_after_the_sdks_retries() {
    let (url, seen) = throttling_table().await;
    let store = DynamoStore::new(client_at(&url), "rsvp");
    assert_unavailable(&spawn(Arc::new(store)).await).await;
    assert!(*seen.lock().unwrap() >= 4 * 3, "each call was tried three times");
}

/// A failed write leaves nothing behind: after an outage, the same store (now reachable) shows no trace of the
/// requests that failed, and the same requests then succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_met_an_outage_left_nothing_half_written() {
    let real = rsvp_tests::fresh_dynamo_store().await;
    let table = real.table_name().to_owned();
    let port = rsvp_tests::closed_port();
    let down = spawn(Arc::new(DynamoStore::new(client_at(&format!("http://127.0.0.1:{port}")), table.clone()))).await;
    assert_unavailable(&down).await;
    let up = spawn(Arc::new(real)).await;
    let admin = up.admin(OWNER);
    let listed = up.call(Method::GET, "/api/v1-preview/communities", Some(&admin), None).await;
    assert_eq!((listed.status, listed.body.clone()), (StatusCode::OK, json!([])), "nothing was written");
    let created =
        up.call(Method::POST, "/api/v1-preview/communities", Some(&admin), Some(json!({"Name": "Ops"}))).await;
    assert_eq!(created.status, StatusCode::CREATED);
}
