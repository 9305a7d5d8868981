//! The platform users API (invite_users and the tenant's invitation policy) over real HTTP: the local server in
//! front of the embedded store, and in front of DynamoDB Local. Every scenario runs against both stores.
//!
//! Emails are real too: with the embedded store the local server's own mailer writes `.eml` files as
//! `rsvp-local serve` does; with DynamoDB Local the test runs the outbox consumer ([`Deliverer`]) over the
//! invitations' pending deliveries, as the stream's Lambda would, into the same kind of `.eml` outbox. The codes
//! the tests use are read from those emails, never from the store.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::join_all;
use reqwest::{Client, Method, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::{
    Clock as _, FixedClock, IdempotencyRecord, InvitationId, MailItem, Principal, Role, TenantId, UserId,
    seconds_to_next_day,
};
use rsvp::mail::deliver::Deliverer;
use rsvp::mail::outbox::OutboxMailer;
use rsvp::seal::{AesSealer, Sealer};
use rsvp::store::Store;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use rsvp_tests::eml;
use serde_json::{Value, json};

const ACME: &str = "tenant-acme";
const ADMIN: &str = "ada@acme.example";
const MEMBER: &str = "mia@acme.example";
const OTHER_MEMBER: &str = "tom@acme.example";
const INVITATIONS: &str = "/api/users/invitations";
const SETTINGS: &str = "/api/businesses/tenant-acme/usersettings";

/// One running local server, its outbox, and how its emails are delivered.
struct TestApp {
    url: String,
    key: SigningKey,
    http: Client,
    clock: Arc<FixedClock>,
    outbox: PathBuf,
    /// Set for DynamoDB Local: there is no stream here, so the test delivers as the stream's consumer would.
    deliverer: Option<Deliverer>,
    /// The server's store, to see what it keeps.
    store: Arc<dyn Store>,
}

/// What came back: status, some headers, and the body as JSON (`Null` when empty, a string when not JSON).
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    replayed: bool,
    body: Value,
}

impl TestApp {
    async fn memory() -> Self {
        let store = Arc::new(MemoryStore::new());
        let outbox = eml::temp_dir();
        let sealer: Arc<dyn Sealer> = Arc::new(AesSealer::ephemeral());
        // Exactly what `rsvp-local serve` runs: the store announces pending mail, the local mailer sends it.
        rsvp_local::mail::start(&store, sealer.clone(), &outbox).expect("start the local mailer");
        Self::spawn(store, sealer, outbox, false).await
    }

    async fn dynamodb() -> Self {
        let store = Arc::new(rsvp_tests::fresh_dynamo_store().await);
        Self::spawn(store, Arc::new(AesSealer::ephemeral()), eml::temp_dir(), true).await
    }

    async fn spawn(store: Arc<dyn Store>, sealer: Arc<dyn Sealer>, outbox: PathBuf, deliver_here: bool) -> Self {
        let clock = Arc::new(FixedClock::at(rsvp_tests::present()));
        let config = Config { public_url: Some("https://rsvp.test".into()), ..Config::default() };
        let app = App::new(Arc::clone(&store), config).with_clock(clock.clone()).with_sealer(sealer.clone());
        let key = SigningKey::generate();
        let server = Server::bind("127.0.0.1:0".parse().expect("loopback"), Arc::new(app), key.clone())
            .await
            .expect("bind the local server");
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        let deliverer = deliver_here.then(|| {
            let mailer = Arc::new(OutboxMailer::new(&outbox, "rsvp@localhost").expect("the outbox"));
            Deliverer { store: store.clone(), sealer, mailer, clock: clock.clone() }
        });
        Self { url, key, http: Client::new(), clock, outbox, deliverer, store }
    }

    fn token(&self, email: &str, roles: &[&str]) -> String {
        self.key.mint(&TokenClaims::new(ACME, email, roles))
    }

    fn admin(&self) -> String {
        self.token(ADMIN, &["TenantAdministrator"])
    }

    fn member(&self) -> String {
        self.token(MEMBER, &["TenantMember"])
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the local server answers");
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = header("retry-after");
        let replayed = header("idempotent-replayed").as_deref() == Some("true");
        let text = response.text().await.expect("a body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Answer { status, retry_after, replayed, body }
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    async fn invite(&self, token: &str, addresses: &[&str], message: &str) -> Answer {
        let body = json!({"EmailAddresses": addresses, "Message": message});
        self.call(Method::POST, INVITATIONS, Some(token), Some(body)).await
    }

    async fn settings(&self, body: Value) -> Answer {
        self.call(Method::PUT, SETTINGS, Some(&self.admin()), Some(body)).await
    }

    async fn enable(&self) {
        let answer = self.settings(json!({"InviteUnregisteredUsers": "com.soa.feature.enabled"})).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    async fn list(&self, token: &str, query: &str) -> Vec<Value> {
        let answer = self.call(Method::GET, &format!("{INVITATIONS}{query}"), Some(token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body.as_array().expect("a list").clone()
    }

    async fn verify(&self, code: &str) -> Answer {
        let request =
            self.http.post(format!("{}/api/users/verifyInvitation", self.url)).form(&[("validationCode", code)]);
        self.send(request).await
    }

    async fn sign_up(&self, code: &str) -> Answer {
        let body = json!({"FirstName": "Jane", "LastName": "Mead"});
        self.call(Method::POST, &format!("/api/users/signupUser/{code}"), None, Some(body)).await
    }

    /// The first `count` emails to arrive (oldest first), after delivering what is owed where no mailer runs.
    async fn emails(&self, count: usize) -> Vec<String> {
        if let Some(deliverer) = &self.deliverer {
            for item in self.list(&self.admin(), "").await {
                let id = InvitationId::parse("Id", item["Id"].as_str().expect("an Id")).expect("a GUID");
                let invitation = self.store.get_user_invitation(id).await.expect("read").expect("stored");
                if let Some(d) = invitation.delivery.filter(|d| d.state == rsvp::domain::DeliveryState::Pending) {
                    deliverer.deliver(MailItem::Platform(id), d.seq).await.expect("delivered");
                }
            }
        }
        eml::messages(&self.outbox, count).await
    }
}

/// The code a platform invitation email carries: the `token` of its landing link.
fn code_in(email: &str) -> String {
    let link = eml::link(email, "https://rsvp.test/invite/");
    link.split_once("?token=").expect("a token in the link").1.to_owned()
}

impl Answer {
    fn assert_error(&self, status: StatusCode, reason: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let actual = self.body["Reason"].as_str().unwrap_or_default();
        assert!(actual.contains(reason), "Reason {actual:?} should mention {reason:?}");
        assert!(self.body["OperationId"].as_str().is_some_and(|v| !v.is_empty()), "{}", self.body);
    }
}

async fn memory() -> TestApp {
    TestApp::memory().await
}

async fn dynamodb() -> TestApp {
    TestApp::dynamodb().await
}

rsvp_tests::against_both_stores!(
    an_administrator_enables_inviting_and_an_invitation_is_accepted_once,
    a_request_is_all_or_nothing,
    the_daily_limit_holds_under_concurrent_requests,
    an_idempotency_key_replays_the_first_answer,
    a_replayed_key_is_authorized_again,
    revoke_and_resend,
    resends_draw_from_the_days_budget_and_wait_out_the_floor,
    the_landing_page_accepts_and_declines,
    settings_are_validated_and_scoped_to_the_tenant,
    metadata_reaches_every_invitation_of_a_request_and_the_sign_up,
    an_invitation_may_live_fewer_days_than_the_tenants_setting,
    a_redirect_is_kept_only_to_an_allowed_origin_and_handed_to_the_sign_up,
    roles_are_limited_to_the_invitable_ones_the_caller_may_grant,
    a_link_only_invitation_sends_no_email_and_counts_as_an_invitation,
    the_email_speaks_the_invitations_language_and_wears_the_tenants_branding,
);

async fn an_administrator_enables_inviting_and_an_invitation_is_accepted_once(app: TestApp) {
    let addresses = ["jane.mead@acmepayments.example", "raj@partner.example", "li@partner.example"];
    let message = "You should join this awesome app management platform.";
    let refused = app.invite(&app.member(), &addresses, message).await;
    refused.assert_error(StatusCode::UNAUTHORIZED, "settings forbid");
    assert!(app.list(&app.admin(), "").await.is_empty(), "nothing was created");

    app.enable().await;
    let settings = app
        .call(
            Method::GET,
            "/api/businesses/tenant-acme/settings?IncludeSecuritySettings=true",
            Some(&app.member()),
            None,
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK);
    assert_eq!(settings.body["SecuritySettings"]["InviteUnregisteredUsers"], "com.soa.feature.enabled");
    assert!(settings.body.get("UserSettings").is_none(), "only the groups asked for: {}", settings.body);

    let invited = app.invite(&app.member(), &addresses, message).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(invited.body, json!(addresses));

    let emails = app.emails(3).await;
    assert_eq!(emails.len(), 3);
    let mut to: Vec<_> = emails.iter().map(|e| eml::header(e, "To").to_owned()).collect();
    to.sort();
    assert_eq!(to, ["jane.mead@acmepayments.example", "li@partner.example", "raj@partner.example"]);
    for email in &emails {
        assert!(eml::text_part(email).contains(message), "the message is in the email: {email}");
        assert!(eml::header(email, "Subject").contains(MEMBER));
    }
    let jane = emails.iter().find(|e| eml::header(e, "To") == addresses[0]).expect("Jane's email");
    let code = code_in(jane);

    let verified = app.verify(&code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["EmailAddress"], addresses[0]);
    assert_eq!(verified.body["InvitedBy"], MEMBER);
    assert_eq!(verified.body["Message"], message);
    assert_eq!(verified.body["State"], "Pending");

    let signed_up = app.sign_up(&code).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["State"], "Accepted");
    assert_eq!(signed_up.body["EmailAddress"], addresses[0]);
    app.sign_up(&code).await.assert_error(StatusCode::CONFLICT, "already accepted");
    app.verify(&code).await.assert_error(StatusCode::CONFLICT, "already accepted");

    let listed = app.list(&app.admin(), "").await;
    let state_of = |address: &str| {
        listed.iter().find(|i| i["EmailAddress"] == address).map(|i| i["State"].clone()).unwrap_or_default()
    };
    assert_eq!(listed.len(), 3);
    assert_eq!(state_of(addresses[0]), "Accepted");
    assert_eq!((state_of(addresses[1]), state_of(addresses[2])), (json!("Pending"), json!("Pending")));
    assert!(!listed.iter().any(|i| i.to_string().contains(&code)), "no list shows a code");
    assert_eq!(app.list(&app.admin(), "?State=Pending").await.len(), 2);
    assert_eq!(app.list(&app.member(), "").await.len(), 3, "the sender sees what they sent");
    let tom = app.token(OTHER_MEMBER, &["TenantMember"]);
    assert!(app.list(&tom, "").await.is_empty(), "another member does not see them");
}

async fn a_request_is_all_or_nothing(app: TestApp) {
    app.enable().await;
    let domains = app.settings(json!({"AllowedEmailDomains": ["partner.example"]})).await;
    assert_eq!(domains.status, StatusCode::OK, "{}", domains.body);

    let bad = app.invite(&app.member(), &["ok@partner.example", "not-an-address", "eve@elsewhere.example"], "hi").await;
    bad.assert_error(StatusCode::BAD_REQUEST, "not-an-address");
    bad.assert_error(StatusCode::BAD_REQUEST, "eve@elsewhere.example");
    assert!(!bad.body["Reason"].as_str().unwrap_or_default().contains("ok@partner.example"), "only the bad are named");
    assert!(app.list(&app.admin(), "").await.is_empty(), "nothing was created");

    let many: Vec<String> = (0..51).map(|i| format!("u{i}@partner.example")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    app.invite(&app.member(), &many, "hi").await.assert_error(StatusCode::BAD_REQUEST, "at most 50");
    app.invite(&app.member(), &many[..1], &"x".repeat(1_001)).await.assert_error(StatusCode::BAD_REQUEST, "1000");
    app.invite(&app.member(), &[], "hi").await.assert_error(StatusCode::BAD_REQUEST, "at least one");
    let member = app.member();
    let wrong_type = app.call(Method::POST, INVITATIONS, Some(&member), Some(json!({"EmailAddresses": "a@b.c"})));
    assert_eq!(wrong_type.await.status, StatusCode::BAD_REQUEST);
    assert!(app.list(&app.admin(), "").await.is_empty(), "still nothing");

    // Repeats count once; an address with a pending invitation from the tenant is not invited twice.
    let first = app.invite(&app.member(), &["a@partner.example", "A@PARTNER.example"], "hi").await;
    assert_eq!(first.body, json!(["a@partner.example"]));
    let second = app.invite(&app.member(), &["a@partner.example", "b@partner.example"], "hi").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body, json!(["b@partner.example"]));
    assert_eq!(app.list(&app.admin(), "").await.len(), 2);
    assert_eq!(app.emails(2).await.len(), 2);
}

async fn the_daily_limit_holds_under_concurrent_requests(app: TestApp) {
    app.enable().await;
    assert_eq!(app.settings(json!({"MaxInvitationsPerDay": 7})).await.status, StatusCode::OK);
    // 12 requests of 2 addresses each race for 7 a day: 3 fit (6), never a 4th.
    let token = app.member();
    let addresses: Vec<[String; 2]> =
        (0..12).map(|i| [format!("r{i}a@partner.example"), format!("r{i}b@partner.example")]).collect();
    let requests: Vec<[&str; 2]> = addresses.iter().map(|[a, b]| [a.as_str(), b.as_str()]).collect();
    let answers = join_all(requests.iter().map(|pair| app.invite(&token, pair, "hi"))).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    assert_eq!(ok, 3, "{:?}", answers.iter().map(|a| (a.status, a.body.clone())).collect::<Vec<_>>());
    for refused in answers.iter().filter(|a| a.status != StatusCode::OK) {
        refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "7 invitations a day");
        let wait: i64 = refused.retry_after.as_deref().and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
        assert!((1..=86_400).contains(&wait), "until the next UTC day: {wait}");
    }
    assert_eq!(app.list(&app.admin(), "").await.len(), 6);
    let one_more = app.invite(&token, &["last@partner.example"], "hi").await;
    assert_eq!(one_more.status, StatusCode::OK, "the seventh still fits: {}", one_more.body);
    app.invite(&token, &["over@partner.example"], "hi")
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "7 were sent");

    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    assert_eq!(app.invite(&token, &["tomorrow@partner.example"], "hi").await.status, StatusCode::OK);
}

async fn an_idempotency_key_replays_the_first_answer(app: TestApp) {
    app.enable().await;
    let post = |key: &str, body: Value| {
        app.send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(app.member())
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let body = json!({"EmailAddresses": ["jane@partner.example"], "Message": "hi"});
    let first = post("retry-1", body.clone()).await;
    assert_eq!((first.status, first.replayed), (StatusCode::OK, false), "{}", first.body);
    let again = post("retry-1", body.clone()).await;
    assert_eq!((again.status, again.replayed, again.body.clone()), (StatusCode::OK, true, first.body.clone()));
    assert_eq!(app.list(&app.admin(), "").await.len(), 1, "one invitation");
    let other = post("retry-1", json!({"EmailAddresses": ["bob@partner.example"]})).await;
    other.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "different request");
    assert_eq!(app.list(&app.admin(), "").await.len(), 1);
    // A key is the caller's own: another user's same key is a request of its own.
    let tom = app.token(OTHER_MEMBER, &["TenantMember"]);
    let theirs = app
        .send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(&tom)
                .header("Idempotency-Key", "retry-1")
                .json(&json!({"EmailAddresses": ["kim@partner.example"]})),
        )
        .await;
    assert_eq!((theirs.status, theirs.replayed), (StatusCode::OK, false), "{}", theirs.body);
    assert_eq!(app.emails(2).await.len(), 2, "one email per invitation");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.emails(2).await.len(), 2, "and no second email for the replay");
    app.send(
        app.http
            .post(format!("{}{INVITATIONS}", app.url))
            .bearer_auth(app.member())
            .header("Idempotency-Key", "has space")
            .json(&body),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "Idempotency-Key");

    // The Communities API's create honours it too, and replays the link it answered first.
    let owner = app.admin();
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let path = format!("{}/api/v1-preview/communities/{}/invitations", app.url, community.body["Id"].as_str().unwrap());
    let create = || {
        app.send(
            app.http
                .post(&path)
                .bearer_auth(&owner)
                .header("Idempotency-Key", "c-1")
                .json(&json!({"InvitationRecipient": "bob@guest.example"})),
        )
    };
    let created = create().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let replayed = create().await;
    assert_eq!((replayed.status, replayed.replayed), (StatusCode::CREATED, true));
    assert_eq!(replayed.body["InvitationUrl"], created.body["InvitationUrl"]);
    assert_eq!(replayed.body["Id"], created.body["Id"]);
}

/// A replay answers only a caller who may still make the request: one demoted from administrator, or whose
/// tenant has since disabled inviting, gets the refusal a new request would, never the first answer (which, for a
/// community invitation, carries the live link).
async fn a_replayed_key_is_authorized_again(app: TestApp) {
    app.enable().await;
    let invite = |key: &'static str| {
        app.send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(app.member())
                .header("Idempotency-Key", key)
                .json(&json!({"EmailAddresses": ["jane@partner.example"], "Message": "hi"})),
        )
    };
    assert_eq!(invite("k-1").await.status, StatusCode::OK);
    let disable = json!({"InviteUnregisteredUsers": "com.soa.feature.disabled"});
    assert_eq!(app.call(Method::PUT, SETTINGS, Some(&app.admin()), Some(disable)).await.status, StatusCode::OK);
    let refused = invite("k-1").await;
    assert!(!refused.replayed, "not replayed: {}", refused.body);
    refused.assert_error(StatusCode::UNAUTHORIZED, "InviteUnregisteredUsers is disabled");

    let owner = app.admin();
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let path = format!("{}/api/v1-preview/communities/{}/invitations", app.url, community.body["Id"].as_str().unwrap());
    let create = |token: String| {
        app.send(
            app.http
                .post(&path)
                .bearer_auth(token)
                .header("Idempotency-Key", "c-1")
                .json(&json!({"InvitationRecipient": "bob@guest.example"})),
        )
    };
    let created = create(owner.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let link = created.body["InvitationUrl"].as_str().unwrap().to_owned();
    // The same user, the same key, the same body: but no longer an administrator, or no role at all.
    for roles in [&["TenantMember"][..], &[]] {
        let demoted = create(app.token(ADMIN, roles)).await;
        assert!(!demoted.replayed, "{roles:?}: not replayed");
        demoted.assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
        assert!(!demoted.body.to_string().contains(&link), "{roles:?}: the link is not handed out again");
    }
    let again = create(owner).await;
    assert_eq!((again.status, again.replayed), (StatusCode::CREATED, true), "the administrator still gets it");
}

async fn revoke_and_resend(app: TestApp) {
    app.enable().await;
    assert_eq!(
        app.invite(&app.member(), &["jane@partner.example", "raj@partner.example"], "hi").await.status,
        StatusCode::OK
    );
    let emails = app.emails(2).await;
    let code_for = |to: &str| code_in(emails.iter().find(|e| eml::header(e, "To") == to).expect("an email"));
    let (jane, raj) = (code_for("jane@partner.example"), code_for("raj@partner.example"));
    let listed = app.list(&app.admin(), "").await;
    let id_of = |to: &str| listed.iter().find(|i| i["EmailAddress"] == to).unwrap()["Id"].as_str().unwrap().to_owned();

    let tom = app.token(OTHER_MEMBER, &["TenantMember"]);
    let path = format!("{INVITATIONS}/{}", id_of("jane@partner.example"));
    app.call(Method::DELETE, &path, Some(&tom), None).await.assert_error(StatusCode::FORBIDDEN, "sent the invitation");
    let stranger = app.key.mint(&TokenClaims::new("tenant-other", "eve@other.example", &["TenantAdministrator"]));
    app.call(Method::DELETE, &path, Some(&stranger), None).await.assert_error(StatusCode::NOT_FOUND, "not found");
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.member()), None).await.status, StatusCode::NO_CONTENT);
    app.verify(&jane).await.assert_error(StatusCode::CONFLICT, "revoked");
    app.sign_up(&jane).await.assert_error(StatusCode::CONFLICT, "revoked");
    app.call(Method::DELETE, &path, Some(&app.member()), None).await.assert_error(StatusCode::CONFLICT, "Revoked");
    app.call(Method::POST, &format!("{path}/resend"), Some(&app.admin()), None)
        .await
        .assert_error(StatusCode::CONFLICT, "Revoked");
    app.verify("not-a-code").await.assert_error(StatusCode::NOT_FOUND, "not valid");

    // Resend: within the cooldown it waits; after it, a new code replaces the old one.
    let resend = format!("{INVITATIONS}/{}/resend", id_of("raj@partner.example"));
    let early = app.call(Method::POST, &resend, Some(&app.admin()), None).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "resent in");
    assert!(early.retry_after.is_some());
    app.clock.advance_minutes(11);
    assert_eq!(app.call(Method::POST, &resend, Some(&app.admin()), None).await.status, StatusCode::ACCEPTED);
    let emails = app.emails(3).await;
    let newest = code_in(emails.iter().rev().find(|e| eml::header(e, "To") == "raj@partner.example").unwrap());
    assert_ne!(newest, raj);
    app.verify(&raj).await.assert_error(StatusCode::NOT_FOUND, "not valid");
    assert_eq!(app.verify(&newest).await.status, StatusCode::OK);

    // The tenant's cooldown paces the Communities API's Resend as well.
    assert_eq!(app.settings(json!({"ResendCooldownMinutes": 0})).await.status, StatusCode::OK);
    let owner = app.admin();
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let created = app
        .call(
            Method::POST,
            &format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap()),
            Some(&owner),
            Some(json!({"InvitationRecipient": "bob@guest.example"})),
        )
        .await;
    let process = format!("/api/v1-preview/communityinvitations/{}", created.body["Id"].as_str().unwrap());
    // No cooldown of its own still waits out the deployment's floor (5 minutes by default).
    let early = app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"}))).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "5 minutes");
    assert_eq!(early.retry_after.as_deref(), Some("300"));
    app.clock.advance_minutes(5);
    let resent = app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"}))).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "past the floor: {}", resent.body);
    assert_eq!(app.settings(json!({"ResendCooldownMinutes": 30})).await.status, StatusCode::OK);
    app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"})))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "30 minutes");
}

/// A Resend is an email like any other: it counts against the tenant's `MaxInvitationsPerDay` (a member once sent
/// 30 emails to one address under a limit of 2 a day), and a tenant's cooldown of 0 still waits out the
/// deployment's floor. Once the day's emails are spent, neither dialect sends another, and nothing is written.
async fn resends_draw_from_the_days_budget_and_wait_out_the_floor(app: TestApp) {
    app.enable().await;
    let changed = app.settings(json!({"MaxInvitationsPerDay": 2, "ResendCooldownMinutes": 0})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // An hour into the next UTC day, so that the minutes below stay within one day.
    app.clock.advance_minutes(seconds_to_next_day(app.clock.now()) / 60 + 60);
    assert_eq!(app.invite(&app.member(), &["jane@partner.example"], "hi").await.status, StatusCode::OK);
    let first = code_in(&app.emails(1).await[0]);
    let id = app.list(&app.admin(), "").await[0]["Id"].as_str().unwrap().to_owned();
    let resend = format!("{INVITATIONS}/{id}/resend");
    let early = app.call(Method::POST, &resend, Some(&app.member()), None).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "5 minutes");
    assert_eq!(early.retry_after.as_deref(), Some("300"), "the floor's wait, not the tenant's 0");
    app.clock.advance_minutes(4);
    let still = app.call(Method::POST, &resend, Some(&app.member()), None).await;
    assert_eq!((still.status, still.retry_after.as_deref()), (StatusCode::TOO_MANY_REQUESTS, Some("60")));
    app.clock.advance_minutes(1);
    assert_eq!(app.call(Method::POST, &resend, Some(&app.member()), None).await.status, StatusCode::ACCEPTED);
    let codes: Vec<String> = app.emails(2).await.iter().map(|e| code_in(e)).collect();
    let newest = codes.iter().find(|c| **c != first).expect("the resent email's new code").clone();

    app.clock.advance_minutes(5);
    let spent = app.call(Method::POST, &resend, Some(&app.member()), None).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day; 2 were sent today");
    let to_next_day = seconds_to_next_day(app.clock.now()).to_string();
    assert_eq!(spent.retry_after.as_deref(), Some(to_next_day.as_str()), "until the next UTC day");
    assert_eq!(app.verify(&newest).await.status, StatusCode::OK, "the refused Resend changed nothing");
    // The tenant's budget covers its community invitations too.
    let owner = app.admin();
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let invitations = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    app.call(Method::POST, &invitations, Some(&owner), Some(json!({"InvitationRecipient": "bob@guest.example"})))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day");
    let listed = app.call(Method::GET, &invitations, Some(&owner), None).await;
    assert_eq!(listed.body, json!([]), "nothing was written");
    assert_eq!(app.emails(2).await.len(), 2, "two emails in all");
}

async fn the_landing_page_accepts_and_declines(app: TestApp) {
    app.enable().await;
    let message = "Come <b>aboard</b> & bring \"friends\"";
    app.invite(&app.member(), &["jane@partner.example", "raj@partner.example"], message).await;
    let emails = app.emails(2).await;
    let link_for =
        |to: &str| eml::link(emails.iter().find(|e| eml::header(e, "To") == to).unwrap(), "https://rsvp.test/invite/");
    let local = |link: &str| link.replace("https://rsvp.test", &app.url);

    let jane = link_for("jane@partner.example");
    let page = app.http.get(local(&jane)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Come &#60;b&#62;aboard&#60;/b&#62; &#38; bring &#34;friends&#34;"), "{page}");
    assert!(page.contains("value=\"accept\"") && page.contains(MEMBER));
    let (path, code) = jane.split_once("?token=").unwrap();
    let form = [("token", code), ("action", "accept"), ("first_name", "Jane"), ("last_name", "Mead")];
    let accepted = app.http.post(local(path)).form(&form).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted = accepted.text().await.unwrap();
    assert!(accepted.contains("Welcome, Jane") && !accepted.contains(code), "{accepted}");
    app.sign_up(code).await.assert_error(StatusCode::CONFLICT, "already accepted");
    let used = app.http.get(local(&jane)).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::NOT_FOUND, "a used link leads nowhere");

    let no_name = app.http.post(local(path)).form(&[("token", code), ("action", "accept")]).send().await.unwrap();
    assert_eq!(no_name.status(), StatusCode::NOT_FOUND, "and cannot be used again");

    let raj = link_for("raj@partner.example");
    let (path, code) = raj.split_once("?token=").unwrap();
    let nameless = app.http.post(local(path)).form(&[("token", code), ("action", "accept")]).send().await.unwrap();
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST, "a name is needed");
    let declined = app.http.post(local(path)).form(&[("token", code), ("action", "decline")]).send().await.unwrap();
    assert_eq!(declined.status(), StatusCode::OK);
    app.verify(code).await.assert_error(StatusCode::CONFLICT, "declined");
    let states: Vec<_> = app.list(&app.admin(), "").await.iter().map(|i| i["State"].clone()).collect();
    assert!(states.contains(&json!("Accepted")) && states.contains(&json!("Declined")), "{states:?}");
}

async fn settings_are_validated_and_scoped_to_the_tenant(app: TestApp) {
    let defaults = app
        .call(Method::GET, "/api/businesses/tenant-acme/settings?IncludeUserSettings=true", Some(&app.member()), None)
        .await;
    assert_eq!(
        defaults.body["UserSettings"],
        json!({"InviteUnregisteredUsers": "com.soa.feature.disabled", "InvitedUserValidDays": 7,
               "AllowedEmailDomains": [], "MaxInvitationsPerDay": 50, "ResendCooldownMinutes": 10,
               "AllowedRedirectOrigins": [], "InvitableRoles": ["TenantMember"],
               "Branding": {"SenderName": null, "ProductName": null, "LogoUrl": null, "AccentColor": null,
                            "SupportEmail": null, "FooterText": null},
               "DefaultLocale": null})
    );
    // Origins a RedirectUrl may lead to: each an origin, no path; anything else is refused with the rule.
    app.settings(json!({"AllowedRedirectOrigins": ["https://app.acme.example/path"]}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not an origin");
    let none = app.call(Method::GET, "/api/businesses/tenant-acme/settings", Some(&app.member()), None).await;
    assert_eq!(none.body, json!({"BusinessID": ACME}), "no flag, no group");
    let bad_flag = "/api/businesses/tenant-acme/settings?IncludeUserSettings=yes";
    app.call(Method::GET, bad_flag, Some(&app.member()), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "IncludeUserSettings");

    let member_change =
        app.call(Method::PUT, SETTINGS, Some(&app.member()), Some(json!({"InviteUnregisteredUsers": true}))).await;
    member_change.assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    let stranger = app.key.mint(&TokenClaims::new("tenant-other", "eve@other.example", &["TenantAdministrator"]));
    app.call(Method::PUT, SETTINGS, Some(&stranger), Some(json!({"InviteUnregisteredUsers": true})))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");
    app.call(Method::GET, "/api/businesses/tenant-acme/settings", Some(&stranger), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");

    let bad = app
        .settings(json!({"InvitedUserValidDays": 0, "MaxInvitationsPerDay": 100000, "AllowedEmailDomains": ["no way"]}))
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "InvitedUserValidDays");
    bad.assert_error(StatusCode::BAD_REQUEST, "MaxInvitationsPerDay");
    bad.assert_error(StatusCode::BAD_REQUEST, "AllowedEmailDomains");
    app.settings(json!({"InviteUsers": true})).await.assert_error(StatusCode::BAD_REQUEST, "InviteUsers");
    app.settings(json!({"InviteUnregisteredUsers": "yes"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "com.soa.feature.enabled");
    let unchanged = app
        .call(Method::GET, "/api/businesses/tenant-acme/settings?IncludeUserSettings=true", Some(&app.member()), None)
        .await;
    assert_eq!(unchanged.body, defaults.body, "a refused change changes nothing");

    let changed = app.settings(json!({"InvitedUserValidDays": 3})).await;
    assert_eq!(changed.body["InvitedUserValidDays"], 3);
    assert_eq!(changed.body["InviteUnregisteredUsers"], "com.soa.feature.disabled", "unnamed settings stay");
    app.enable().await;
    app.invite(&app.member(), &["jane@partner.example"], "").await;
    let listed = app.list(&app.admin(), "").await;
    let expires = app.clock.now().plus_days(3).to_rfc3339();
    assert_eq!(listed[0]["Expires"], json!(expires), "valid for the tenant's 3 days");
    assert!(listed[0]["Message"].is_null(), "an empty message is none");
    let allowed = json!({"AllowedRedirectOrigins": ["https://App.Acme.example", "http://localhost:3000"]});
    let origins = app.settings(allowed).await;
    assert_eq!(origins.body["AllowedRedirectOrigins"], json!(["https://app.acme.example", "http://localhost:3000"]));
}

/// `Metadata` on an invite request: each invitation of it keeps the object as given, the list shows it and the
/// sign-up's answer hands it back to the product; bad metadata is a 400 naming the limit and writes nothing.
async fn metadata_reaches_every_invitation_of_a_request_and_the_sign_up(app: TestApp) {
    app.enable().await;
    let given = json!({"role_hint": "viewer", "seats": 2, "nested": {"list": [1, 2.5]}});
    let addresses = ["ann@partner.example", "ben@partner.example"];
    let refused = app
        .call(
            Method::POST,
            INVITATIONS,
            Some(&app.member()),
            Some(json!({"EmailAddresses": addresses, "Metadata": [1]})),
        )
        .await;
    refused.assert_error(StatusCode::BAD_REQUEST, "must be a JSON object");
    let deep = json!({"EmailAddresses": addresses, "Metadata": {"a": {"b": {"c": {}}}}});
    app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(deep))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "at most 3");
    assert!(app.list(&app.admin(), "").await.is_empty(), "a refused request writes nothing");

    let body = json!({"EmailAddresses": addresses, "Message": "Welcome", "Metadata": given});
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(body)).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let listed = app.list(&app.admin(), "").await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i["Metadata"] == given), "{listed:?}");
    let emails = app.emails(2).await;
    let ann = emails.iter().find(|e| eml::header(e, "To") == addresses[0]).expect("Ann's email");
    let signed_up = app.sign_up(&code_in(ann)).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["Metadata"], given, "the sign-up hands the product its data back");
}

/// `ExpiresInDays` on an invite request: within the tenant's `InvitedUserValidDays` (7 by default) each invitation
/// lives that many days; beyond it, a 400 naming the bound, and nothing written.
async fn an_invitation_may_live_fewer_days_than_the_tenants_setting(app: TestApp) {
    app.enable().await;
    let too_long = json!({"EmailAddresses": ["ann@partner.example"], "ExpiresInDays": 8});
    app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(too_long))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "from 1 to 7");
    assert!(app.list(&app.admin(), "").await.is_empty(), "a refused request writes nothing");
    let body = json!({"EmailAddresses": ["ann@partner.example"], "ExpiresInDays": 1});
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(body)).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let listed = app.list(&app.admin(), "").await;
    let now = rsvp::domain::Clock::now(app.clock.as_ref());
    assert_eq!(listed[0]["Expires"], now.plus_days(1).to_rfc3339());
}

/// `RedirectUrl` on an invite request: refused (400, nothing written) unless its origin is one the tenant allows;
/// kept, listed and handed to the sign-up's answer when it is.
async fn a_redirect_is_kept_only_to_an_allowed_origin_and_handed_to_the_sign_up(app: TestApp) {
    app.enable().await;
    let invite = |to: &str| json!({"EmailAddresses": ["ann@partner.example"], "RedirectUrl": to});
    let refused =
        app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(invite("https://app.acme.example/x"))).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "AllowedRedirectOrigins");
    let allowed = app.settings(json!({"AllowedRedirectOrigins": ["https://app.acme.example"]})).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    let evil = app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(invite("https://evil.example/x"))).await;
    evil.assert_error(StatusCode::BAD_REQUEST, "https://evil.example");
    assert!(app.list(&app.admin(), "").await.is_empty(), "a refused request writes nothing");

    let to = "https://app.acme.example/welcome";
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(invite(to))).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(app.list(&app.admin(), "").await[0]["RedirectUrl"], to);
    let emails = app.emails(1).await;
    let signed_up = app.sign_up(&code_in(&emails[0])).await;
    assert_eq!(signed_up.body["RedirectUrl"], to, "{}", signed_up.body);
}

/// `Roles` on an invite request: only roles the tenant's `InvitableRoles` lists (`TenantMember` by default), and
/// from a member only those it holds; refused requests write nothing. The roles reach the list and the sign-up.
async fn roles_are_limited_to_the_invitable_ones_the_caller_may_grant(app: TestApp) {
    app.enable().await;
    let invite = |roles: Value| json!({"EmailAddresses": ["ann@partner.example"], "Roles": roles});
    let member = app.member();
    let app = &app;
    let post =
        |token: String, body: Value| async move { app.call(Method::POST, INVITATIONS, Some(&token), Some(body)).await };
    post(member.clone(), invite(json!(["TenantAdministrator"])))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "InvitableRoles");
    post(member.clone(), invite(json!(["not a role"]))).await.assert_error(StatusCode::BAD_REQUEST, "not a role name");
    let widened = app.settings(json!({"InvitableRoles": ["TenantMember", "TenantAdministrator", "Billing"]})).await;
    assert_eq!(widened.body["InvitableRoles"], json!(["TenantMember", "TenantAdministrator", "Billing"]));
    post(member.clone(), invite(json!(["TenantAdministrator"])))
        .await
        .assert_error(StatusCode::FORBIDDEN, "do not hold");
    post(member.clone(), invite(json!(["Billing"]))).await.assert_error(StatusCode::FORBIDDEN, "do not hold");
    assert!(app.list(&app.admin(), "").await.is_empty(), "a refused request writes nothing");

    let invited = post(member, invite(json!(["TenantMember"]))).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let by_admin = json!({"EmailAddresses": ["bea@partner.example"], "Roles": ["TenantAdministrator", "Billing"]});
    assert_eq!(post(app.admin(), by_admin).await.status, StatusCode::OK, "an administrator grants any invitable role");
    let listed = app.list(&app.admin(), "").await;
    let roles_of = |address: &str| listed.iter().find(|i| i["EmailAddress"] == address).unwrap()["Roles"].clone();
    assert_eq!(
        (roles_of("ann@partner.example"), roles_of("bea@partner.example")),
        (json!(["TenantMember"]), json!(["TenantAdministrator", "Billing"]))
    );
    let emails = app.emails(2).await;
    let ann = emails.iter().find(|e| eml::header(e, "To") == "ann@partner.example").unwrap();
    assert_eq!(app.sign_up(&code_in(ann)).await.body["Roles"], json!(["TenantMember"]));
}

/// `SendEmail: false`: the answer lists each invitation's link instead of its address, no email goes out (the
/// list shows no delivery), and the invitation counts on the tenant's `MaxInvitationsPerDay` like any other. Its
/// Resend answers the new link (the old one dies) and sends nothing either.
async fn a_link_only_invitation_sends_no_email_and_counts_as_an_invitation(app: TestApp) {
    app.enable().await;
    let limited = app.settings(json!({"MaxInvitationsPerDay": 3})).await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    // An hour into the next UTC day, so that the day's count below is one day's.
    app.clock.advance_minutes(seconds_to_next_day(app.clock.now()) / 60 + 60);
    let link_only = |to: &[&str]| json!({"EmailAddresses": to, "SendEmail": false});
    let body = link_only(&["ann@partner.example", "ben@partner.example"]);
    let post = || {
        let request = app.http.post(format!("{}{INVITATIONS}", app.url)).bearer_auth(app.member());
        app.send(request.header("Idempotency-Key", "links-1").json(&body))
    };
    let invited = post().await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let replayed = post().await;
    assert_eq!((replayed.replayed, &replayed.body), (true, &invited.body), "a replay answers the same links");
    let links = invited.body.as_array().expect("a list").clone();
    assert_eq!(links.len(), 2, "{}", invited.body);
    assert_eq!(links[0]["EmailAddress"], "ann@partner.example");
    let id = links[0]["InvitationId"].as_str().expect("an id").to_owned();
    let url = links[0]["InvitationUrl"].as_str().expect("a link").to_owned();
    let code = url.strip_prefix(&format!("https://rsvp.test/invite/{id}?token=")).expect("the landing link").to_owned();
    let listed = app.list(&app.admin(), "").await;
    assert!(listed.iter().all(|i| i["SendEmail"] == false && i["DeliveryState"].is_null()), "{listed:?}");
    assert!(!listed.iter().any(|i| i.to_string().contains(&code)), "a list never shows the link's code");
    // The answer kept for the replay holds the links sealed, never in clear.
    let caller = Principal {
        user: UserId::parse("sub", MEMBER).expect("a user id"),
        tenant: TenantId::parse("tenant", ACME).expect("a tenant id"),
        email: None,
        tenant_name: None,
        roles: vec![Role::TenantMember],
    };
    let now = app.clock.now();
    let record = IdempotencyRecord::claim(&caller, "invite_users", "links-1", INVITATIONS, b"", now).expect("a key");
    let kept = app.store.claim_idempotency(&record, now).await.expect("read").expect("the first request's record");
    let answer = kept.answer.expect("answered");
    assert!(answer.sealed_for.is_some() && !answer.body.contains(&code), "kept sealed: {}", answer.body);

    // A third invitation, emailed, still fits the day's 3; a fourth of either kind does not.
    assert_eq!(app.invite(&app.member(), &["cat@partner.example"], "").await.status, StatusCode::OK);
    let spent =
        app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(link_only(&["dan@partner.example"]))).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "3 invitations a day");
    let emails = app.emails(1).await;
    assert_eq!(emails.len(), 1, "only the emailed invitation sent an email");
    assert_eq!(eml::header(&emails[0], "To"), "cat@partner.example");

    // Its Resend renews the link alone: 200 with the new link, the old code dead, no email.
    app.clock.advance_minutes(11);
    let resent = app.call(Method::POST, &format!("{INVITATIONS}/{id}/resend"), Some(&app.member()), None).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let renewed = resent.body["InvitationUrl"].as_str().expect("the new link").to_owned();
    let new_code = renewed.split_once("?token=").expect("a code").1.to_owned();
    assert_ne!(new_code, code);
    app.verify(&code).await.assert_error(StatusCode::NOT_FOUND, "");
    let signed_up = app.sign_up(&new_code).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["SendEmail"], false, "{}", signed_up.body);
    assert_eq!(app.emails(1).await.len(), 1, "still only the one email");
}

/// `Locale` on an invite (a language tag; malformed: 400, nothing written) chooses the email's language; one rsvp
/// has no words for falls back to the tenant's `DefaultLocale`. The tenant's `Branding` (each field checked, every
/// fault named, nothing saved on a fault) dresses both parts of the email and names its sender.
async fn the_email_speaks_the_invitations_language_and_wears_the_tenants_branding(app: TestApp) {
    app.enable().await;
    let before = app
        .call(Method::GET, "/api/businesses/tenant-acme/settings?IncludeUserSettings=true", Some(&app.member()), None)
        .await;
    app.settings(json!({"DefaultLocale": "fr"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "rsvp has words for: en, de");
    let bad = app
        .settings(json!({"Branding": {"LogoUrl": "http://cdn.acme.example/l.png", "AccentColor": "red",
                                      "SenderName": "Acme\r\nBcc: x@evil.example", "SupportEmail": "nope"}}))
        .await;
    for field in ["Branding.LogoUrl", "Branding.AccentColor", "Branding.SenderName", "Branding.SupportEmail"] {
        bad.assert_error(StatusCode::BAD_REQUEST, field);
    }
    app.settings(json!({"Branding": {"Colour": "#fff"}})).await.assert_error(StatusCode::BAD_REQUEST, "Colour");
    let after = app
        .call(Method::GET, "/api/businesses/tenant-acme/settings?IncludeUserSettings=true", Some(&app.member()), None)
        .await;
    assert_eq!(after.body, before.body, "a refused change changes nothing");

    let branding = json!({"SenderName": "Acme Einladungen", "ProductName": "Acme Cloud",
                          "LogoUrl": "https://cdn.acme.example/logo.png", "AccentColor": "#0A7D5A",
                          "SupportEmail": "help@acme.example", "FooterText": "Acme GmbH, Berlin"});
    let saved = app.settings(json!({"DefaultLocale": "de-DE", "Branding": branding})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["DefaultLocale"], "de");
    assert_eq!(saved.body["Branding"]["AccentColor"], "#0a7d5a");

    let invite = |to: &str, locale: &str| json!({"EmailAddresses": [to], "Message": "Willkommen <3", "Locale": locale});
    let refused =
        app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(invite("x@partner.example", "not a tag!"))).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "Locale must be a language tag");
    assert!(app.list(&app.admin(), "").await.is_empty(), "a refused request writes nothing");
    for (to, locale) in [("ann@partner.example", "fr-CA"), ("ben@partner.example", "en")] {
        let invited = app.call(Method::POST, INVITATIONS, Some(&app.member()), Some(invite(to, locale))).await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    }
    let listed = app.list(&app.admin(), "").await;
    assert!(listed.iter().any(|i| i["Locale"] == "fr-CA") && listed.iter().any(|i| i["Locale"] == "en"), "{listed:?}");
    let emails = app.emails(2).await;
    for (to, hello, subject) in [
        ("ann@partner.example", "Guten Tag,", "mia@acme.example lädt Sie zu tenant-acme ein"),
        ("ben@partner.example", "Hello,", "mia@acme.example invites you to join tenant-acme"),
    ] {
        let email = emails.iter().find(|e| eml::header(e, "To") == to).expect("an email to each");
        assert!(eml::decoded_header(email, "From").starts_with("Acme Einladungen <"), "{email}");
        assert_eq!(eml::decoded_header(email, "Subject"), subject);
        let (text, html) = (eml::text_part(email), eml::html_part(email));
        assert!(text.contains(hello) && text.contains("Willkommen <3"), "{text}");
        assert!(text.contains("-- \nAcme Cloud\nAcme GmbH, Berlin") && text.contains("help@acme.example"), "{text}");
        assert!(
            html.contains(hello) && html.contains("Willkommen &#60;3") && html.contains("color: #0a7d5a"),
            "{html}"
        );
        assert!(html.contains("<img src=\"https://cdn.acme.example/logo.png\"") && html.contains("Acme GmbH, Berlin"));
    }
}
