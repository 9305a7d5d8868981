//! Hardening: outages of the table answer 503 with `Retry-After` and change nothing, the log never carries a
//! secret, a token or an address, races of many requests on one thing have one winner, and racing emails never
//! pass the mail budgets — against DynamoDB Local (the mail budgets against both stores) and real HTTP.
//!
//! The test binary captures its own log (every request's one JSON line) in memory, as CloudWatch would hold it.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use futures::future::join_all;
use reqwest::{Client, Method, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::{Clock as _, FixedClock, MailBudget, Timestamp, seconds_to_next_day};
use rsvp::seal::{KmsSealer, Sealer};
use rsvp::store::Store;
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the tracing subscriber of this binary wrote.
static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once (the same JSON format `rsvp::lambda::init_tracing` writes in Lambda).
fn capture_log() -> Arc<Mutex<Vec<u8>>> {
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .with_target(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
    .clone()
}

fn log_text() -> String {
    String::from_utf8_lossy(&capture_log().lock().unwrap()).into_owned()
}

struct TestApp {
    url: String,
    key: SigningKey,
    http: Client,
    clock: Arc<FixedClock>,
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl TestApp {
    async fn spawn(store: Arc<dyn Store>) -> Self {
        Self::spawn_with(store, MailBudget::default(), rsvp_tests::present()).await
    }

    /// A server with the deployment's mail budget `mail`, its clock standing at `now`.
    async fn spawn_with(store: Arc<dyn Store>, mail: MailBudget, now: Timestamp) -> Self {
        Self::spawn_sealed(store, mail, now, None).await
    }

    /// [`TestApp::spawn_with`], sealing with `sealer` when given (else the App's own).
    async fn spawn_sealed(
        store: Arc<dyn Store>,
        mail: MailBudget,
        now: Timestamp,
        sealer: Option<Arc<dyn Sealer>>,
    ) -> Self {
        capture_log();
        let clock = Arc::new(FixedClock::at(now));
        let config = Config { public_url: Some("https://rsvp.test".into()), mail, ..Config::default() };
        let mut app = App::new(store, config).with_clock(clock.clone());
        if let Some(sealer) = sealer {
            app = app.with_sealer(sealer);
        }
        let app = Arc::new(app);
        let key = SigningKey::generate();
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), app, key.clone()).await.expect("bind");
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        Self { url, key, http: Client::new(), clock }
    }

    fn token(&self, tenant: &str, email: &str, roles: &[&str]) -> String {
        self.key.mint(&TokenClaims::new(tenant, email, roles))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.unwrap();
        Answer { status, retry_after, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }
}

/// A DynamoDB client for `endpoint` with short timeouts and the SDK's standard retries, as Lambda's is configured.
fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "rsvp-tests"))
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

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
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
    let admin = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let calls = [
        (Method::POST, "/api/v1-preview/communities".to_owned(), Some(json!({"Name": "Ops"}))),
        (Method::GET, "/api/v1-preview/communities".to_owned(), None),
        (Method::POST, "/api/users/invitations".to_owned(), Some(json!({"EmailAddresses": ["a@b.example"]}))),
        (Method::GET, "/api/businesses/tenant-owner/settings?IncludeUserSettings=true".to_owned(), None),
    ];
    for (method, path, body) in calls {
        let answer = app.call(method, &path, &admin, body, &[]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {}", answer.body);
        assert_eq!(answer.retry_after.as_deref(), Some("2"), "{path}");
        assert!(answer.body["Reason"].as_str().is_some_and(|r| r.contains("nothing was changed")), "{}", answer.body);
        assert!(answer.body["OperationId"].as_str().is_some_and(|v| !v.is_empty()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_is_a_503_with_retry_after() {
    let port = closed_port().await;
    let store = DynamoStore::new(client_at(&format!("http://127.0.0.1:{port}")), "rsvp");
    assert_unavailable(&TestApp::spawn(Arc::new(store)).await).await;
}

/// Each operation of `calls` answers 500 with an `ErrorResponse` that says the service is misconfigured, and no
/// `Retry-After`: a retry cannot mend a deployment.
async fn assert_misconfigured(app: &TestApp, calls: &[(Method, String, Option<Value>)]) {
    let admin = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    for (method, path, body) in calls {
        let answer = app.call(method.clone(), path, &admin, body.clone(), &[]).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {}", answer.body);
        assert_eq!(answer.retry_after, None, "{path}: no retry mends a deployment");
        let reason = answer.body["Reason"].as_str().unwrap_or_default();
        assert!(reason.contains("misconfigured") && reason.contains("Nothing was changed"), "{}", answer.body);
        assert!(answer.body["Resolution"].as_str().is_some_and(|r| r.contains("Retrying will not help")));
    }
}

/// A deployment pointed at a table that does not exist (a wrong `RSVP_TABLE_NAME`, a stack half deleted) is not an
/// outage: every operation answers 500 "misconfigured" at once, not a 503 that invites retries for ever, and the
/// log says so at error level with DynamoDB's own error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_a_500_that_says_misconfigured_never_a_503() {
    let table = format!("rsvp-missing-{}", uuid::Uuid::new_v4().simple());
    let store = DynamoStore::new(rsvp_tests::dynamodb().await, table);
    let app = TestApp::spawn(Arc::new(store)).await;
    let calls = [
        (Method::POST, "/api/v1-preview/communities".to_owned(), Some(json!({"Name": "Ops"}))),
        (Method::GET, "/api/v1-preview/communities".to_owned(), None),
        (Method::POST, "/api/users/invitations".to_owned(), Some(json!({"EmailAddresses": ["a@b.example"]}))),
        (Method::GET, "/api/businesses/tenant-owner/settings?IncludeUserSettings=true".to_owned(), None),
    ];
    assert_misconfigured(&app, &calls).await;
    let log = log_text();
    let line = log.lines().find(|l| l.contains("\"kind\":\"misconfigured\"")).expect("a misconfigured line");
    assert!(line.contains("\"level\":\"ERROR\"") && line.contains("ResourceNotFoundException"), "{line}");
}

/// A KMS key that does not exist (or is disabled, or refused to the function's role) is the deployment's fault
/// too: creating an invitation, which must seal its link for the email, answers 500 "misconfigured" and writes
/// nothing, against moto's KMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_a_500_that_says_misconfigured_and_writes_nothing() {
    let moto = std::env::var("RSVP_TEST_MOTO_ENDPOINT").expect("scripts/test runs moto and sets its endpoint");
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(moto)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "rsvp-tests"))
            .build(),
    );
    let missing_key = uuid::Uuid::new_v4().to_string();
    let sealer: Arc<dyn Sealer> = Arc::new(KmsSealer::new(kms, missing_key));
    let store: Arc<dyn Store> = Arc::new(rsvp_tests::fresh_dynamo_store().await);
    let app = TestApp::spawn_sealed(store, MailBudget::default(), rsvp_tests::present(), Some(sealer)).await;
    let admin = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let invitations = create_community(&app, &admin, "Sealed").await;
    let calls = [(Method::POST, invitations.clone(), Some(json!({"InvitationRecipient": "bob@guest.example"})))];
    assert_misconfigured(&app, &calls).await;
    let listed = app.call(Method::GET, &invitations, &admin, None, &[]).await;
    assert_eq!((listed.status, listed.body), (StatusCode::OK, json!([])), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_table_is_a_503_with_retry_after_after_the_sdks_retries() {
    let (url, seen) = throttling_table().await;
    let store = DynamoStore::new(client_at(&url), "rsvp");
    assert_unavailable(&TestApp::spawn(Arc::new(store)).await).await;
    assert!(*seen.lock().unwrap() >= 4 * 3, "each call was tried three times");
}

/// A failed write leaves nothing behind: after an outage, the same store (now reachable) shows no trace of the
/// requests that failed, and the same requests then succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_met_an_outage_left_nothing_half_written() {
    let real = rsvp_tests::fresh_dynamo_store().await;
    let table = real.table_name().to_owned();
    let port = closed_port().await;
    let down =
        TestApp::spawn(Arc::new(DynamoStore::new(client_at(&format!("http://127.0.0.1:{port}")), table.clone()))).await;
    assert_unavailable(&down).await;
    let up = TestApp::spawn(Arc::new(real)).await;
    let admin = up.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let listed = up.call(Method::GET, "/api/v1-preview/communities", &admin, None, &[]).await;
    assert_eq!((listed.status, listed.body.clone()), (StatusCode::OK, json!([])), "nothing was written");
    let created = up.call(Method::POST, "/api/v1-preview/communities", &admin, Some(json!({"Name": "Ops"})), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED);
}

/// A whole handshake of each dialect, then the log: one JSON line per request with its id, operation, status and
/// latency, and not one secret, token or address in any line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_one_line_per_request_and_no_secret_token_or_address() {
    let app = TestApp::spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let owner = app.token("tenant-logs", "admin@logs-owner.example", &["TenantAdministrator"]);
    let guest = app.token("tenant-logs-guest", "bob@logs-guest.example", &["TenantAdministrator"]);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", &owner, Some(json!({"Name": "Logs"})), &[]).await;
    let community = community.body["Id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1-preview/communities/{community}/invitations");
    let created = app
        .call(Method::POST, &path, &owner, Some(json!({"InvitationRecipient": "bob@logs-guest.example"})), &[])
        .await;
    let id = created.body["Id"].as_str().unwrap().to_owned();
    let secret = created.body["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1.to_owned();
    let process = format!("/api/v1-preview/communityinvitations/{id}");
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@logs-guest.example"});
    let accepted = app.call(Method::PUT, &process, &guest, Some(accept), &[("Invitation-Token", &secret)]).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.call(Method::PUT, &process, &owner, Some(json!({"Action": "Confirm"})), &[]).await.status,
        StatusCode::ACCEPTED
    );
    // Refusals that quote what the caller sent: a bad address list, a wrong token.
    app.call(
        Method::PUT,
        "/api/businesses/tenant-logs/usersettings",
        &owner,
        Some(json!({"InviteUnregisteredUsers": true})),
        &[],
    )
    .await;
    let bad = json!({"EmailAddresses": ["eve@logs-leak.example", "not-an-address"]});
    assert_eq!(
        app.call(Method::POST, "/api/users/invitations", &owner, Some(bad), &[]).await.status,
        StatusCode::BAD_REQUEST
    );
    let wrong =
        app.call(Method::GET, "/api/v1-preview/communities", "not.a-valid.token-but-a-long-one", None, &[]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // Refusals of the server itself, whose sentences quote the path: a sign-up code under the wrong method, and a
    // mistyped landing page link with its secret.
    let code = "3f1c2b9a-0000-4000-8000-000000000000.leaked-signup-code-in-a-path";
    let wrong_method = app.call(Method::DELETE, &format!("/api/users/signupUser/{code}"), &owner, None, &[]).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let mistyped = format!("/invite/{id}/typo/leaked-secret-in-a-mistyped-link");
    assert_eq!(app.call(Method::GET, &mistyped, &owner, None, &[]).await.status, StatusCode::NOT_FOUND);

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
        .filter(|l| l["operation_id"].is_string() && l["operation"].as_str().is_some())
        .collect();
    let ours: Vec<&Value> = lines.iter().filter(|l| l["operation"] == "process_invitation").collect();
    assert!(ours.len() >= 2, "one line per request: {log}");
    for line in &lines {
        for field in ["operation", "operation_id", "status", "latency_ms"] {
            assert!(!line[field].is_null(), "{field} missing in {line}");
        }
    }
}

/// 50 administrators of 50 tenants, each holding the link and signed in with the recipient's verified address (a
/// shared mailbox: only the recipient may accept), accept one invitation at once: one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_accepts_of_one_invitation_have_one_winner() {
    let app = TestApp::spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let owner = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", &owner, Some(json!({"Name": "Race"})), &[]).await;
    let path = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    let created =
        app.call(Method::POST, &path, &owner, Some(json!({"InvitationRecipient": "shared@guest.example"})), &[]).await;
    let secret = created.body["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1.to_owned();
    let process = format!("/api/v1-preview/communityinvitations/{}", created.body["Id"].as_str().unwrap());
    let tokens: Vec<String> =
        (0..50).map(|i| app.token(&format!("tenant-{i}"), "shared@guest.example", &["TenantAdministrator"])).collect();
    let body = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let header = [("Invitation-Token", secret.as_str())];
    let answers =
        join_all(tokens.iter().map(|t| app.call(Method::PUT, &process, t, Some(body.clone()), &header))).await;
    let won = answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count();
    assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(answers.iter().filter(|a| a.status != StatusCode::ACCEPTED).all(|a| a.status == StatusCode::CONFLICT));
    // The winner awaits confirmation: the tenants list shows Active tenants only (the owner), and the winner sees
    // the invitation in its accepted list; a loser sees none.
    let members = app.call(Method::GET, &path.replace("/invitations", "/tenants"), &owner, None, &[]).await;
    assert_eq!(members.body.as_array().map(Vec::len), Some(1), "the owner alone is Active: {}", members.body);
    let winner = answers.iter().position(|a| a.status == StatusCode::ACCEPTED).unwrap();
    let list = |i: usize| format!("/api/v1-preview/tenants/tenant-{i}/communityinvitations");
    let won_list = app.call(Method::GET, &list(winner), &tokens[winner], None, &[]).await;
    assert_eq!(won_list.body.as_array().map(Vec::len), Some(1), "the winner's accepted list: {}", won_list.body);
    assert_eq!(won_list.body[0]["Id"], created.body["Id"]);
    let loser = (winner + 1) % tokens.len();
    let lost_list = app.call(Method::GET, &list(loser), &tokens[loser], None, &[]).await;
    assert_eq!(lost_list.body.as_array().map(Vec::len), Some(0), "a loser's accepted list is empty");
    rsvp_tests::figure("races", "50 concurrent accepts of one invitation: 1 winner, 49 conflicts");
}

/// 50 creates for one recipient at once: one invitation. The race is the one-pending lock's, so the deployment
/// lets one address have 50 emails a day here: under the default cap of 3, the cap would refuse most of them
/// (429) before they reach the lock (`an_address_gets_at_most_its_daily_cap_from_a_tenant` tests the cap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_for_one_recipient_make_one_invitation() {
    let mail = MailBudget { per_recipient_per_day: 50, ..MailBudget::default() };
    let app = TestApp::spawn_with(Arc::new(rsvp_tests::fresh_dynamo_store().await), mail, rsvp_tests::present()).await;
    let owner = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", &owner, Some(json!({"Name": "Race"})), &[]).await;
    let path = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    let body = json!({"InvitationRecipient": "bob@guest.example"});
    let answers = join_all((0..50).map(|_| app.call(Method::POST, &path, &owner, Some(body.clone()), &[]))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 1);
    assert!(answers.iter().filter(|a| a.status != StatusCode::CREATED).all(|a| a.status == StatusCode::CONFLICT));
    let listed = app.call(Method::GET, &path, &owner, None, &[]).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    rsvp_tests::figure("races", "50 concurrent creates for one recipient: 1 invitation, 49 conflicts");
}

/// 40 invite_users requests of one address each against a limit of 25 a day: never over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invites_never_pass_the_daily_limit() {
    let app = TestApp::spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let admin = app.token("tenant-acme", "ada@acme.example", &["TenantAdministrator"]);
    let settings = json!({"InviteUnregisteredUsers": true, "MaxInvitationsPerDay": 25});
    let changed = app.call(Method::PUT, "/api/businesses/tenant-acme/usersettings", &admin, Some(settings), &[]).await;
    assert_eq!(changed.status, StatusCode::OK);
    let bodies: Vec<Value> = (0..40).map(|i| json!({"EmailAddresses": [format!("p{i}@partner.example")]})).collect();
    let answers =
        join_all(bodies.into_iter().map(|b| app.call(Method::POST, "/api/users/invitations", &admin, Some(b), &[])))
            .await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::OK).count(), 25);
    assert!(answers.iter().filter(|a| a.status != StatusCode::OK).all(|a| a.status == StatusCode::TOO_MANY_REQUESTS));
    let listed = app.call(Method::GET, "/api/users/invitations?count=100", &admin, None, &[]).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(25));
    rsvp_tests::figure("races", "40 concurrent invite_users against MaxInvitationsPerDay 25: 25 invited, 15 refused");
}

// ---------------------------------------------------------------------------------------------------------------
// The mail budgets: every email sent on a tenant's behalf is counted, and racing requests never pass a limit
// ---------------------------------------------------------------------------------------------------------------

rsvp_tests::against_both_stores!(
    concurrent_community_invitations_never_pass_the_days_budget,
    concurrent_resends_never_pass_the_days_budget,
    an_address_gets_at_most_its_daily_cap_from_a_tenant,
);

async fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn dynamodb() -> Arc<dyn Store> {
    Arc::new(rsvp_tests::fresh_dynamo_store().await)
}

/// An hour into today's UTC day: a clock that can move on by minutes within one day, and whose items' expiry
/// lies ahead of DynamoDB Local's real-time TTL sweeper.
fn early_today() -> Timestamp {
    let now = rsvp_tests::present();
    Timestamp::from_millis(now.millis() - now.millis().rem_euclid(86_400_000) + 3_600_000)
}

/// A 429 of the mail budget: the seed's ErrorResponse naming `reason`, and `Retry-After` the seconds to the next
/// UTC day from the server's clock.
fn assert_budget_spent(answer: &Answer, app: &TestApp, reason: &str) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert!(answer.body["Reason"].as_str().is_some_and(|r| r.contains(reason)), "{}", answer.body);
    assert_eq!(answer.body["Error"], "Too Many Requests");
    assert!(
        answer.body["OperationId"].as_str().is_some_and(|v| !v.is_empty()) && answer.body["Resolution"].is_string()
    );
    let to_next_day = seconds_to_next_day(app.clock.now()).to_string();
    assert_eq!(answer.retry_after.as_deref(), Some(to_next_day.as_str()), "until the next UTC day");
}

async fn create_community(app: &TestApp, owner: &str, name: &str) -> String {
    let created = app.call(Method::POST, "/api/v1-preview/communities", owner, Some(json!({"Name": name})), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    format!("/api/v1-preview/communities/{}/invitations", created.body["Id"].as_str().unwrap())
}

/// 30 invitations to 30 addresses at once against a budget of 20 emails a day: exactly 20 written (each owing its
/// one email), 10 refused with nothing written.
async fn concurrent_community_invitations_never_pass_the_days_budget(store: Arc<dyn Store>) {
    let mail = MailBudget { per_tenant_per_day: 20, ..MailBudget::default() };
    let app = TestApp::spawn_with(store, mail, early_today()).await;
    let owner = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let path = create_community(&app, &owner, "Budget").await;
    let bodies: Vec<Value> = (0..30).map(|i| json!({"InvitationRecipient": format!("g{i}@guest.example")})).collect();
    let answers = join_all(bodies.into_iter().map(|b| app.call(Method::POST, &path, &owner, Some(b), &[]))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 20);
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_budget_spent(refused, &app, "20 invitations a day; 20 were sent today");
    }
    let listed = app.call(Method::GET, &format!("{path}?count=100"), &owner, None, &[]).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(20), "nothing of the refused was written");
    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    let tomorrow = json!({"InvitationRecipient": "g0@guest.example"});
    assert_eq!(app.call(Method::POST, &path, &owner, Some(tomorrow), &[]).await.status, StatusCode::CONFLICT);
    let tomorrow = json!({"InvitationRecipient": "tomorrow@guest.example"});
    assert_eq!(app.call(Method::POST, &path, &owner, Some(tomorrow), &[]).await.status, StatusCode::CREATED);
    rsvp_tests::figure("races", "30 concurrent community invitations against 20 emails a day: 20 sent, 10 refused");
}

/// 12 invitations use 12 of a budget of 20; their 12 Resends at once (after the cooldown) find 8 left: exactly 8
/// resent, 4 refused, and a refused one is unchanged (its expiry is the first send's).
async fn concurrent_resends_never_pass_the_days_budget(store: Arc<dyn Store>) {
    let mail = MailBudget { per_tenant_per_day: 20, ..MailBudget::default() };
    let app = TestApp::spawn_with(store, mail, early_today()).await;
    let owner = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let path = create_community(&app, &owner, "Resends").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let body = json!({"InvitationRecipient": format!("r{i}@guest.example")});
        let created = app.call(Method::POST, &path, &owner, Some(body), &[]).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        ids.push((created.body["Id"].as_str().unwrap().to_owned(), created.body["Expires"].clone()));
    }
    app.clock.advance_minutes(11);
    let resend = json!({"Action": "Resend"});
    let paths: Vec<String> = ids.iter().map(|(id, _)| format!("/api/v1-preview/communityinvitations/{id}")).collect();
    let answers = join_all(paths.iter().map(|p| app.call(Method::PUT, p, &owner, Some(resend.clone()), &[]))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count(), 8);
    for (answer, (id, first_expiry)) in answers.iter().zip(&ids) {
        let read = app.call(Method::GET, &format!("{path}/{id}"), &owner, None, &[]).await;
        if answer.status == StatusCode::ACCEPTED {
            assert_ne!(&read.body["Expires"], first_expiry, "a Resend renews the expiry");
        } else {
            assert_budget_spent(answer, &app, "20 invitations a day; 20 were sent today");
            assert_eq!(&read.body["Expires"], first_expiry, "a refused Resend wrote nothing: {}", read.body);
        }
    }
    rsvp_tests::figure("races", "12 concurrent Resends against the 8 emails left of 20 a day: 8 resent, 4 refused");
}

/// One address, invited at once from six communities of one tenant: 3 a day reach it, whichever dialect asks;
/// another tenant, or the next day, may still write to it.
async fn an_address_gets_at_most_its_daily_cap_from_a_tenant(store: Arc<dyn Store>) {
    let app = TestApp::spawn_with(store, MailBudget::default(), early_today()).await;
    let owner = app.token("tenant-owner", "admin@owner.example", &["TenantAdministrator"]);
    let mut paths = Vec::new();
    for i in 0..6 {
        paths.push(create_community(&app, &owner, &format!("Cap {i}")).await);
    }
    let bob = json!({"InvitationRecipient": "bob@guest.example"});
    let answers = join_all(paths.iter().map(|p| app.call(Method::POST, p, &owner, Some(bob.clone()), &[]))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 3);
    for (answer, path) in answers.iter().zip(&paths) {
        let listed = app.call(Method::GET, path, &owner, None, &[]).await;
        if answer.status != StatusCode::CREATED {
            assert_budget_spent(answer, &app, "at most 3 invitations a day from one tenant");
            assert_eq!(listed.body, json!([]), "nothing was written");
        }
    }
    // The same address in other letters, through the platform dialect: the same count.
    let settings = json!({"InviteUnregisteredUsers": true});
    let changed = app.call(Method::PUT, "/api/businesses/tenant-owner/usersettings", &owner, Some(settings), &[]).await;
    assert_eq!(changed.status, StatusCode::OK);
    let platform = json!({"EmailAddresses": ["BOB@Guest.example", "amy@guest.example"]});
    let refused = app.call(Method::POST, "/api/users/invitations", &owner, Some(platform), &[]).await;
    assert_budget_spent(&refused, &app, "1 of the addresses had them today");
    let listed = app.call(Method::GET, "/api/users/invitations", &owner, None, &[]).await;
    assert_eq!(listed.body, json!([]), "not even the other address was invited");
    let amy = json!({"EmailAddresses": ["amy@guest.example"]});
    assert_eq!(app.call(Method::POST, "/api/users/invitations", &owner, Some(amy), &[]).await.status, StatusCode::OK);
    // Another tenant counts apart.
    let other = app.token("tenant-other", "admin@other.example", &["TenantAdministrator"]);
    let path = create_community(&app, &other, "Elsewhere").await;
    assert_eq!(app.call(Method::POST, &path, &other, Some(bob.clone()), &[]).await.status, StatusCode::CREATED);
    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    let unused = answers.iter().position(|a| a.status != StatusCode::CREATED).unwrap();
    assert_eq!(app.call(Method::POST, &paths[unused], &owner, Some(bob), &[]).await.status, StatusCode::CREATED);
    rsvp_tests::figure("races", "6 concurrent invitations of one address against 3 a day: 3 sent, 3 refused");
}
