//! The one harness of the HTTP tests: [`TestApp`], a running local server (`rsvp-local`'s [`Server`] in front of an
//! [`App`]) and a client for it; tokens for each role; one way to call it, [`TestApp::call`] (or
//! [`TestApp::send`] for a request built by hand), answering one [`Answer`]; and each dialect's helpers, in a module
//! of its own.
//!
//! | module | what it holds |
//! |---|---|
//! | this one | [`TestApp`] and its [`Builder`]: the store, sealer, clock, mail budget, portal identity, mailer |
//! | [`answer`] | [`Answer`]: status, headers, text and JSON, and the API's `ErrorResponse` check |
//! | [`communities`] | the Communities API: create a community, invite, process, what the owner sees |
//! | [`users`] | the platform users API: invite users, the tenant's settings, codes, sign-up, the emails |
//! | [`portal`] | the portal (ArcGIS) dialect: [`portal::TestPortal`] over HTTPS, collaborations, their files |
//! | [`page`] | the landing page: the checks every page passes |
//! | [`child`] | a server in a child process (this test binary again), for tests that kill it |
//! | [`moto`] | clients of moto's SES, KMS, EventBridge and SQS |
//!
//! ```no_run
//! use rsvp_tests::harness::{GUEST, OWNER, TestApp};
//!
//! # async fn example() {
//! let app = TestApp::spawn(rsvp_tests::memory_store()).await;
//! let community = app.create_community("Shared Operations").await;
//! let invited = app.invite(&community, GUEST.1).await;
//! let accept = serde_json::json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
//! let accepted = app.process(&invited.id(), &app.admin(GUEST), accept).await;
//! assert_eq!(accepted.status, reqwest::StatusCode::ACCEPTED);
//! # let _ = OWNER;
//! # }
//! ```

pub mod answer;
pub mod child;
pub mod communities;
pub mod moto;
pub mod page;
pub mod portal;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::{Client, Method, RequestBuilder};
use rsvp::app::{App, Config};
use rsvp::domain::collaboration::Portal;
use rsvp::domain::{FixedClock, MailBudget, Timestamp};
use rsvp::mail::deliver::Deliverer;
use rsvp::mail::outbox::OutboxMailer;
use rsvp::portal_keys::PortalKeys;
use rsvp::seal::{AesSealer, Sealer};
use rsvp::sign::Signer;
use rsvp::store::Store;
use rsvp::store::feed::DeliveryFeed;
use rsvp::store::sqlite::SqliteStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::Value;

pub use answer::Answer;

/// Who a token speaks for: a tenant id and a (verified) email address.
pub type User<'a> = (&'a str, &'a str);

/// The owner tenant's administrator.
pub const OWNER: User<'static> = ("tenant-owner", "admin@owner.example");
/// The guest tenant's administrator, the usual recipient of an invitation.
pub const GUEST: User<'static> = ("tenant-guest", "bob@guest.example");
/// A third tenant's administrator, who must learn nothing of the others.
pub const OTHER: User<'static> = ("tenant-other", "eve@other.example");

/// The URL invitation links point at unless the test chose another (see [`Builder::links_to_itself`]).
pub const PUBLIC_URL: &str = "https://rsvp.test";

/// One running local server and what a test needs to talk to it.
pub struct TestApp {
    /// Where the server listens: `http://127.0.0.1:<port>`, or `https://` with [`Builder::tls`].
    pub url: String,
    /// The key the server verifies tokens with; [`TestApp::token`] mints with it.
    pub key: SigningKey,
    pub http: Client,
    /// The server's clock, which the test moves (unless [`Builder::real_clock`]).
    pub clock: Arc<FixedClock>,
    /// The server's store, to see what it keeps.
    pub store: Arc<dyn Store>,
    /// Where the server's emails land as `.eml` files, when it sends any ([`Builder::local_mailer`],
    /// [`Builder::deliver_into`]).
    pub outbox: Option<PathBuf>,
    /// Set by [`Builder::deliver_into`]: there is no stream, so the test delivers as the stream's consumer would.
    pub deliverer: Option<Deliverer>,
}

/// How a [`TestApp`] is made; [`TestApp::builder`] starts one with the defaults: the embedded (memory) store, a
/// clock standing at [`crate::present`], links to [`PUBLIC_URL`], a key of its own, no mailer.
pub struct Builder {
    store: Option<Arc<dyn Store>>,
    mailer: Option<LocalMailer>,
    outbox: Option<PathBuf>,
    deliver_by_hand: bool,
    sealer: Option<Arc<dyn Sealer>>,
    signer: Option<Arc<dyn Signer>>,
    portal_keys: Option<Arc<dyn PortalKeys>>,
    clock: Timestamp,
    real_clock: bool,
    config: Config,
    links_to_itself: bool,
    key: Option<SigningKey>,
    listener: Option<tokio::net::TcpListener>,
    tls: Option<portal::Tls>,
    follow_redirects: bool,
}

/// Starts `rsvp-local`'s mailer over the store, with the app's sealer, as `rsvp-local serve` does.
type LocalMailer = Box<dyn FnOnce(Arc<dyn Sealer>) -> std::io::Result<()> + Send>;

impl TestApp {
    /// A server over `store` with the defaults of [`TestApp::builder`].
    pub async fn spawn(store: Arc<dyn Store>) -> Self {
        Self::builder().store(store).spawn().await
    }

    pub fn builder() -> Builder {
        Builder {
            store: None,
            mailer: None,
            outbox: None,
            deliver_by_hand: false,
            sealer: None,
            signer: None,
            portal_keys: None,
            clock: crate::present(),
            real_clock: false,
            config: Config { public_url: Some(PUBLIC_URL.into()), ..Config::default() },
            links_to_itself: false,
            key: None,
            listener: None,
            tls: None,
            follow_redirects: true,
        }
    }

    /// A server as `rsvp-local serve --data-dir <dir>` runs it: the SQLite store over `<dir>/rsvp.db`, the data
    /// folder's sealing key, `rsvp-local`'s mailer writing into `<dir>/outbox`, links pointing at itself.
    pub fn serving(dir: &Path) -> Builder {
        let store = Arc::new(SqliteStore::open(&dir.join("rsvp.db")).expect("the local store"));
        let sealer = Arc::new(AesSealer::load_or_create(dir).expect("the local key"));
        Self::builder().local_mailer(store, &dir.join("outbox")).sealer(sealer).links_to_itself()
    }

    /// A token for `who` with these roles (its address verified).
    pub fn token(&self, (tenant, email): User<'_>, roles: &[&str]) -> String {
        self.mint(&TokenClaims::new(tenant, email, roles))
    }

    /// A token with exactly these claims.
    pub fn mint(&self, claims: &TokenClaims) -> String {
        self.key.mint(claims)
    }

    /// A `TenantAdministrator`'s token.
    pub fn admin(&self, who: User<'_>) -> String {
        self.token(who, &["TenantAdministrator"])
    }

    /// A `TenantMember`'s token.
    pub fn member(&self, who: User<'_>) -> String {
        self.token(who, &["TenantMember"])
    }

    /// A `PortalAdministrator`'s token.
    pub fn portal_admin(&self, who: User<'_>) -> String {
        self.token(who, &["PortalAdministrator"])
    }

    /// A `TenantAdministrator`'s token whose `tenant_name` claim says `name`; with `verified` false, the token does
    /// not say the address is verified (`email_verified: false`).
    pub fn admin_named(&self, (tenant, email): User<'_>, name: &str, verified: bool) -> String {
        let mut claims = TokenClaims::new(tenant, email, &["TenantAdministrator"]);
        claims.tenant_name = Some(name.to_owned());
        claims.email_verified = verified;
        self.mint(&claims)
    }

    /// The full URL of `path` on this server (a full URL stays as it is).
    pub fn at(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.url)
        }
    }

    /// A request to `path` on this server, to finish by hand (headers, a body of another kind) and [`TestApp::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.at(path))
    }

    /// Sends `request` and reads the whole answer.
    pub async fn send(&self, request: RequestBuilder) -> Answer {
        Answer::read(request.send().await.expect("the local server answers")).await
    }

    /// Calls `path` with `token` as the bearer (when given) and `body` as JSON (when given): the call of every test.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// The `.eml` files of the outbox, oldest name first, waiting for at least `count` (see [`crate::eml::messages`]).
    pub async fn outbox_messages(&self, count: usize) -> Vec<String> {
        crate::eml::messages(self.outbox.as_deref().expect("this server sends no email"), count).await
    }
}

impl Builder {
    /// The store to serve (the embedded memory store by default).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Serves `store` and runs `rsvp-local`'s own mailer over it, writing every email into `outbox` as `.eml`
    /// files, exactly as `rsvp-local serve` does (the store announces pending mail, the mailer sends it).
    pub fn local_mailer<S: DeliveryFeed + 'static>(mut self, store: Arc<S>, outbox: &Path) -> Self {
        self.store = Some(store.clone());
        let dir = outbox.to_owned();
        self.mailer = Some(Box::new(move |sealer| rsvp_local::mail::start(&store, sealer, &dir)));
        self.outbox = Some(outbox.to_owned());
        self.deliver_by_hand = false;
        self
    }

    /// For a store without a feed (DynamoDB Local, whose stream no consumer reads here): the test delivers what is
    /// owed itself, through [`TestApp::deliverer`], into `outbox`.
    pub fn deliver_into(mut self, outbox: &Path) -> Self {
        self.outbox = Some(outbox.to_owned());
        self.deliver_by_hand = true;
        self.mailer = None;
        self
    }

    /// Seals link secrets with `sealer` (an ephemeral AES key by default; the mailer and deliverer share it).
    pub fn sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Signs this portal's files with `signer` (the App's ephemeral key by default).
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Fetches other portals' keys with `keys` (none reachable by default).
    pub fn portal_keys(mut self, keys: Arc<dyn PortalKeys>) -> Self {
        self.portal_keys = Some(keys);
        self
    }

    /// Starts the server's clock at `now` (the real present by default).
    pub fn clock_at(mut self, now: Timestamp) -> Self {
        self.clock = now;
        self
    }

    /// Leaves the App the system clock, as `rsvp-local serve` runs; [`TestApp::clock`] then moves nothing.
    pub fn real_clock(mut self) -> Self {
        self.real_clock = true;
        self
    }

    /// The deployment's caps on the emails sent on tenants' behalf.
    pub fn mail_budget(mut self, mail: MailBudget) -> Self {
        self.config.mail = mail;
        self
    }

    /// Serves as this portal (the collaboration routes).
    pub fn portal(mut self, portal: Portal) -> Self {
        self.config.portal = Some(portal);
        self
    }

    /// Where a community invitation's landing page sends a recipient who chooses Accept.
    pub fn sign_in_url(mut self, url: &str) -> Self {
        self.config.sign_in_url = Some(url.to_owned());
        self
    }

    /// Invitation links point at the server itself (its own URL) rather than at [`PUBLIC_URL`].
    pub fn links_to_itself(mut self) -> Self {
        self.links_to_itself = true;
        self
    }

    /// No `public_url`: links are made from the request's host, as in [`Config::default`].
    pub fn no_public_url(mut self) -> Self {
        self.config.public_url = None;
        self
    }

    /// Verifies tokens with `key` (one of its own by default): a key another process shares, say.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Serves on `listener` (a fresh port on loopback by default), for a test that needs the URL beforehand.
    pub fn listener(mut self, listener: tokio::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Serves HTTPS with `tls`'s certificate; the test's client trusts it.
    pub fn tls(mut self, tls: &portal::Tls) -> Self {
        self.tls = Some(tls.clone());
        self
    }

    /// The client follows no redirect: a page's 303 is checked as it is sent.
    pub fn no_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// Binds, starts the server in the background and answers the running [`TestApp`].
    pub async fn spawn(self) -> TestApp {
        let store = self.store.unwrap_or_else(crate::memory_store);
        let sealer = self.sealer.unwrap_or_else(|| Arc::new(AesSealer::ephemeral()));
        if let Some(start) = self.mailer {
            start(sealer.clone()).expect("start the local mailer");
        }
        let listener = match self.listener {
            Some(listener) => listener,
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the local server"),
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("a bound address"));
        let mut config = self.config;
        if self.links_to_itself {
            config.public_url = Some(url.clone());
        }
        let clock = Arc::new(FixedClock::at(self.clock));
        let mut app = App::new(Arc::clone(&store), config).with_sealer(sealer.clone());
        if !self.real_clock {
            app = app.with_clock(clock.clone());
        }
        if let Some(signer) = self.signer {
            app = app.with_signer(signer);
        }
        if let Some(keys) = self.portal_keys {
            app = app.with_portal_keys(keys);
        }
        let key = self.key.unwrap_or_else(SigningKey::generate);
        let mut server = Server::from_listener(listener, Arc::new(app), key.clone()).expect("serve on the listener");
        let mut http = Client::builder();
        if let Some(tls) = &self.tls {
            server = server.with_tls(rsvp_local::tls::load_or_create(&tls.dir, "127.0.0.1").expect("the certificate"));
            http = http.tls_certs_only(tls.roots());
        }
        if !self.follow_redirects {
            http = http.redirect(reqwest::redirect::Policy::none());
        }
        tokio::spawn(server.run());
        let deliverer = self.outbox.as_ref().filter(|_| self.deliver_by_hand).map(|outbox| {
            let mailer = Arc::new(OutboxMailer::new(outbox, "rsvp@localhost").expect("the outbox"));
            Deliverer { store: store.clone(), sealer, mailer, clock: clock.clone() }
        });
        let outbox = self.outbox;
        TestApp { url, key, http: http.build().expect("an HTTP client"), clock, store, outbox, deliverer }
    }
}
