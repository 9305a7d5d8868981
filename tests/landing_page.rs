//! The invitation landing page (`/invite/{invitationId}?token=<secret>`) over real HTTP, against the local server
//! (`rsvp-local`) over the embedded store, and in a real browser: Debian's `chromium`, headless, driven through
//! `playwright-core` by `tests/browser/decline.cjs`.
//!
//! The browser test needs two things `scripts/test` installs and names: `RSVP_TEST_CHROMIUM` (the browser) and
//! `RSVP_TEST_NODE_MODULES` (a node_modules holding playwright-core). Without them it fails and says so; it never
//! skips. It leaves screenshots of the page before and after Decline, on a phone-sized screen, in
//! `target/tmp/landing-page/` (replaced on every run; the test prints the path).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::{FixedClock, InvitationId, Timestamp};
use rsvp::seal::AesSealer;
use rsvp::store::CommunityStore;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use rsvp_tests::eml;
use serde_json::{Value, json};

const BASE: &str = "/api/v1-preview";
const OWNER: (&str, &str) = ("tenant-owner", "admin@owner.example");
const GUEST: (&str, &str) = ("tenant-guest", "bob@guest.example");
const START: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const SIGN_IN: &str = "https://app.example/sign-in";
const FORM: &str = "application/x-www-form-urlencoded";
/// The longest the browser gets to open the page and decline.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// The local server with its invitation links pointing at itself, and a client for it.
struct TestApp {
    url: String,
    key: SigningKey,
    http: Client,
    clock: Arc<FixedClock>,
    store: Arc<MemoryStore>,
    /// Where the local mailer writes each email as an `.eml` file, as `rsvp-local serve` does.
    outbox: PathBuf,
}

impl TestApp {
    async fn spawn() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().expect("loopback"))
            .await
            .expect("bind the local server");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let clock = Arc::new(FixedClock::at(START));
        let store = Arc::new(MemoryStore::new());
        let data = eml::temp_dir();
        let outbox = data.join("outbox");
        let sealer = Arc::new(AesSealer::load_or_create(&data).expect("the local outbox key"));
        rsvp_local::mail::start(&store, sealer.clone(), &outbox).expect("start the local mailer");
        let config = Config { public_url: Some(url.clone()), sign_in_url: Some(SIGN_IN.into()), ..Config::default() };
        let app = Arc::new(App::new(store.clone(), config).with_clock(clock.clone()).with_sealer(sealer));
        let key = SigningKey::generate();
        let server = Server::from_listener(listener, app, key.clone()).expect("serve on the listener");
        tokio::spawn(server.run());
        // No redirects followed: the pages' answers are checked as they are sent.
        let http = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("an HTTP client");
        Self { url, key, http, clock, store, outbox }
    }

    fn admin(&self, (tenant, email): (&str, &str)) -> String {
        self.key.mint(&TokenClaims::new(tenant, email, &["TenantAdministrator"]))
    }

    async fn api(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{BASE}{path}", self.url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the local server answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    /// A community named `name` with an invitation for the guest; its id, the invitation's id and its link.
    async fn invitation(&self, name: &str) -> (String, String, String) {
        let owner = self.admin(OWNER);
        let (status, community) = self
            .api(Method::POST, "/communities", &owner, Some(json!({"Name": name, "ContactEmail": "ops@owner.example"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{community}");
        let community = community["Id"].as_str().expect("a community id").to_owned();
        let path = format!("/communities/{community}/invitations");
        let (status, created) =
            self.api(Method::POST, &path, &owner, Some(json!({"InvitationRecipient": GUEST.1}))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["Id"].as_str().expect("an invitation id").to_owned();
        let link = created["InvitationUrl"].as_str().expect("the link").to_owned();
        assert!(link.starts_with(&format!("{}/invite/{id}?token=", self.url)), "{link}");
        (community, id, link)
    }

    async fn state(&self, community: &str, invitation: &str) -> Value {
        let path = format!("/communities/{community}/invitations/{invitation}");
        let (status, body) = self.api(Method::GET, &path, &self.admin(OWNER), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["State"].clone()
    }

    async fn get(&self, url: &str) -> Page {
        Page::from(self.http.get(url).send().await.expect("the local server answers")).await
    }

    async fn post(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Page {
        let request = self.http.post(format!("{}{path}", self.url)).header("content-type", content_type).body(body);
        Page::from(request.send().await.expect("the local server answers")).await
    }
}

/// An HTML answer.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        Self { status, headers, body: response.text().await.expect("a readable body") }
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Every page, whatever its status, is HTML that no cache keeps, no referrer leaks, no frame shows, and in which
    /// no script runs.
    fn assert_secure(&self) {
        assert_eq!(self.header("content-type"), "text/html; charset=utf-8");
        assert_eq!(self.header("cache-control"), "no-store");
        assert_eq!(self.header("referrer-policy"), "no-referrer");
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert_eq!(self.header("x-frame-options"), "DENY");
        let policy = self.header("content-security-policy");
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"), "{policy}");
        assert!(!policy.contains("script-src") && !policy.contains("unsafe-"), "{policy}");
        assert!(self.body.starts_with("<!doctype html>"), "{}", self.body);
        assert!(!self.body.contains("<script"), "{}", self.body);
    }

    fn assert_not_found(&self, not_found: &Page) {
        assert_eq!(self.status, StatusCode::NOT_FOUND, "{}", self.body);
        assert_eq!(self.body, not_found.body, "every dead link gets the same page, byte for byte");
        self.assert_secure();
    }
}

fn token_of(link: &str) -> &str {
    link.split_once("?token=").expect("a token in the link").1
}

/// What the page of an invitation that does not exist looks like.
async fn missing_invitation_page(app: &TestApp, token: &str) -> Page {
    let page = app.get(&format!("{}/invite/{}?token={token}", app.url, InvitationId::new())).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_secure();
    assert!(page.body.contains("This invitation link is not valid."), "{}", page.body);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_invitation_with_every_value_escaped() {
    let app = TestApp::spawn().await;
    let name = r#"<b onmouseover="x()">Ops</b> & 'Co'"#;
    let (_, id, link) = app.invitation(name).await;
    let page = app.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_secure();
    assert!(!page.body.contains("<b onmouseover"), "the name is not markup: {}", page.body);
    let escaped = "&#60;b onmouseover=&#34;x()&#34;&#62;Ops&#60;/b&#62; &#38; &#39;Co&#39;";
    assert!(page.body.contains(&format!("<h1>{escaped}</h1>")), "{}", page.body);
    let from = format!("<dd>{}, {}</dd>", OWNER.1, OWNER.0);
    for shown in [from.as_str(), GUEST.1, "Waiting for an answer", "ops@owner.example", "Decline invitation"] {
        assert!(page.body.contains(shown), "the page shows {shown}: {}", page.body);
    }
    // Accept continues to the product's sign-in with the invitation and its secret, for the recipient's address.
    assert!(page.body.contains(&format!("signed in as {}, accepts", GUEST.1)), "{}", page.body);
    let token = token_of(&link);
    assert!(page.body.contains(&format!("href=\"{SIGN_IN}?invitation={id}&#38;token={token}\"")), "{}", page.body);
    // The form posts back to the page's own path, relative to it.
    assert!(page.body.contains(&format!("<form method=\"post\" action=\"{id}\">")), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_missing_and_used_up_links_all_get_the_missing_invitation_page() {
    let app = TestApp::spawn().await;
    let (community, id, link) = app.invitation("Shared Operations").await;
    let token = token_of(&link).to_owned();
    let not_found = missing_invitation_page(&app, &token).await;

    let wrong = format!("{}/invite/{id}?token=", app.url);
    for dead in [
        format!("{wrong}{}", "A".repeat(43)),
        format!("{wrong}{}", &token[..42]),
        format!("{wrong}{token}x"),
        format!("{wrong}{}", "x".repeat(5_000)),
        wrong.clone(),
        format!("{}/invite/{id}", app.url),
        format!("{}/invite/{id}?secret={token}", app.url),
        format!("{}/invite/not-an-id?token={token}", app.url),
    ] {
        app.get(&dead).await.assert_not_found(&not_found);
    }
    // A POST with a wrong or missing token is the same page too, and changes nothing.
    for form in ["token=nope&action=decline", "action=decline"] {
        app.post(&format!("/invite/{id}"), FORM, form).await.assert_not_found(&not_found);
    }
    assert_eq!(app.state(&community, &id).await, "InvitationCreated");

    // Once answered, the link is used up.
    let declined = app.post(&format!("/invite/{id}"), FORM, format!("token={token}&action=decline")).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    app.get(&link).await.assert_not_found(&not_found);
    app.post(&format!("/invite/{id}"), FORM, format!("token={token}&action=decline"))
        .await
        .assert_not_found(&not_found);

    // A withdrawn invitation's link leads nowhere either.
    let (community, id, link) = app.invitation("Second").await;
    let path = format!("/communities/{community}/invitations/{id}");
    assert_eq!(app.api(Method::DELETE, &path, &app.admin(OWNER), None).await.0, StatusCode::NO_CONTENT);
    app.get(&link).await.assert_not_found(&not_found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_holder_declines_without_signing_in_and_the_api_sees_it() {
    let app = TestApp::spawn().await;
    let (community, id, link) = app.invitation("Shared Operations").await;
    let page = app.post(&format!("/invite/{id}"), FORM, format!("action=decline&token={}", token_of(&link))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_secure();
    assert!(page.body.contains("You declined this invitation.") && page.body.contains(">Declined<"));
    assert!(!page.body.contains(token_of(&link)) && !page.body.contains("<form"), "nothing left to do: {}", page.body);

    assert_eq!(app.state(&community, &id).await, "InvitationDeclined");
    let stored = app.store.get_invitation(InvitationId::parse("id", &id).unwrap()).await.unwrap().unwrap();
    let line = stored.history.last().expect("a history line");
    assert_eq!(line.action, "Decline");
    assert!(line.by_link_holder() && line.tenant.is_none(), "recorded as done with the link: {line:?}");
    // The recipient can no longer act on it, and a new invitation for the same address is possible again.
    let (status, body) = app
        .api(Method::PUT, &format!("/communityinvitations/{id}"), &app.admin(GUEST), Some(json!({"Action": "Decline"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let path = format!("/communities/{community}/invitations");
    let (status, body) =
        app.api(Method::POST, &path, &app.admin(OWNER), Some(json!({"InvitationRecipient": GUEST.1}))).await;
    assert_eq!(status, StatusCode::CREATED, "declining released the pending-invitation lock: {body}");
}

/// A stolen link opens the page and declines, but accepting needs the recipient's verified address: another
/// tenant's administrator presenting the secret to the API is refused, the page still works, and then declines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_link_declines_but_never_accepts() {
    let app = TestApp::spawn().await;
    let (community, id, link) = app.invitation("Shared Operations").await;
    let mut claims = TokenClaims::new("tenant-other", "eve@other.example", &["TenantAdministrator"]);
    claims.tenant_name = Some("t2 Guest Corp".into());
    let stranger = app.key.mint(&claims);
    let accepted = app
        .http
        .put(format!("{}{BASE}/communityinvitations/{id}", app.url))
        .bearer_auth(&stranger)
        .header("Invitation-Token", token_of(&link))
        .json(&json!({"Action": "Accept", "ContactEmail": "ops@other.example"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(accepted.status(), StatusCode::FORBIDDEN);
    let reason: Value = accepted.json().await.expect("an error body");
    assert!(!reason.to_string().contains(GUEST.1), "{reason}");
    assert_eq!(app.state(&community, &id).await, "InvitationCreated");
    // The page is as it was, and the page's Accept is no way round it: it accepts no community invitation.
    let page = app.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let refused = app.post(&format!("/invite/{id}"), FORM, format!("token={}&action=accept", token_of(&link))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(app.state(&community, &id).await, "InvitationCreated");
    let declined = app.post(&format!("/invite/{id}"), FORM, format!("token={}&action=decline", token_of(&link))).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(app.state(&community, &id).await, "InvitationDeclined");
}

/// An invitation that admits the recipient's domain says so on its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_wide_invitation_says_whose_sign_in_accepts() {
    let app = TestApp::spawn().await;
    let (community, _, _) = app.invitation("Shared Operations").await;
    let path = format!("/communities/{community}/invitations");
    let body = json!({"InvitationRecipient": "carol@guest.example", "AcceptFrom": "RecipientDomain"});
    let (status, created) = app.api(Method::POST, &path, &app.admin(OWNER), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let page = app.get(created["InvitationUrl"].as_str().expect("the link")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("signed in with an address at guest.example, accepts"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_form_is_a_400_page_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (community, id, link) = app.invitation("Shared Operations").await;
    let token = token_of(&link).to_owned();
    let path = format!("/invite/{id}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", format!(r#"{{"token":"{token}","action":"decline"}}"#).into_bytes()),
        ("text/plain", format!("token={token}&action=decline").into_bytes()),
        (FORM, format!("token={token}&action=accept").into_bytes()),
        (FORM, format!("token={token}").into_bytes()),
        (FORM, format!("token={token}&action=decline&action=decline").into_bytes()),
        (FORM, Vec::new()),
        (FORM, format!("token={token}&action=decline&pad={}", "x".repeat(64 * 1024)).into_bytes()),
    ];
    for (content_type, body) in cases {
        let page = app.post(&path, content_type, body).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{content_type}: {}", page.body);
        page.assert_secure();
        assert!(page.body.contains("This request could not be handled"), "{}", page.body);
        assert!(!page.body.contains(&token), "{}", page.body);
    }
    assert_eq!(app.state(&community, &id).await, "InvitationCreated");
    // The same link still works.
    assert_eq!(app.get(&link).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invitation_says_so_and_can_no_longer_be_declined() {
    let app = TestApp::spawn().await;
    let (community, id, link) = app.invitation("Shared Operations").await;
    app.clock.advance_minutes(14 * 24 * 60);
    let page = app.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_secure();
    assert!(page.body.contains("has expired") && page.body.contains(">Expired<"), "{}", page.body);
    assert!(!page.body.contains("<form") && !page.body.contains(SIGN_IN), "{}", page.body);
    let late = app.post(&format!("/invite/{id}"), FORM, format!("token={}&action=decline", token_of(&link))).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    late.assert_secure();
    assert!(late.body.contains("InvitationExpired"), "{}", late.body);
    assert_eq!(app.state(&community, &id).await, "InvitationExpired");
}

/// Where the browser test finds its tools, or a failure that says how to get them.
fn browser_tools() -> (String, String) {
    let named = |variable: &str| {
        let value = std::env::var(variable).unwrap_or_else(|_| {
            panic!(
                "{variable} is not set: the landing page's browser test needs Debian's chromium and playwright-core. \
                 Run it with `scripts/test` (e.g. `scripts/test -p rsvp-tests --test landing_page`), which installs \
                 both and sets RSVP_TEST_CHROMIUM and RSVP_TEST_NODE_MODULES."
            )
        });
        assert!(Path::new(&value).exists(), "{variable}={value} does not exist; run `scripts/test` to install it");
        value
    };
    let chromium = named("RSVP_TEST_CHROMIUM");
    let modules = named("RSVP_TEST_NODE_MODULES");
    assert!(
        Path::new(&modules).join("playwright-core").join("package.json").exists(),
        "RSVP_TEST_NODE_MODULES={modules} holds no playwright-core; run `scripts/test` to install it"
    );
    (chromium, modules)
}

/// Cargo's scratch directory for integration tests, where the browser tests keep their screenshots (each test's
/// own names, replaced on every run).
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("landing-page");
    std::fs::create_dir_all(&dir).expect("a directory for the screenshots");
    dir
}

/// Runs `tests/browser/<script>` in node with `args`, in chromium; what it reported.
async fn browse(script: &str, args: &[String]) -> Value {
    let (chromium, modules) = browser_tools();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser").join(script);
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .env("RSVP_TEST_CHROMIUM", &chromium)
        .env("RSVP_TEST_NODE_MODULES", &modules)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BROWSER_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("the browser did not finish within {BROWSER_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not run node (Node.js 20+ is needed): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser script failed ({}):\n{stderr}\n{stdout}", output.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_recipient_opens_the_link_and_declines() {
    let app = TestApp::spawn().await;
    let (community, id, answered) = app.invitation("Shared Operations & Partners").await;
    // The recipient follows the link in the email the local mailer wrote, as a person trying rsvp would.
    let email = eml::messages(&app.outbox, 1).await.remove(0);
    assert_eq!(eml::header(&email, "To"), GUEST.1);
    let link = eml::link(&email, &format!("{}/invite/{id}?token=", app.url));
    assert_eq!(link, answered, "the email carries the link the create answer showed");
    let screenshots = screenshot_dir();
    let seen = browse("decline.cjs", &[link.clone(), screenshots.display().to_string()]).await;
    eprintln!("browser {}; screenshots in {}", seen["browser"], screenshots.display());

    let before = &seen["before"];
    assert_eq!(before["status"], 200, "{seen}");
    assert_eq!(before["title"], "Invitation to Shared Operations & Partners");
    assert_eq!(before["heading"], "Shared Operations & Partners");
    assert_eq!(before["state"], "Waiting for an answer", "human words, not the API's state name");
    assert_eq!(before["forms"], 1);
    assert_eq!(before["scripts"], 0);
    let accept = format!("{SIGN_IN}?invitation={id}&token={}", token_of(&link));
    assert_eq!(before["acceptHref"], accept.as_str());
    assert_eq!(before["styled"], true, "the stylesheet applied under the page's policy");
    assert_eq!(before["fitsWidth"], true, "no sideways scrolling on a phone");

    let after = &seen["after"];
    assert_eq!(after["status"], 200, "{seen}");
    assert_eq!(after["url"], format!("{}/invite/{id}", app.url), "the form posted to the page's own path");
    assert_eq!(after["state"], "Declined");
    assert!(after["text"].as_str().unwrap_or_default().contains("You declined this invitation."), "{seen}");
    assert_eq!(after["forms"], 0);
    assert_eq!(after["styled"], true);
    assert_eq!(after["fitsWidth"], true);
    // A policy violation (a refused stylesheet, say) shows up as a console error.
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    for shot in ["invitation.png", "declined.png"] {
        let size = std::fs::metadata(screenshots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1_000, "{shot} was taken");
    }

    // The API agrees, and the link is used up.
    assert_eq!(app.state(&community, &id).await, "InvitationDeclined");
    let not_found = missing_invitation_page(&app, token_of(&link)).await;
    app.get(&link).await.assert_not_found(&not_found);
}

/// The owner tenant's branding and default language, as its administrator saves them.
const LOGO_ORIGIN: &str = "https://cdn.acme.test";

fn branded_settings() -> Value {
    json!({
        "DefaultLocale": "de",
        "Branding": {
            "SenderName": "Acme Einladungen",
            "ProductName": "Acme Cloud",
            "LogoUrl": format!("{LOGO_ORIGIN}/logo.png"),
            "AccentColor": "#0A7D5A",
            "SupportEmail": "help@acme.test",
            "FooterText": "Acme GmbH, Berlin"
        }
    })
}

/// In chromium, each invitation's page speaks its language — its own `Locale` (`en-GB`: English), else the
/// tenant's `DefaultLocale` (German) for none or one rsvp has no words for (`fr`) — and wears the tenant's
/// branding: the logo loads under the page's policy (from the one origin it allows), the main button takes the
/// accent colour, the product, support address and footer show, and the policy refuses nothing. The emails say
/// the same in both parts, from the tenant's sender name. Screenshots: `target/tmp/landing-page/branded-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_page_speaks_the_invitations_language_and_wears_the_tenants_branding() {
    let app = TestApp::spawn().await;
    let owner = app.admin(OWNER);
    let saved = app
        .http
        .put(format!("{}/api/businesses/{}/usersettings", app.url, OWNER.0))
        .bearer_auth(&owner)
        .json(&branded_settings())
        .send()
        .await
        .expect("the local server answers");
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text().await.unwrap_or_default());
    let (status, community) =
        app.api(Method::POST, "/communities", &owner, Some(json!({"Name": "Betrieb & Partner"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{community}");
    let path = format!("/communities/{}/invitations", community["Id"].as_str().expect("an id"));
    let mut links = Vec::new();
    for (name, to, locale) in [
        ("de", "bob@guest.example", None),
        ("en", "ann@guest.example", Some("en-GB")),
        ("fr", "zoe@guest.example", Some("fr")),
    ] {
        let mut body = json!({"InvitationRecipient": to});
        if let Some(locale) = locale {
            body["Locale"] = json!(locale);
        }
        let (status, created) = app.api(Method::POST, &path, &owner, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["Locale"], locale.map_or(Value::Null, |l| json!(l)), "kept as given: {created}");
        links.push((name, to, created["InvitationUrl"].as_str().expect("the link").to_owned()));
    }

    let screenshots = screenshot_dir();
    let mut args = vec![screenshots.display().to_string(), LOGO_ORIGIN.to_owned()];
    args.extend(links.iter().map(|(name, _, link)| format!("{name}={link}")));
    let seen = browse("branded.cjs", &args).await;
    eprintln!("browser {}; screenshots in {}", seen["browser"], screenshots.display());
    let pages = &seen["pages"];
    for (name, lang, state, decline) in [
        ("de", "de", "Wartet auf Antwort", "Einladung ablehnen"),
        ("en", "en", "Waiting for an answer", "Decline invitation"),
        ("fr", "de", "Wartet auf Antwort", "Einladung ablehnen"),
    ] {
        let page = &pages[name];
        assert_eq!(page["status"], 200, "{name}: {seen}");
        assert_eq!(page["lang"], lang, "{name}: {seen}");
        assert_eq!(page["state"], state, "{name}: {seen}");
        assert_eq!(page["buttons"], json!([decline]), "{name}: {seen}");
        assert_eq!(page["logoSrc"], format!("{LOGO_ORIGIN}/logo.png"), "{name}: {seen}");
        assert_eq!(page["logoLoaded"], true, "{name}: the policy let the logo load: {seen}");
        assert_eq!(page["product"], "Acme Cloud", "{name}: {seen}");
        assert_eq!(page["accent"], "rgb(10, 125, 90)", "{name}: the accent colour applied under the policy: {seen}");
        let footer = page["footer"].as_str().unwrap_or_default();
        assert!(footer.contains("help@acme.test") && footer.contains("Acme GmbH, Berlin"), "{name}: {seen}");
        assert_eq!(page["scripts"], 0, "{name}");
        assert_eq!(page["fitsWidth"], true, "{name}: {seen}");
        let size = std::fs::metadata(screenshots.join(format!("branded-{name}.png"))).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1_000, "branded-{name}.png was taken");
    }
    let german = pages["de"]["text"].as_str().unwrap_or_default();
    assert!(german.contains("lädt Ihre Organisation ein, der Community Betrieb & Partner beizutreten"), "{german}");
    assert_eq!(seen["logoRequests"].as_array().map(Vec::len), Some(3), "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "the policy refused nothing: {seen}");

    // The emails speak the same language as their pages, in both parts, from the tenant's sender name.
    let emails = eml::messages(&app.outbox, 3).await;
    for (name, to, link) in &links {
        let email = emails.iter().find(|e| eml::header(e, "To") == *to).expect("an email to each");
        assert_eq!(eml::decoded_header(email, "From"), "Acme Einladungen <rsvp@localhost>", "{name}");
        let (text, html) = (eml::text_part(email), eml::html_part(email));
        let (hello, subject) = match *name {
            "en" => ("Hello,", "admin@owner.example invites you to join Betrieb & Partner"),
            _ => ("Guten Tag,", "admin@owner.example lädt Sie zu Betrieb & Partner ein"),
        };
        assert_eq!(eml::decoded_header(email, "Subject"), subject, "{name}");
        assert!(text.contains(hello) && text.contains(link.as_str()), "{name}: {text}");
        assert!(text.contains("-- \nAcme Cloud\nAcme GmbH, Berlin"), "{name}: {text}");
        assert!(text.contains("help@acme.test"), "{name}: {text}");
        assert!(html.contains(&format!("<html lang=\"{}\">", if *name == "en" { "en" } else { "de" })), "{html}");
        assert!(html.contains(hello) && html.contains("Betrieb &#38; Partner") && html.contains("color: #0a7d5a"));
        assert!(html.contains(&format!("<img src=\"{LOGO_ORIGIN}/logo.png\"")), "{name}: {html}");
    }
}

/// A `RedirectUrl` leads the person on once they answered: only to one of the owner tenant's
/// `AllowedRedirectOrigins`, so an invitation never makes this page an open redirect. A create naming another
/// origin (or before the tenant allowed any) is a 400 and writes nothing; a decline answers 303 to the URL given,
/// the page (with its headers) as the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_invitation_leads_on_only_to_an_origin_the_tenant_allowed() {
    let app = TestApp::spawn().await;
    let (community, _, _) = app.invitation("Redirects").await;
    let owner = app.admin(OWNER);
    let path = format!("/communities/{community}/invitations");
    let invite = |to: &'static str| json!({"InvitationRecipient": "ann@guest.example", "RedirectUrl": to});
    let (status, refused) = app.api(Method::POST, &path, &owner, Some(invite("https://app.owner.example/done"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no origin is allowed before the tenant lists one: {refused}");
    assert!(refused["Reason"].as_str().unwrap().contains("AllowedRedirectOrigins"), "{refused}");

    let settings = format!("{}/api/businesses/{}/usersettings", app.url, OWNER.0);
    let saved = app
        .http
        .put(&settings)
        .bearer_auth(&owner)
        .json(&json!({"AllowedRedirectOrigins": ["https://app.owner.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    for evil in [
        "https://evil.example/phish",
        "https://app.owner.example.evil.example/",
        "javascript:alert(1)",
        "http://app.owner.example/",
    ] {
        let (status, body) = app.api(Method::POST, &path, &owner, Some(invite(evil))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{evil}: {body}");
    }
    let (status, created) =
        app.api(Method::POST, &path, &owner, Some(invite("https://app.owner.example/done?from=rsvp"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["RedirectUrl"], "https://app.owner.example/done?from=rsvp");
    let (_, listed) = app.api(Method::GET, &path, &owner, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "the refused creates wrote nothing: {listed}");

    let id = created["Id"].as_str().unwrap();
    let link = created["InvitationUrl"].as_str().unwrap();
    let page = app.post(&format!("/invite/{id}"), FORM, format!("action=decline&token={}", token_of(link))).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.headers.get("location").and_then(|v| v.to_str().ok()),
        Some("https://app.owner.example/done?from=rsvp")
    );
    page.assert_secure();
    assert_eq!(app.state(&community, id).await, "InvitationDeclined");
}
