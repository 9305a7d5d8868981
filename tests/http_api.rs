//! The Communities API over real HTTP: the local server (`rsvp-local`) in front of the embedded store and in front
//! of DynamoDB Local, driven by a client as a user would. Every scenario runs against both stores.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Client, Method, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::{FixedClock, Timestamp};
use rsvp::store::Store;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::{Value, json};

const BASE: &str = "/api/v1-preview";
const OWNER: (&str, &str) = ("tenant-owner", "admin@owner.example");
const GUEST: (&str, &str) = ("tenant-guest", "bob@guest.example");
const OTHER: (&str, &str) = ("tenant-other", "eve@other.example");

/// One running local server and what a test needs to talk to it.
struct TestApp {
    url: String,
    key: SigningKey,
    http: Client,
    clock: Arc<FixedClock>,
    store: Arc<dyn Store>,
}

impl TestApp {
    async fn spawn(store: Arc<dyn Store>) -> Self {
        let clock = Arc::new(FixedClock::at(rsvp_tests::present()));
        let config = Config { public_url: Some("https://rsvp.test".into()), ..Config::default() };
        let app = Arc::new(App::new(Arc::clone(&store), config).with_clock(clock.clone()));
        let key = SigningKey::generate();
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
        let server = Server::bind(addr, app, key.clone()).await.expect("bind the local server");
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        Self { url, key, http: Client::new(), clock, store }
    }

    fn token(&self, (tenant, email): (&str, &str), roles: &[&str]) -> String {
        self.key.mint(&TokenClaims::new(tenant, email, roles))
    }

    fn admin(&self, who: (&str, &str)) -> String {
        self.token(who, &["TenantAdministrator"])
    }

    fn member(&self, who: (&str, &str)) -> String {
        self.token(who, &["TenantMember"])
    }

    /// Sends a request; `body` is sent as JSON when given.
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.expect("the local server answers")).await
    }

    async fn create_community(&self, name: &str) -> String {
        let body = json!({"Name": name, "Description": "Shared work", "ContactEmail": "ops@owner.example"});
        let answer =
            self.call(Method::POST, &format!("{BASE}/communities"), Some(&self.admin(OWNER)), Some(body)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["Id"].as_str().expect("community id").to_owned()
    }

    async fn invite(&self, community: &str, recipient: &str) -> Answer {
        let path = format!("{BASE}/communities/{community}/invitations");
        self.call(Method::POST, &path, Some(&self.admin(OWNER)), Some(json!({"InvitationRecipient": recipient}))).await
    }

    async fn process(&self, invitation: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, &format!("{BASE}/communityinvitations/{invitation}"), Some(token), Some(body)).await
    }

    async fn get_invitation(&self, community: &str, invitation: &str, token: &str) -> Answer {
        let path = format!("{BASE}/communities/{community}/invitations/{invitation}");
        self.call(Method::GET, &path, Some(token), None).await
    }

    /// A TenantAdministrator's token for `who` whose `tenant_name` claim says `name`; with `verified` false, the
    /// token does not say the address is verified (`email_verified: false`).
    fn admin_named(&self, (tenant, email): (&str, &str), name: &str, verified: bool) -> String {
        let mut claims = TokenClaims::new(tenant, email, &["TenantAdministrator"]);
        claims.tenant_name = Some(name.to_owned());
        claims.email_verified = verified;
        self.key.mint(&claims)
    }

    /// `process` with the link's secret in the `CommunityInvitation-Token` header, as whoever holds the link sends it.
    async fn process_with_link(&self, invitation: &str, token: &str, secret: &str, body: Value) -> Answer {
        let request = self
            .http
            .put(format!("{}{BASE}/communityinvitations/{invitation}", self.url))
            .bearer_auth(token)
            .header("Invitation-Token", secret)
            .json(&body);
        Answer::from(request.send().await.expect("the local server answers")).await
    }

    /// What the owner sees of the community: its invitations and its tenants, as JSON.
    async fn owners_view(&self, community: &str) -> (Value, Value) {
        let owner = self.admin(OWNER);
        let invitations =
            self.call(Method::GET, &format!("{BASE}/communities/{community}/invitations"), Some(&owner), None).await;
        let tenants =
            self.call(Method::GET, &format!("{BASE}/communities/{community}/tenants"), Some(&owner), None).await;
        assert_eq!((invitations.status, tenants.status), (StatusCode::OK, StatusCode::OK));
        (invitations.body, tenants.body)
    }
}

/// What came back: status, the `Link` header, and the JSON body (`Null` when there is none).
struct Answer {
    status: StatusCode,
    link: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
    operation_id: Option<String>,
    body: Value,
}

impl Answer {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let link = header("link");
        let retry_after = header("retry-after");
        let content_type = header("content-type");
        let operation_id = header("operation-id");
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON body") };
        Self { status, link, retry_after, content_type, operation_id, body }
    }

    /// Asserts an `ErrorResponse` with this status whose `Reason` contains `reason`.
    fn assert_error(&self, status: StatusCode, reason: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        for field in ["OperationId", "Error", "Reason", "Resolution"] {
            assert!(self.body[field].as_str().is_some_and(|v| !v.is_empty()), "{field} missing in {}", self.body);
        }
        let actual = self.body["Reason"].as_str().unwrap_or_default();
        assert!(actual.contains(reason), "Reason {actual:?} should mention {reason:?}");
        // As ADH answers: the request named in a header equal to the body's OperationId, and a content type its
        // client reads the body under (exactly `application/json`).
        assert_eq!(self.operation_id.as_deref(), self.body["OperationId"].as_str(), "Operation-Id header");
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
    }

    fn id(&self) -> String {
        self.body["Id"].as_str().expect("an Id").to_owned()
    }

    fn secret(&self) -> String {
        let url = self.body["InvitationUrl"].as_str().expect("an InvitationUrl");
        url.split_once("?token=").expect("a token in the link").1.to_owned()
    }
}

async fn memory() -> TestApp {
    TestApp::spawn(Arc::new(MemoryStore::new())).await
}

async fn dynamodb() -> TestApp {
    TestApp::spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await
}

rsvp_tests::against_both_stores!(
    three_way_handshake,
    wrong_roles_and_other_tenants,
    racing_accepts_have_one_winner,
    token_holder_accepts_and_declines,
    expiry_and_resend,
    bad_input_is_refused_and_changes_nothing,
    paging_walks_every_invitation_once,
    deleting_and_removing,
    updating_a_community,
    deleting_a_community,
    summary_and_stream_search,
    every_answer_names_its_operation,
    a_stolen_link_does_not_let_another_tenant_join,
    an_unverified_address_cannot_accept,
    the_recipients_domain_accepts_only_when_the_owner_chose_it,
    metadata_is_kept_as_given_and_bad_metadata_changes_nothing,
    an_invitation_may_live_fewer_days_and_its_resend_as_many,
    a_link_only_invitation_owes_no_email_and_counts_on_the_owners_day,
);

async fn three_way_handshake(app: TestApp) {
    let community = app.create_community("Shared Operations").await;
    let created = app.invite(&community, " Bob@Guest.EXAMPLE ").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["State"], "InvitationCreated");
    assert_eq!(created.body["InvitationRecipient"], "Bob@guest.example");
    assert_eq!(created.body["IssuingTenantId"], OWNER.0);
    assert_eq!(created.body["CommunityName"], "Shared Operations");
    assert!(created.body["Accepted"].is_null() && created.body["InvitedTenantId"].is_null());
    let invitation = created.id();
    let link = created.body["InvitationUrl"].as_str().unwrap_or_default();
    assert!(link.starts_with(&format!("https://rsvp.test/invite/{invitation}?token=")), "{link}");

    // One pending invitation per (community, recipient), whatever the case of the address.
    let again = app.invite(&community, "bob@guest.example").await;
    again.assert_error(StatusCode::CONFLICT, &invitation);

    // The secret is never shown again.
    let read = app.get_invitation(&community, &invitation, &app.admin(OWNER)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.body.get("InvitationUrl").is_none());
    assert!(!read.body.to_string().contains(&created.secret()));

    let details = app
        .call(Method::GET, &format!("{BASE}/communityinvitations/{invitation}/details"), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(details.status, StatusCode::OK, "{}", details.body);
    assert_eq!(details.body["CommunityName"], "Shared Operations");
    assert_eq!(details.body["CommunityId"], community.as_str());
    assert_eq!(details.body["InvitationState"], "InvitationCreated");
    assert_eq!(details.body["ContactEmail"], "ops@owner.example");

    let accepted = app
        .process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}))
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);

    let listed = app
        .call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body.as_array().expect("a list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["Id"], invitation.as_str());
    assert_eq!(items[0]["State"], "InvitationAccepted");
    assert_eq!(items[0]["InvitedTenantId"], GUEST.0);
    assert_eq!(items[0]["AcceptedUserEmail"], GUEST.1);
    assert!(items[0]["Accepted"].is_string());

    let tenants =
        app.call(Method::GET, &format!("{BASE}/communities/{community}/tenants"), Some(&app.member(OWNER)), None).await;
    assert_eq!(tenants.status, StatusCode::OK);
    // A tenant awaiting confirmation is not listed (ADH's clients know no status for it): its accepted invitation
    // shows it, with the contact it gave.
    let ids: Vec<Value> = tenants.body.as_array().expect("a list").iter().map(|t| t["Id"].clone()).collect();
    assert_eq!(ids, [json!(OWNER.0)]);
    let pending = app.get_invitation(&community, &invitation, &app.admin(OWNER)).await;
    assert_eq!(
        (pending.body["State"].clone(), pending.body["InvitedTenantId"].clone()),
        (json!("InvitationAccepted"), json!(GUEST.0))
    );
    // Awaiting confirmation is not membership yet.
    let early = app.call(Method::GET, &format!("{BASE}/communities/{community}"), Some(&app.admin(GUEST)), None).await;
    early.assert_error(StatusCode::NOT_FOUND, &community);

    let confirmed = app.process(&invitation, &app.admin(OWNER), json!({"Action": "Confirm"})).await;
    assert_eq!(confirmed.status, StatusCode::ACCEPTED, "{}", confirmed.body);

    let got = app.call(Method::GET, &format!("{BASE}/communities/{community}"), Some(&app.member(GUEST)), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let statuses: Vec<(Value, Value, Value)> = got.body["Tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| (t["Id"].clone(), t["Status"].clone(), t["IsOwner"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![(json!(GUEST.0), json!("Active"), json!(false)), (json!(OWNER.0), json!("Active"), json!(true))]
    );
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(GUEST)), None).await;
    assert_eq!(
        mine.body.as_array().map(|c| c.iter().map(|c| c["Id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(community)])
    );
    let done = app.get_invitation(&community, &invitation, &app.member(GUEST)).await;
    assert_eq!(done.body["State"], "InvitationCompleted");
    let accepted_now = app
        .call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(accepted_now.body, json!([]));

    // Every step again is a conflict that names the state reached.
    for (token, body) in [
        (app.admin(OWNER), json!({"Action": "Confirm"})),
        (app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"})),
        (app.admin(GUEST), json!({"Action": "Decline"})),
        (app.admin(OWNER), json!({"Action": "Resend"})),
    ] {
        app.process(&invitation, &token, body).await.assert_error(StatusCode::CONFLICT, "InvitationCompleted");
    }
    // A tenant already in the community cannot come in again through a new invitation.
    let second = app.invite(&community, GUEST.1).await;
    assert_eq!(second.status, StatusCode::CREATED);
    app.process(&second.id(), &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}))
        .await
        .assert_error(StatusCode::CONFLICT, "already in the community");
}

async fn wrong_roles_and_other_tenants(app: TestApp) {
    let no_token = app.call(Method::GET, &format!("{BASE}/communities"), None, None).await;
    no_token.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let forged = app.call(Method::GET, &format!("{BASE}/communities"), Some("e30.e30.c2ln"), None).await;
    forged.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let body = json!({"Name": "Nope"});
    app.call(Method::POST, &format!("{BASE}/communities"), Some(&app.member(OWNER)), Some(body))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");

    let community = app.create_community("Private").await;
    let invitation = app.invite(&community, GUEST.1).await.id();
    // A member of the owner tenant may read but not invite or confirm.
    let as_member = app.member(OWNER);
    assert_eq!(app.get_invitation(&community, &invitation, &as_member).await.status, StatusCode::OK);
    let path = format!("{BASE}/communities/{community}/invitations");
    app.call(Method::POST, &path, Some(&as_member), Some(json!({"InvitationRecipient": "x@y.example"})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");

    // Another tenant learns nothing: every answer is the same 404 as for a missing resource.
    let other = app.admin(OTHER);
    let missing = "00000000-0000-4000-8000-000000000000";
    for path in [
        format!("{BASE}/communities/{community}"),
        format!("{BASE}/communities/{community}/tenants"),
        format!("{BASE}/communities/{community}/invitations"),
        format!("{BASE}/communities/{community}/invitations/{invitation}"),
        format!("{BASE}/communityinvitations/{invitation}/details"),
        format!("{BASE}/communities/{missing}"),
        format!("{BASE}/communityinvitations/{missing}/details"),
    ] {
        let answer = app.call(Method::GET, &path, Some(&other), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.body);
    }
    app.process(&invitation, &other, json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    app.call(Method::DELETE, &format!("{BASE}/communities/{community}/invitations/{invitation}"), Some(&other), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&other), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator of this tenant");

    // The recipient must be an administrator to accept, and only community admins confirm.
    app.process(&invitation, &app.member(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "ContactEmail");
    app.process(&invitation, &app.admin(OWNER), json!({"Action": "Confirm"}))
        .await
        .assert_error(StatusCode::CONFLICT, "InvitationCreated");
    assert_eq!(
        app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Confirm"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "community's administrators");
}

async fn racing_accepts_have_one_winner(app: TestApp) {
    let community = app.create_community("Race").await;
    let invitation = app.invite(&community, GUEST.1).await.id();
    let token = app.admin(GUEST);
    let body = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let (a, b) =
        tokio::join!(app.process(&invitation, &token, body.clone()), app.process(&invitation, &token, body.clone()));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::CONFLICT { a } else { b };
    loser.assert_error(StatusCode::CONFLICT, "InvitationAccepted");
}

async fn token_holder_accepts_and_declines(app: TestApp) {
    let community = app.create_community("Links").await;
    // The guest's administrator signs in with another address and presents the secret from the email.
    let created = app.invite(&community, "shared-inbox@guest.example").await;
    let invitation = created.id();
    let admin = app.admin(GUEST);
    app.process(&invitation, &admin, json!({"Action": "Decline"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    let with_token = |secret: &str| {
        app.http
            .put(format!("{}{BASE}/communityinvitations/{invitation}", app.url))
            .bearer_auth(&admin)
            .header("Invitation-Token", secret)
            .json(&json!({"Action": "Decline"}))
    };
    let wrong = Answer::from(with_token("not-the-secret").send().await.expect("answer")).await;
    wrong.assert_error(StatusCode::NOT_FOUND, &invitation);
    let declined = Answer::from(with_token(&created.secret()).send().await.expect("answer")).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(
        app.get_invitation(&community, &invitation, &app.admin(OWNER)).await.body["State"],
        "InvitationDeclined"
    );
    // Declined frees the recipient for a new invitation.
    assert_eq!(app.invite(&community, "shared-inbox@guest.example").await.status, StatusCode::CREATED);
}

async fn expiry_and_resend(app: TestApp) {
    let community = app.create_community("Expiry").await;
    let created = app.invite(&community, GUEST.1).await;
    let invitation = created.id();
    let owner = app.admin(OWNER);
    // Resend is limited to once per cooldown (10 minutes by default).
    let early = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "10 minutes");
    assert_eq!(early.retry_after.as_deref(), Some("600"));

    app.clock.advance_minutes(14 * 24 * 60);
    assert_eq!(app.get_invitation(&community, &invitation, &owner).await.body["State"], "InvitationExpired");
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::CONFLICT, "InvitationExpired");
    // An expired invitation no longer blocks a new one for the same recipient...
    let newer = app.invite(&community, GUEST.1).await;
    assert_eq!(newer.status, StatusCode::CREATED, "{}", newer.body);
    // ...and while that one is live, the old one cannot be revived over it.
    app.process(&invitation, &owner, json!({"Action": "Resend"})).await.assert_error(StatusCode::CONFLICT, &newer.id());
    app.call(Method::DELETE, &format!("{BASE}/communities/{community}/invitations/{}", newer.id()), Some(&owner), None)
        .await;

    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert_eq!(read.body["State"], "InvitationCreated");
    assert_eq!(read.body["Expires"], Timestamp::from_millis(app.clock_now() + 14 * 86_400_000).to_rfc3339());
    // The old link died with the resend.
    let stale = app
        .http
        .get(format!("{}{BASE}/communityinvitations/{invitation}/details", app.url))
        .bearer_auth(app.admin(OTHER))
        .header("Invitation-Token", created.secret())
        .send()
        .await
        .expect("answer");
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
}

impl TestApp {
    fn clock_now(&self) -> i64 {
        use rsvp::domain::Clock;
        self.clock.now().millis()
    }
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    let community = app.create_community("Strict").await;
    let owner = app.admin(OWNER);
    let invitations = format!("{}{BASE}/communities/{community}/invitations", app.url);
    let raw = |body: Vec<u8>, content_type: &str| {
        app.http.post(&invitations).bearer_auth(&owner).header("content-type", content_type).body(body)
    };
    let cases = [
        (raw(b"{\"InvitationRecipient\": ".to_vec(), "application/json"), "not valid JSON"),
        (raw(b"InvitationRecipient=a@b.example".to_vec(), "application/x-www-form-urlencoded"), "Content-Type"),
        (raw(br#"{"InvitationRecipient":"a@b.example"}"#.to_vec(), "text/plain"), "Content-Type"),
        (
            raw(
                format!(r#"{{"InvitationRecipient":"a@b.example","Pad":"{}"}}"#, "x".repeat(70_000)).into_bytes(),
                "application/json",
            ),
            "64 KiB",
        ),
        (raw(b"{}".to_vec(), "application/json"), "InvitationRecipient is required"),
        (raw(br#"{"InvitationRecipient": 42}"#.to_vec(), "application/json"), "not valid JSON"),
        (
            raw(br#"{"InvitationRecipient":"not-an-address"}"#.to_vec(), "application/json"),
            "InvitationRecipient is not a valid email",
        ),
        (
            raw(br#"{"InvitationRecipient":"a@b.example\r\nBcc: x@y.example"}"#.to_vec(), "application/json"),
            "not a valid email",
        ),
        (raw(Vec::new(), "application/json"), "JSON body"),
    ];
    for (request, reason) in cases {
        Answer::from(request.send().await.expect("answer")).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let invitation = app.invite(&community, GUEST.1).await.id();
    let guest = app.admin(GUEST);
    app.process(&invitation, &guest, json!({"Action": "Approve"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Accept, Decline, Confirm or Resend");
    app.process(&invitation, &guest, json!({"ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Action is required");
    app.process(&invitation, &guest, json!({"Action": "Accept", "ContactEmail": "nope"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "ContactEmail");

    let list = format!("{BASE}/communities/{community}/invitations");
    for (query, reason) in [
        ("skip=-1", "skip"),
        ("skip=abc", "skip"),
        ("count=0", "count"),
        ("count=1001", "count"),
        ("skip=10001", "skip"),
        ("continuationToken=%21%21", "continuationToken"),
        ("continuationToken=eyJzIjoiZ2FyYmFnZSJ9", "continuationToken"),
    ] {
        app.call(Method::GET, &format!("{list}?{query}"), Some(&owner), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    for path in [
        format!("{BASE}/communities/not-a-guid"),
        format!("{BASE}/communities/{community}/invitations/12345"),
        format!("{BASE}/communityinvitations/%27%3B--/details"),
        format!("{BASE}/tenants/bad%23tenant/communityinvitations"),
    ] {
        let answer = app.call(Method::GET, &path, Some(&owner), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}: {}", answer.body);
    }
    let created =
        app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(json!({"Name": "  "}))).await;
    created.assert_error(StatusCode::BAD_REQUEST, "Name");

    // Nothing above changed anything: one invitation, still as created.
    let listed = app.call(Method::GET, &list, Some(&owner), None).await;
    let states: Vec<Value> = listed.body.as_array().expect("a list").iter().map(|i| i["State"].clone()).collect();
    assert_eq!(states, vec![json!("InvitationCreated")]);
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&owner), None).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
}

async fn paging_walks_every_invitation_once(app: TestApp) {
    let community = app.create_community("Paging").await;
    let mut expected = Vec::new();
    for i in 0..5 {
        app.clock.advance_millis(1);
        expected.push(app.invite(&community, &format!("person{i}@guest.example")).await.id());
    }
    expected.reverse(); // newest first
    let owner = app.admin(OWNER);
    let mut seen = Vec::new();
    let mut next = Some(format!("{BASE}/communities/{community}/invitations?count=2"));
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        let page = app.call(Method::GET, &path, Some(&owner), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(
            page.body.as_array().expect("a page").iter().map(|i| i["Id"].as_str().unwrap_or_default().to_owned()),
        );
        next = page.link.map(|link| {
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned()
        });
        assert!(pages <= 3, "more pages than items allow");
    }
    assert_eq!(seen, expected);
    let skipped = app
        .call(Method::GET, &format!("{BASE}/communities/{community}/invitations?skip=3&count=10"), Some(&owner), None)
        .await;
    let ids: Vec<&str> = skipped.body.as_array().expect("a page").iter().filter_map(|i| i["Id"].as_str()).collect();
    assert_eq!(ids, expected[3..].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(skipped.link.is_none());
}

async fn deleting_and_removing(app: TestApp) {
    let community = app.create_community("Tidy").await;
    let owner = app.admin(OWNER);
    let created = app.invite(&community, GUEST.1).await;
    let invitation = created.id();
    let path = format!("{BASE}/communities/{community}/invitations/{invitation}");
    let deleted = app.call(Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.call(Method::GET, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    let stored = app.store.get_invitation(rsvp::domain::InvitationId::parse("id", &invitation).expect("id")).await;
    assert!(stored.expect("store answers").expect("kept for audit").is_deleted());

    // Bring the guest in, then remove it; the owner itself cannot be removed.
    let second = app.invite(&community, GUEST.1).await.id();
    let accept = json!({"Action": "Accept", "ContactEmail": "a@b.example"});
    assert_eq!(app.process(&second, &app.admin(GUEST), accept).await.status, StatusCode::ACCEPTED);
    // While it waits for confirmation, the tenant leaves through its invitation, not by removal.
    let tenants = format!("{BASE}/communities/{community}/tenants");
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::CONFLICT, "awaiting confirmation");
    assert_eq!(app.process(&second, &owner, json!({"Action": "Confirm"})).await.status, StatusCode::ACCEPTED);
    app.call(Method::DELETE, &format!("{tenants}/{}", OWNER.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::CONFLICT, "owner tenant");
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&app.admin(GUEST)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    assert_eq!(
        app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None).await.status,
        StatusCode::NO_CONTENT
    );
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, GUEST.0);
    let left = app.call(Method::GET, &tenants, Some(&owner), None).await;
    assert_eq!(
        left.body.as_array().map(|t| t.iter().map(|t| t["Id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(OWNER.0)])
    );
}

async fn updating_a_community(app: TestApp) {
    let community = app.create_community("Shared Operations").await;
    let path = format!("{BASE}/communities/{community}");
    let renamed = app.call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(json!({"Name": " Shared Ops "}))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.content_type.as_deref(), Some("application/json"));
    assert!(renamed.operation_id.as_deref().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        (renamed.body["Name"].clone(), renamed.body["DisplayName"].clone()),
        (json!("Shared Ops"), json!("Shared Ops"))
    );
    assert_eq!(renamed.body["Description"], "Shared work", "a field left out keeps its value");
    assert_eq!(renamed.body["ContactEmail"], "ops@owner.example");
    assert_eq!(renamed.body["Tenants"][0]["Id"], OWNER.0);
    for field in ["MemberRoleId", "PreferredRegionId", "CommunityRoles"] {
        assert!(renamed.body[field].is_null(), "{field} is not a notion of rsvp's: null");
    }
    // The list shows the name as it now is.
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(mine.body[0]["Name"], "Shared Ops");
    let cleared = app
        .call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(json!({"Description": "", "ContactEmail": " "})))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!((cleared.body["Description"].clone(), cleared.body["ContactEmail"].clone()), (json!(""), Value::Null));

    // Bad input: a clear 400 that changes nothing.
    for (body, reason) in [
        (json!({}), "changes nothing"),
        (json!({"name": "lower case is not a field"}), "changes nothing"),
        (json!({"Name": "  "}), "Name"),
        (json!({"Name": "n".repeat(201)}), "Name"),
        (json!({"Description": "d".repeat(2_001)}), "Description"),
        (json!({"ContactEmail": "not an address"}), "ContactEmail"),
        (json!({"Name": 5}), "not valid JSON"),
        (json!(["Name"]), "not valid JSON"),
    ] {
        app.call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(body))
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let text = app
        .http
        .put(format!("{}{path}", app.url))
        .bearer_auth(app.admin(OWNER))
        .header("content-type", "text/plain")
        .body("Name=x")
        .send()
        .await
        .expect("an answer");
    Answer::from(text).await.assert_error(StatusCode::BAD_REQUEST, "JSON");
    // Not the owner's administrator: 403; another tenant: 404, as for a missing community; no token: 401.
    let change = json!({"Name": "Hijacked"});
    app.call(Method::PUT, &path, Some(&app.member(OWNER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    app.call(Method::PUT, &path, Some(&app.admin(OTHER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::PUT, &path, None, Some(change.clone())).await.assert_error(StatusCode::UNAUTHORIZED, "token");
    let missing = format!("{BASE}/communities/{}", uuid::Uuid::new_v4());
    app.call(Method::PUT, &missing, Some(&app.admin(OWNER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "");
    app.call(Method::PUT, &format!("{BASE}/communities/not-a-guid"), Some(&app.admin(OWNER)), Some(change))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "communityId");
    let read = app.call(Method::GET, &path, Some(&app.member(OWNER)), None).await;
    assert_eq!((read.body["Name"].clone(), read.body["Description"].clone()), (json!("Shared Ops"), json!("")));
}

async fn deleting_a_community(app: TestApp) {
    let owner = app.admin(OWNER);
    let community = app.create_community("Short-lived").await;
    let path = format!("{BASE}/communities/{community}");
    let invitation = app.invite(&community, GUEST.1).await.id();
    // An open invitation keeps it; the refusal names it, and the header names the request as the body does.
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, &invitation);
    assert!(refused.body["Reason"].as_str().is_some_and(|r| r.contains("InvitationCreated")), "{}", refused.body);
    // Accepted: the invitation is still open and the waiting tenant is in.
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    assert_eq!(app.process(&invitation, &app.admin(GUEST), accept).await.status, StatusCode::ACCEPTED);
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, GUEST.0);
    refused.assert_error(StatusCode::CONFLICT, "InvitationAccepted");
    // Confirmed: the invitation is finished, the tenant is a member.
    assert_eq!(app.process(&invitation, &owner, json!({"Action": "Confirm"})).await.status, StatusCode::ACCEPTED);
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, GUEST.0);
    assert!(!refused.body["Reason"].as_str().unwrap_or_default().contains(&invitation), "{}", refused.body);
    // Only the owner tenant's administrator may; another tenant, even a member, is told so.
    app.call(Method::DELETE, &path, Some(&app.member(OWNER)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    app.call(Method::DELETE, &path, Some(&app.admin(GUEST)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    app.call(Method::DELETE, &path, Some(&app.admin(OTHER)), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::DELETE, &path, None, None).await.assert_error(StatusCode::UNAUTHORIZED, "token");
    app.call(Method::DELETE, &format!("{BASE}/communities/nope"), Some(&owner), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "communityId");
    assert_eq!(
        app.call(Method::GET, &path, Some(&app.member(GUEST)), None).await.status,
        StatusCode::OK,
        "nothing was deleted"
    );

    let remove = format!("{path}/tenants/{}", GUEST.0);
    assert_eq!(app.call(Method::DELETE, &remove, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    let deleted = app.call(Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert!(deleted.operation_id.is_some());
    app.call(Method::GET, &path, Some(&app.member(OWNER)), None).await.assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &community);
    app.invite(&community, "late@guest.example").await.assert_error(StatusCode::NOT_FOUND, &community);
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(mine.body, json!([]));

    // An expired invitation keeps a community too (Resend would revive it) until it is withdrawn.
    let second = app.create_community("Expiring").await;
    let path = format!("{BASE}/communities/{second}");
    let stale = app.invite(&second, GUEST.1).await.id();
    app.clock.advance_minutes(15 * 24 * 60);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::CONFLICT, "InvitationExpired");
    let withdraw = format!("{path}/invitations/{stale}");
    assert_eq!(app.call(Method::DELETE, &withdraw, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::DELETE, &path, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
}

async fn summary_and_stream_search(app: TestApp) {
    let community = app.create_community("Streams").await;
    let summary = format!("{BASE}/communities/{community}/summary");
    let got = app.call(Method::GET, &summary, Some(&app.member(OWNER)), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body, json!({"TotalStreams": 0, "StreamsContributed": 0}));
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    app.call(Method::GET, &summary, Some(&app.admin(OTHER)), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::GET, &summary, Some(&app.token(OWNER, &[])), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantMember");

    let search = format!("{BASE}/search/communities/{community}/streams");
    let found = app
        .call(
            Method::GET,
            &format!("{search}?query=pump&skip=0&count=10&searchTenantId={}", OWNER.0),
            Some(&app.member(OWNER)),
            None,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body, json!([]));
    for (query, reason) in [
        ("count=0", "count"),
        ("skip=-1", "skip"),
        ("searchTenantId=%20", "searchTenantId"),
        (&*format!("query={}", "q".repeat(1_001)), "query"),
    ] {
        app.call(Method::GET, &format!("{search}?{query}"), Some(&app.member(OWNER)), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    app.call(Method::GET, &search, Some(&app.admin(OTHER)), None).await.assert_error(StatusCode::NOT_FOUND, &community);
}

async fn every_answer_names_its_operation(app: TestApp) {
    // The local server's own refusals (no such route, wrong method) as much as the operations' answers.
    let unknown = app.call(Method::GET, "/api/v1-preview/nowhere", Some(&app.admin(OWNER)), None).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "No operation");
    let wrong = app.call(Method::PATCH, &format!("{BASE}/communities"), Some(&app.admin(OWNER)), None).await;
    wrong.assert_error(StatusCode::METHOD_NOT_ALLOWED, "No operation");
    app.call(Method::GET, &format!("{BASE}/communities"), None, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token");
    let listed = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.content_type.as_deref(), Some("application/json"));
    let id = listed.operation_id.expect("an Operation-Id on a success too");
    let again = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_ne!(again.operation_id, Some(id), "each request has its own id");
}

/// Issue 12, finding 2: with only the link's secret, another tenant's administrator accepted an invitation sent to
/// someone else, under a `tenant_name` of its choosing, and the owner confirmed the name it was shown. Now the
/// accept is refused and changes nothing; the recipient accepts, and the owner sees who did by what was verified.
async fn a_stolen_link_does_not_let_another_tenant_join(app: TestApp) {
    let community = app.create_community("Shared Operations").await;
    let created = app.invite(&community, GUEST.1).await;
    let (invitation, secret) = (created.id(), created.secret());
    assert_eq!(created.body["AcceptFrom"], "Recipient", "bound to its recipient by default");
    let before = app.owners_view(&community).await;

    let stranger = app.admin_named(OTHER, "t2 Guest Corp", true);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@other.example"});
    let refused = app.process_with_link(&invitation, &stranger, &secret, accept.clone()).await;
    refused.assert_error(StatusCode::FORBIDDEN, "only its recipient");
    assert!(!refused.body.to_string().contains(GUEST.1), "the refusal does not name the recipient: {}", refused.body);
    // Nothing changed: the owner's view is the same, the stranger's tenant is in nothing, the address still waits.
    assert_eq!(app.owners_view(&community).await, before);
    let theirs =
        app.call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", OTHER.0), Some(&stranger), None).await;
    assert_eq!(theirs.body, json!([]));
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&stranger), None).await;
    assert_eq!(mine.body, json!([]));
    app.invite(&community, GUEST.1).await.assert_error(StatusCode::CONFLICT, &invitation);
    let stored = app.store.get_invitation(rsvp::domain::InvitationId::parse("id", &invitation).expect("id")).await;
    let stored = stored.expect("store answers").expect("the invitation");
    assert_eq!((stored.version, stored.history.len()), (1, 1), "not even a history line was written");

    // The recipient accepts; the owner sees the accepting tenant's id and verified address, and the name as a claim.
    let recipient = app.admin_named(GUEST, "Guest Ltd", true);
    let accepted =
        app.process(&invitation, &recipient, json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}));
    assert_eq!(accepted.await.status, StatusCode::ACCEPTED);
    let seen = app.get_invitation(&community, &invitation, &app.member(OWNER)).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let who = |b: &Value| {
        [&b["State"], &b["InvitedTenantId"], &b["AcceptedUserEmail"], &b["AcceptedTenantName"]]
            .map(Clone::clone)
            .to_vec()
    };
    assert_eq!(who(&seen.body), [json!("InvitationAccepted"), json!(GUEST.0), json!(GUEST.1), json!("Guest Ltd")]);
    assert_eq!(seen.body["AcceptedTenantNameVerified"], false, "a tenant_name claim is never verified");
    let listed = app.owners_view(&community).await.0;
    assert_eq!(who(&listed[0]), who(&seen.body));
    assert_eq!(listed[0]["AcceptedTenantNameVerified"], false);
    // A stranger with the link may still decline a pending invitation, though not accept it.
    let second = app.invite(&community, "carol@guest.example").await;
    let declined = app.process_with_link(&second.id(), &stranger, &second.secret(), json!({"Action": "Decline"})).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(
        app.get_invitation(&community, &second.id(), &app.admin(OWNER)).await.body["State"],
        "InvitationDeclined"
    );
}

/// The recipient's own address counts only when the token says it is verified; the link does not make up for it.
async fn an_unverified_address_cannot_accept(app: TestApp) {
    let community = app.create_community("Verified").await;
    let created = app.invite(&community, GUEST.1).await;
    let invitation = created.id();
    let before = app.owners_view(&community).await;
    let unverified = app.admin_named(GUEST, "Guest Ltd", false);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    // Without the link, an unverified address is no one's: the invitation is not theirs to see.
    app.process(&invitation, &unverified, accept.clone()).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    let refused = app.process_with_link(&invitation, &unverified, &created.secret(), accept).await;
    refused.assert_error(StatusCode::FORBIDDEN, "verified");
    assert_eq!(app.owners_view(&community).await, before);
}

/// `AcceptFrom: RecipientDomain`, chosen for a community or for one invitation, lets an administrator at the
/// recipient's domain accept with the link; another domain is still refused, and the default stays exact.
async fn the_recipients_domain_accepts_only_when_the_owner_chose_it(app: TestApp) {
    let owner = app.admin(OWNER);
    let colleague = app.admin_named(("tenant-guest", "it@guest.example"), "Guest Ltd", true);
    let stranger = app.admin_named(OTHER, "Guest Ltd", true);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});

    // Per community: set on create, shown on the community and taken by its invitations.
    let body = json!({"Name": "Domain-wide", "AcceptFrom": "RecipientDomain"});
    let created = app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["AcceptFrom"], "RecipientDomain");
    let community = created.id();
    let first = app.invite(&community, GUEST.1).await;
    assert_eq!(first.body["AcceptFrom"], "RecipientDomain");
    let before = app.owners_view(&community).await;
    app.process_with_link(&first.id(), &stranger, &first.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "recipient's domain");
    assert_eq!(app.owners_view(&community).await, before, "another domain's refusal changes nothing");
    // A colleague at the domain still needs the link: without it the invitation is not theirs to see.
    app.process(&first.id(), &colleague, accept.clone()).await.assert_error(StatusCode::NOT_FOUND, &first.id());
    let accepted = app.process_with_link(&first.id(), &colleague, &first.secret(), accept.clone()).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let seen = app.get_invitation(&community, &first.id(), &owner).await;
    assert_eq!(
        (seen.body["InvitedTenantId"].clone(), seen.body["AcceptedUserEmail"].clone()),
        (json!("tenant-guest"), json!("it@guest.example")),
        "the owner sees who accepted in the recipient's place"
    );

    // Updating the community back to exact applies to invitations sent from then on; a sent one keeps its rule.
    let path = format!("{BASE}/communities/{community}");
    let pending = app.invite(&community, "carol@guest.example").await;
    let strict = app.call(Method::PUT, &path, Some(&owner), Some(json!({"AcceptFrom": "Recipient"}))).await;
    assert_eq!((strict.status, strict.body["AcceptFrom"].clone()), (StatusCode::OK, json!("Recipient")));
    assert_eq!(strict.body["Name"], "Domain-wide", "a field left out keeps its value");
    let later = app.invite(&community, "dan@guest.example").await;
    assert_eq!(later.body["AcceptFrom"], "Recipient");
    assert_eq!(app.get_invitation(&community, &pending.id(), &owner).await.body["AcceptFrom"], "RecipientDomain");
    let colleague_2 = app.admin_named(("tenant-guest-2", "ops@guest.example"), "Guest Two", true);
    app.process_with_link(&later.id(), &colleague_2, &later.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "only its recipient");

    // Per invitation, in a community with the default.
    let plain = app.create_community("Exact").await;
    let invitations = format!("{BASE}/communities/{plain}/invitations");
    let chosen = app
        .call(
            Method::POST,
            &invitations,
            Some(&owner),
            Some(json!({"InvitationRecipient": GUEST.1, "AcceptFrom": "RecipientDomain"})),
        )
        .await;
    assert_eq!((chosen.status, chosen.body["AcceptFrom"].clone()), (StatusCode::CREATED, json!("RecipientDomain")));
    let default = app.invite(&plain, "erin@guest.example").await;
    assert_eq!(default.body["AcceptFrom"], "Recipient");
    app.process_with_link(&default.id(), &colleague, &default.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "only its recipient");
    app.process_with_link(&chosen.id(), &stranger, &chosen.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "recipient's domain");
    let accepted = app.process_with_link(&chosen.id(), &colleague, &chosen.secret(), accept).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);

    // An unknown rule is a 400 that creates or changes nothing.
    for bad in [json!("Anyone"), json!("recipient"), json!(""), json!(7)] {
        let body = json!({"Name": "Bad", "AcceptFrom": bad});
        let answer = app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        let change = app.call(Method::PUT, &path, Some(&owner), Some(json!({"AcceptFrom": bad}))).await;
        assert_eq!(change.status, StatusCode::BAD_REQUEST, "{}", change.body);
        let body = json!({"InvitationRecipient": "fred@guest.example", "AcceptFrom": bad});
        let invite = app.call(Method::POST, &invitations, Some(&owner), Some(body)).await;
        assert_eq!(invite.status, StatusCode::BAD_REQUEST, "{}", invite.body);
    }
    app.call(
        Method::POST,
        &invitations,
        Some(&owner),
        Some(json!({"InvitationRecipient": "fred@guest.example", "AcceptFrom": "Anyone"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "Recipient or RecipientDomain");
    let names: Vec<Value> = app
        .call(Method::GET, &format!("{BASE}/communities"), Some(&owner), None)
        .await
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["Name"].clone())
        .collect();
    assert!(!names.contains(&json!("Bad")), "{names:?}");
    assert_eq!(app.call(Method::GET, &path, Some(&owner), None).await.body["AcceptFrom"], "Recipient");
    let listed = app.call(Method::GET, &invitations, Some(&owner), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2), "no invitation for fred: {}", listed.body);
}

/// `Metadata` on a create: kept exactly as given (numbers, nesting, unicode) and handed back by the create's answer,
/// the invitation's read and the community's list; one over any limit (size, keys, depth) or not an object is a 400
/// naming the limit, and writes nothing.
async fn metadata_is_kept_as_given_and_bad_metadata_changes_nothing(app: TestApp) {
    let community = app.create_community("Metadata").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    let given =
        json!({"plan": "pro", "seats": 3, "ratio": 0.25, "big": 9007199254740993u64, "tags": ["a", {"b": "ü"}]});
    let body = json!({"InvitationRecipient": GUEST.1, "Metadata": given, "Roles": ["Contributor", "Viewer"]});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["Metadata"], given);
    let read = app.get_invitation(&community, &created.id(), &owner).await;
    assert_eq!(read.body["Metadata"], given, "the same, numbers and all, after the store");
    assert_eq!(read.body["Roles"], json!(["Contributor", "Viewer"]));
    let bad_role = json!({"InvitationRecipient": "r@x.example", "Roles": ["no spaces"]});
    app.call(Method::POST, &path, Some(&owner), Some(bad_role))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not a role name");
    let plain = app.invite(&community, OTHER.1).await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
    assert!(plain.body.get("Metadata").is_none(), "no Metadata, no field: {}", plain.body);

    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let cases = [
        (json!({"k": "x".repeat(4_100)}), "at most 4096 are kept"),
        (Value::Object(many), "at most 50 are kept"),
        (json!({"a": [{"b": [1]}]}), "at most 3"),
        (json!(["not", "an", "object"]), "must be a JSON object"),
        (json!("text"), "must be a JSON object"),
    ];
    for (i, (metadata, reason)) in cases.into_iter().enumerate() {
        let body = json!({"InvitationRecipient": format!("bad{i}@x.example"), "Metadata": metadata});
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let (invitations, _) = app.owners_view(&community).await;
    let listed: Vec<&str> =
        invitations.as_array().unwrap().iter().map(|i| i["InvitationRecipient"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 2, "nothing written by a refused create: {listed:?}");
    let with = invitations.as_array().unwrap().iter().find(|i| i["InvitationRecipient"] == GUEST.1).unwrap();
    assert_eq!(with["Metadata"], given, "the list hands it back too");
}

/// `ExpiresInDays` on a create: the invitation lives that many days (within the deployment's 14) and a Resend gives it
/// as many again; outside 1..=14, or not a number, it is a 400 that names the bounds and writes nothing.
async fn an_invitation_may_live_fewer_days_and_its_resend_as_many(app: TestApp) {
    let community = app.create_community("Short-lived").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    for (days, reason) in [
        (json!(0), "from 1 to 14"),
        (json!(15), "from 1 to 14"),
        (json!(-3), "from 1 to 14"),
        (json!("2"), "not valid JSON"),
    ] {
        let body = json!({"InvitationRecipient": GUEST.1, "ExpiresInDays": days});
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let (listed, _) = app.owners_view(&community).await;
    assert_eq!(listed, json!([]), "a refused create writes nothing");

    let body = json!({"InvitationRecipient": GUEST.1, "ExpiresInDays": 2});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let day = 86_400_000;
    assert_eq!(created.body["Expires"], Timestamp::from_millis(app.clock_now() + 2 * day).to_rfc3339());
    app.clock.advance_minutes(2 * 24 * 60);
    let invitation = created.id();
    assert_eq!(app.get_invitation(&community, &invitation, &owner).await.body["State"], "InvitationExpired");
    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert_eq!(read.body["Expires"], Timestamp::from_millis(app.clock_now() + 2 * day).to_rfc3339(), "as many again");
}

/// `SendEmail: false` on a create: the invitation owes no email (no `DeliveryState`), the answer's
/// `InvitationUrl` is the only way to it, and it counts on the owner's `MaxInvitationsPerDay` as any invitation
/// does. Its Resend answers 200 with a new link (the old one no longer opens the page) and still owes no email. A
/// `SendEmail` that is not a boolean, or a `Locale` that is not a language tag, is a 400 that writes nothing.
async fn a_link_only_invitation_owes_no_email_and_counts_on_the_owners_day(app: TestApp) {
    let community = app.create_community("Hand-delivered").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    for (body, reason) in [
        (json!({"InvitationRecipient": GUEST.1, "SendEmail": "no"}), "not valid JSON"),
        (json!({"InvitationRecipient": GUEST.1, "Locale": "??"}), "Locale must be a language tag"),
    ] {
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    assert_eq!(app.owners_view(&community).await.0, json!([]), "a refused create writes nothing");
    let settings = format!("/api/businesses/{}/usersettings", OWNER.0);
    let limited = app.call(Method::PUT, &settings, Some(&owner), Some(json!({"MaxInvitationsPerDay": 2}))).await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);

    let body = json!({"InvitationRecipient": GUEST.1, "SendEmail": false, "Locale": "de"});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!((&created.body["SendEmail"], &created.body["Locale"]), (&json!(false), &json!("de")));
    assert!(created.body["DeliveryState"].is_null(), "no email owed: {}", created.body);
    let invitation = created.id();
    let link = created.body["InvitationUrl"].as_str().expect("the link").to_owned();
    let app = &app;
    let page = |url: String| async move { app.http.get(url.replace("https://rsvp.test", &app.url)).send().await };
    assert_eq!(page(link.clone()).await.expect("the page").status(), StatusCode::OK);

    let second = json!({"InvitationRecipient": "ann@guest.example", "SendEmail": false});
    assert_eq!(app.call(Method::POST, &path, Some(&owner), Some(second)).await.status, StatusCode::CREATED);
    let third = json!({"InvitationRecipient": "zoe@guest.example", "SendEmail": false});
    let spent = app.call(Method::POST, &path, Some(&owner), Some(third)).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day");

    app.clock.advance_minutes(11);
    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let renewed = resent.body["InvitationUrl"].as_str().expect("the new link").to_owned();
    assert_ne!(renewed, link);
    assert_eq!(page(link).await.expect("the page").status(), StatusCode::NOT_FOUND, "the old link is dead");
    assert_eq!(page(renewed).await.expect("the page").status(), StatusCode::OK);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert!(read.body["DeliveryState"].is_null() && read.body.get("InvitationUrl").is_none(), "{}", read.body);
}
