//! Two portals, one test: two local servers, each a portal with its own port, store and signing key (made in its
//! own data folder, as `rsvp-local serve --portal-url` makes them), walk a collaboration between them over HTTPS
//! on loopback: the host invites, the guest validates and accepts the downloaded file and exports its response,
//! the host validates and imports it. Each portal's URL is its own `https://127.0.0.1:<port>`, and each fetches
//! the other's published key from there with the real fetcher (`HttpPortalKeys`), trusting the servers'
//! self-signed certificate as `rsvp-local serve --trust-cert` does. Then every attack on the files gets its clear
//! 4xx and changes nothing: tampering, other keys, forgeries re-signed with a forger's key, key changes after
//! pinning, an unreachable portal with and without its fingerprint. Every scenario runs with both portals on the
//! embedded store, and again on DynamoDB Local.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::FixedClock;
use rsvp::domain::collaboration::{
    CollaborationId, CollaborationInvitationId, InvitationRequest, InvitationResponse, KeyFingerprint, PortalUrl,
    signed_file,
};
use rsvp::portal_keys::HttpPortalKeys;
use rsvp::seal::AesSealer;
use rsvp::sign::{LocalSigner, PublicKey, SignError, Signer};
use rsvp::store::Store;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::{Value, json};

/// One running portal.
struct TestPortal {
    /// Where the server listens (`https://127.0.0.1:<port>`).
    url: String,
    /// The portal's own URL, which its files name: its listening URL unless the test chose another.
    portal_url: String,
    base: String,
    http: Client,
    admin: String,
    clock: Arc<FixedClock>,
    signer: Arc<Rotating>,
    _dir: PathBuf,
}

/// The servers' one self-signed certificate (made as `rsvp-local serve --tls` makes it, for 127.0.0.1), which every
/// portal and the tests' client trust as a root, as `--trust-cert` makes a local portal trust it.
#[derive(Clone)]
struct Tls {
    dir: PathBuf,
    pem: Vec<u8>,
}

impl Tls {
    fn new() -> Self {
        let dir = rsvp_tests::eml::temp_dir();
        rsvp_local::tls::load_or_create(&dir, "127.0.0.1").expect("the certificate");
        let pem = std::fs::read(dir.join(rsvp_local::tls::TLS_FILE)).expect("tls.pem");
        Self { dir, pem }
    }

    fn client(&self) -> Client {
        let roots = reqwest::Certificate::from_pem_bundle(&self.pem).expect("the certificate as PEM");
        Client::builder().tls_certs_only(roots).build().expect("a client")
    }
}

/// A portal's key that the test can replace, as an operator rotating it (or someone taking over its URL) would:
/// a real [`LocalSigner`] either way.
struct Rotating(RwLock<Arc<LocalSigner>>);

impl Rotating {
    fn current(&self) -> Arc<LocalSigner> {
        self.0.read().expect("the signer").clone()
    }

    fn rotate(&self) {
        *self.0.write().expect("the signer") = Arc::new(LocalSigner::ephemeral());
    }
}

#[async_trait::async_trait]
impl Signer for Rotating {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.current().sign(message).await
    }

    async fn public_key(&self) -> Result<PublicKey, SignError> {
        self.current().public_key().await
    }
}

/// A port on loopback where nothing listens: a portal URL that cannot be reached.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("its address").port()
}

/// An answer: status, the download's file name (if any), and the body as text and (when it is) JSON.
struct Answer {
    status: StatusCode,
    file_name: Option<String>,
    text: String,
    json: Value,
}

impl Answer {
    /// Asserts the dialect's error body with this status, whose message mentions `words`.
    fn assert_error(&self, status: StatusCode, words: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"]["code"], status.as_u16(), "{}", self.text);
        let message = self.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "message {message:?} should mention {words:?}");
    }

    fn assert_success(&self) {
        assert_eq!((self.status, &self.json["success"]), (StatusCode::OK, &json!(true)), "{}", self.text);
    }
}

impl TestPortal {
    /// A portal whose URL is `portal_url` (its listening URL when `None`).
    async fn start_at(store: Arc<dyn Store>, tls: &Tls, portal_url: Option<&str>) -> Self {
        let dir = rsvp_tests::eml::temp_dir();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("an address"));
        let portal_url = portal_url.map_or_else(|| url.clone(), str::to_owned);
        let parsed = PortalUrl::parse("url", &portal_url, false).expect("a portal URL");
        let portal = rsvp_local::portal::load_or_create(&dir, parsed).expect("the portal's identity");
        let signer =
            Arc::new(Rotating(RwLock::new(Arc::new(LocalSigner::load_or_create(&dir).expect("the portal's key")))));
        let clock = Arc::new(FixedClock::at(rsvp_tests::present()));
        let config = Config { portal: Some(portal), ..Config::default() };
        let keys = HttpPortalKeys::with_extra_roots(&tls.pem).expect("the fetcher of portal keys");
        let app = App::new(store, config)
            .with_clock(clock.clone())
            .with_signer(signer.clone())
            .with_portal_keys(Arc::new(keys))
            .with_sealer(Arc::new(AesSealer::load_or_create(&dir).expect("the sealing key")));
        let key = SigningKey::generate();
        let acceptor = rsvp_local::tls::load_or_create(&tls.dir, "127.0.0.1").expect("the certificate");
        let server = Server::from_listener(listener, Arc::new(app), key.clone()).expect("a server").with_tls(acceptor);
        tokio::spawn(server.run());
        let admin = key.mint(&TokenClaims::new("portal-admins", "ada@portal.example", &["PortalAdministrator"]));
        let base = format!("{url}/sharing/rest/portals/self");
        Self { base, url, portal_url, http: tls.client(), admin, clock, signer, _dir: dir }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the portal answers");
        let status = response.status();
        let file_name = response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once("filename=\""))
            .map(|(_, name)| name.trim_end_matches('"').to_owned());
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, file_name, text, json }
    }

    /// A form-encoded POST as the administrator.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.admin).form(form)).await
    }

    /// A multipart POST as the administrator: `file` as an upload named `file_field`, and `fields`.
    async fn upload(&self, path: &str, file_field: &str, file: &str, fields: &[(&str, &str)]) -> Answer {
        let boundary = "----rsvpBoundary7MA4YWxkTrZu0gW";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"upload.invite\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{file}\r\n"
        );
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(request).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.admin)).await
    }

    /// Creates a collaboration with two workspaces: its id and the workspaces' ids.
    async fn collaboration(&self) -> (String, String, String) {
        let created = self
            .post(
                "/createCollaboration",
                &[
                    ("name", "Flood response"),
                    ("description", "Shared maps for the flood season"),
                    ("workspaceName", "Maps"),
                    ("hostContactFirstname", "Ada"),
                    ("hostContactLastname", "Admin"),
                    ("hostContactEmailAddress", "ada@host.example"),
                    ("f", "json"),
                ],
            )
            .await;
        created.assert_success();
        let id = created.json["collaboration"]["id"].as_str().expect("an id").to_owned();
        let first = created.json["collaboration"]["workspaces"][0]["id"].as_str().expect("a workspace").to_owned();
        let added = self
            .post(
                &format!("/collaborations/{id}/addWorkspace"),
                &[("collaborationWorkspaceName", "Layers"), ("config", "{}"), ("portalGroupId", "grp1")],
            )
            .await;
        added.assert_success();
        let second = added.json["workspace"]["id"].as_str().expect("a workspace").to_owned();
        (id, first, second)
    }

    /// Invites `guest` into `collaboration` with `send` on `first` and `sendAndReceive` on `second`.
    async fn invite(&self, collaboration: &str, guest: &str, first: &str, second: &str) -> Answer {
        let config = json!([{ first: "send" }, { second: "sendAndReceive" }]).to_string();
        self.post(
            &format!("/collaborations/{collaboration}/inviteParticipant"),
            &[
                ("guestPortalUrl", guest),
                ("collaborationWorkspacesParticipantConfigJSON", &config),
                ("expiration", "24"),
            ],
        )
        .await
    }

    async fn accept(&self, file: &str) -> Answer {
        self.accept_with(file, &[]).await
    }

    /// Accepts `file` with the guest's contact and `extra` fields (a `hostKeyFingerprint`).
    async fn accept_with(&self, file: &str, extra: &[(&str, &str)]) -> Answer {
        let mut fields = vec![
            ("guestContactFirstname", "Gil"),
            ("guestContactLastname", "Guest"),
            ("guestContactEmailAddress", "gil@guest.example"),
            ("f", "json"),
        ];
        fields.extend_from_slice(extra);
        self.upload("/acceptCollaborationInvitation", "invitationFile", file, &fields).await
    }

    async fn validate(&self, file: &str, extra: &[(&str, &str)]) -> Answer {
        self.upload("/validateCollaborationInvitation", "invitationFile", file, extra).await
    }

    /// Asserts that validate and accept both refuse `file` (with `extra` fields) with `status`, in a message that
    /// mentions `words`, and that the portal joined nothing: validate never calls valid what accept refuses.
    async fn refuses(&self, file: &str, extra: &[(&str, &str)], status: StatusCode, words: &str) {
        let before = self.collaborations().await.len();
        self.validate(file, extra).await.assert_error(status, words);
        self.accept_with(file, extra).await.assert_error(status, words);
        assert_eq!(self.collaborations().await.len(), before, "nothing was accepted");
    }

    async fn validate_response(&self, collaboration: &str, response: &str, extra: &[(&str, &str)]) -> Answer {
        let path = format!("/collaborations/{collaboration}/validateInvitationResponse");
        self.upload(&path, "invitationResponseFile", response, extra).await
    }

    async fn import_with(&self, collaboration: &str, response: &str, extra: &[(&str, &str)]) -> Answer {
        let path = format!("/collaborations/{collaboration}/importInvitationResponse");
        self.upload(&path, "invitationResponseFile", response, extra).await
    }

    /// Asserts that validate and import both refuse `response` with `status` mentioning `words`, and that no
    /// participant was added.
    async fn refuses_response(
        &self,
        collaboration: &str,
        response: &str,
        extra: &[(&str, &str)],
        status: StatusCode,
        words: &str,
    ) {
        self.validate_response(collaboration, response, extra).await.assert_error(status, words);
        self.import_with(collaboration, response, extra).await.assert_error(status, words);
        assert!(self.guests(collaboration).await.is_empty(), "no participant was added");
    }

    /// The fingerprint this portal publishes for its key (`publicKeyFingerprint` of `portals/self`).
    async fn fingerprint(&self) -> String {
        let described = self.send(self.http.get(&self.base)).await;
        described.json["publicKeyFingerprint"].as_str().expect("a fingerprint").to_owned()
    }

    async fn export(&self, collaboration: &str) -> Answer {
        self.post(&format!("/collaborations/{collaboration}/exportInvitationResponse"), &[]).await
    }

    async fn import(&self, collaboration: &str, response: &str) -> Answer {
        self.upload(
            &format!("/collaborations/{collaboration}/importInvitationResponse"),
            "invitationResponseFile",
            response,
            &[],
        )
        .await
    }

    /// Every participant this portal lists, itself included.
    async fn participants(&self, collaboration: &str) -> Vec<Value> {
        let answer = self.get(&format!("/collaborations/{collaboration}/participants")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.json["participants"].as_array().expect("participants").clone()
    }

    /// The guests among them (on the host: those whose responses it imported).
    async fn guests(&self, collaboration: &str) -> Vec<Value> {
        let all = self.participants(collaboration).await;
        all.into_iter().filter(|p| p["collaborationRole"] == "Guest").collect()
    }

    async fn collaborations(&self) -> Vec<Value> {
        self.get("/collaborations").await.json["collaborations"].as_array().expect("a list").clone()
    }
}

/// A guest URL for invitations that are never accepted.
const GUEST: &str = "https://guest.test/portal";

/// The host and the guest, each on its own store of the kind the scenario runs on, and a way to start more
/// portals on that kind of store.
struct Pair {
    host: TestPortal,
    guest: TestPortal,
    more: Portals,
}

/// Starts further portals on the scenario's kind of store, trusting the same certificate.
struct Portals {
    tls: Tls,
    dynamodb: bool,
}

impl Portals {
    async fn store(&self) -> Arc<dyn Store> {
        if self.dynamodb { Arc::new(rsvp_tests::fresh_dynamo_store().await) } else { Arc::new(MemoryStore::new()) }
    }

    async fn start_at(&self, portal_url: Option<&str>) -> TestPortal {
        TestPortal::start_at(self.store().await, &self.tls, portal_url).await
    }
}

async fn pair(dynamodb: bool) -> Pair {
    let more = Portals { tls: Tls::new(), dynamodb };
    Pair { host: more.start_at(None).await, guest: more.start_at(None).await, more }
}

async fn memory() -> Pair {
    pair(false).await
}

async fn dynamodb() -> Pair {
    pair(true).await
}

rsvp_tests::against_both_stores!(
    two_portals_collaborate,
    tampered_foreign_misaddressed_and_expired_files_are_refused,
    a_response_imports_once_and_never_after_invalidate_or_refresh,
    bad_parameters_are_refused,
    concurrent_imports_of_one_response_import_it_once,
    the_portal_speaks_arcgis_rest_conventions,
    altered_resigned_and_forged_invitations_are_refused,
    a_response_signed_by_an_unrelated_key_is_refused,
    a_pinned_key_never_changes,
    an_unreachable_portal_needs_its_fingerprint,
);

/// 20 imports of one response at once: one succeeds, the others are told it was imported, one participant.
async fn concurrent_imports_of_one_response_import_it_once(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    let answers = futures::future::join_all((0..20).map(|_| host.import(&collaboration, &response))).await;
    let won = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    for lost in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.text);
    }
    assert_eq!(host.guests(&collaboration).await.len(), 1);
    rsvp_tests::figure("races", "20 concurrent imports of one response: imported once");
}

/// The whole flow: the guest ends up an active participant on the host, and the host on the guest.
async fn two_portals_collaborate(Pair { host, guest, .. }: Pair) {
    let described = host.send(host.http.get(format!("{}?f=pjson", host.base))).await;
    assert_eq!(described.status, StatusCode::OK, "anyone may read a portal's description");
    assert_eq!(described.json["url"], host.portal_url);
    assert!(described.json["publicKey"].as_str().is_some_and(|k| k.len() > 80));
    assert!(described.text.contains("\n  \""), "pjson is indented");
    let guest_id = guest.send(guest.http.get(&guest.base)).await.json["id"].as_str().unwrap().to_owned();

    let (collaboration, maps, layers) = host.collaboration().await;
    let invited = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    assert_eq!(invited.file_name.as_deref(), Some("collaboration-127.0.0.1.invite"));
    let file = invited.text;
    assert!(file.starts_with("{\"invitationRequest\":{") && file.contains("\"signature\":"), "{file}");

    let listed = host.get(&format!("/collaborations/{collaboration}/invitations")).await;
    assert_eq!((listed.json["total"].clone(), listed.json["nextStart"].clone()), (json!(1), json!(-1)));
    let invitation = listed.json["collaborationInvitations"][0].clone();
    assert_eq!(invitation["status"], "host_created");
    assert!(invitation.get("invitationString").is_none(), "a list never shows the file's secret nonce");
    let one =
        host.get(&format!("/collaborations/{collaboration}/invitations/{}", invitation["id"].as_str().unwrap())).await;
    assert_eq!(one.json["invitationString"].as_str(), Some(file.as_str()), "the file, rebuilt byte for byte");
    assert_eq!(one.json["config"]["invitationRequestFilename"], "collaboration-127.0.0.1.invite");

    guest.upload("/validateCollaborationInvitation", "invitationFile", &file, &[]).await.assert_success();
    guest.accept(&file).await.assert_success();
    guest.accept(&file).await.assert_error(StatusCode::CONFLICT, "already takes part");
    let response = guest.export(&collaboration).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.file_name.as_deref(), Some("collaboration-127.0.0.1.response"));

    let validate = format!("/collaborations/{collaboration}/validateInvitationResponse");
    host.upload(&validate, "invitationResponseFile", &response.text, &[]).await.assert_success();
    host.import(&collaboration, &response.text).await.assert_success();

    let host_id = described.json["id"].as_str().unwrap().to_owned();
    let on_host = host.participants(&collaboration).await;
    let roles: Vec<_> =
        on_host.iter().map(|p| (p["portalInfo"]["id"].clone(), p["collaborationRole"].clone())).collect();
    assert_eq!(roles, [(json!(host_id), json!("Host")), (json!(guest_id), json!("Guest"))], "the host lists itself");
    assert_eq!(on_host[0]["config"]["contactEmailAddress"], "ada@host.example");
    assert_eq!((&on_host[1]["portalInfo"]["url"], &on_host[1]["status"]), (&json!(guest.portal_url), &json!("active")));
    assert_eq!(on_host[1]["collaborationId"], collaboration.as_str());
    assert_eq!(on_host[1]["config"]["contactFirstname"], "Gil");
    let one = host.get(&format!("/collaborations/{collaboration}/participants/{guest_id}")).await;
    assert_eq!((one.status, &one.json), (StatusCode::OK, &on_host[1]), "{}", one.text);
    // The guest's access to each workspace, as the invitation gave it.
    let workspaces = host.get(&format!("/collaborations/{collaboration}/workspaces")).await;
    let access: Vec<_> = workspaces.json["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .map(|w| (w["id"].clone(), w["participantsWithoutGroupLinks"].clone()))
        .collect();
    assert_eq!(
        access,
        [
            (json!(maps), json!([{"portalId": guest_id, "accessMode": "send"}])),
            (json!(layers), json!([{"portalId": guest_id, "accessMode": "sendAndReceive"}]))
        ]
    );
    let on_guest = guest.participants(&collaboration).await;
    let roles: Vec<_> =
        on_guest.iter().map(|p| (p["portalInfo"]["url"].clone(), p["collaborationRole"].clone())).collect();
    assert_eq!(
        roles,
        [(json!(host.portal_url), json!("Host")), (json!(guest.portal_url), json!("Guest"))],
        "the host, then the guest itself"
    );
    assert_eq!(on_guest[1]["config"]["contactEmailAddress"], "gil@guest.example");
    let layers_on_guest = guest.get(&format!("/collaborations/{collaboration}/workspaces/{layers}")).await;
    assert_eq!(
        layers_on_guest.json["participantsWithoutGroupLinks"],
        json!([{"portalId": host_id, "accessMode": "sendAndReceive"}]),
        "{}",
        layers_on_guest.text
    );
    assert_eq!(guest.collaborations().await[0]["participantType"], "guest");
    let imported =
        host.get(&format!("/collaborations/{collaboration}/invitations/{}", invitation["id"].as_str().unwrap())).await;
    assert_eq!(
        (imported.json["status"].as_str(), imported.json["guestPortalId"].as_str()),
        (Some("host_imported"), Some(guest_id.as_str()))
    );

    // Either side may end it: the guest leaves, the host removes.
    guest.post(&format!("/collaborations/{collaboration}/removeParticipation"), &[]).await.assert_success();
    assert!(guest.collaborations().await.is_empty());
    let remove_host = format!("/collaborations/{collaboration}/participants/{host_id}/remove");
    host.post(&remove_host, &[]).await.assert_error(StatusCode::CONFLICT, "the host cannot be removed");
    host.post(&format!("/collaborations/{collaboration}/participants/{guest_id}/remove"), &[]).await.assert_success();
    assert!(host.guests(&collaboration).await.is_empty());
    let gone = host.get(&format!("/collaborations/{collaboration}/participants/{guest_id}")).await;
    gone.assert_error(StatusCode::NOT_FOUND, "is not a participant");
}

async fn tampered_foreign_misaddressed_and_expired_files_are_refused(Pair { host, guest, more }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;

    let one_byte = file.replacen("Flood response", "Flood responsf", 1);
    let validated = guest.upload("/validateCollaborationInvitation", "invitationFile", &one_byte, &[]).await;
    validated.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");
    guest.accept(&one_byte).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");

    // The guest's own key in place of the host's: the signature was made by another key.
    let guest_key = guest.send(guest.http.get(&guest.base)).await.json["publicKey"].as_str().unwrap().to_owned();
    let host_key = host.send(host.http.get(&host.base)).await.json["publicKey"].as_str().unwrap().to_owned();
    let foreign = file.replacen(&host_key, &guest_key, 1);
    guest.accept(&foreign).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");

    let elsewhere = more.start_at(Some("https://elsewhere.test")).await;
    elsewhere.accept(&file).await.assert_error(StatusCode::BAD_REQUEST, &format!("is for {}", guest.portal_url));

    guest.clock.advance_minutes(24 * 60);
    guest.accept(&file).await.assert_error(StatusCode::BAD_REQUEST, "expired");
    for garbage in ["", "not json", "{\"invitationRequest\": {}}", "{\"signature\": \"x\"}"] {
        let answer = guest.accept(garbage).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{garbage:?}: {}", answer.text);
    }
    assert!(guest.collaborations().await.is_empty(), "nothing was accepted");
}

async fn a_response_imports_once_and_never_after_invalidate_or_refresh(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let invitation_id = |answer: &Answer| -> String {
        let file: Value = serde_json::from_str(&answer.text).expect("a file");
        file["invitationRequest"]["id"].as_str().expect("an id").to_owned()
    };

    // Replayed twice: imported once.
    let first = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await;
    guest.accept(&first.text).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    host.import(&collaboration, &response).await.assert_success();
    host.import(&collaboration, &response).await.assert_error(StatusCode::CONFLICT, "host_imported");
    assert_eq!(host.guests(&collaboration).await.len(), 1);

    // After invalidate, a response built from the file does not import.
    let (withdrawn, maps2, layers2) = host.collaboration().await;
    let second = host.invite(&withdrawn, &guest.portal_url, &maps2, &layers2).await;
    let id = invitation_id(&second);
    guest.accept(&second.text).await.assert_success();
    let late = guest.export(&withdrawn).await.text;
    host.post(&format!("/collaborations/{withdrawn}/invitations/{id}/invalidate"), &[]).await.assert_success();
    host.import(&withdrawn, &late).await.assert_error(StatusCode::CONFLICT, "host_invalidated");
    assert!(host.guests(&withdrawn).await.is_empty(), "nothing was imported");
    let status = host.get(&format!("/collaborations/{withdrawn}/invitations/{id}")).await.json["status"].clone();
    assert_eq!(status, "host_invalidated");
    let refresh = format!("/collaborations/{withdrawn}/invitations/{id}/refresh");
    host.post(&refresh, &[]).await.assert_error(StatusCode::CONFLICT, "host_invalidated");
    // A response edited to answer another invitation breaks its signature.
    let forged = response.replacen(&invitation_id(&first), &id, 1);
    host.import(&withdrawn, &forged).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");

    // After refresh, the old file's response no longer imports; the new file's does.
    let (other, _, _) = host.collaboration().await;
    let third =
        host.invite(&other, &guest.portal_url, &maps_of(&host, &other).await, &layers_of(&host, &other).await).await;
    let old_id = invitation_id(&third);
    guest.accept(&third.text).await.assert_success();
    let old_response = guest.export(&other).await.text;
    host.clock.advance_minutes(60);
    let refreshed = host.post(&format!("/collaborations/{other}/invitations/{old_id}/refresh"), &[]).await;
    assert_eq!(
        (refreshed.status, refreshed.file_name.as_deref()),
        (StatusCode::OK, Some("collaboration-127.0.0.1.invite"))
    );
    assert_ne!(refreshed.text, third.text);
    host.import(&other, &old_response).await.assert_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
    assert!(host.guests(&other).await.is_empty(), "nothing was imported");

    // A response to an invitation the host never issued: edited, its signature breaks; signed anew by a portal
    // that holds its own key, it answers nothing the host knows.
    let unknown = old_response.replacen(&old_id, "0123456789abcdef0123456789abcdef", 1);
    host.import(&other, &unknown).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");
    let mut forged: InvitationResponse =
        serde_json::from_value(serde_json::from_str::<Value>(&old_response).unwrap()["invitationResponse"].clone())
            .unwrap();
    let impostor = LocalSigner::ephemeral();
    forged.invitation_id = CollaborationInvitationId::new();
    forged.public_key = impostor.public_key().await.unwrap().to_base64();
    let payload = serde_json::to_string(&forged).unwrap();
    let signature = STANDARD.encode(impostor.sign(payload.as_bytes()).await.unwrap());
    let signed = signed_file("invitationResponse", &payload, &signature);
    host.import(&other, &signed).await.assert_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
    let wrong_collaboration = host.import(&collaboration, &old_response).await;
    wrong_collaboration.assert_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
}

/// A TLS server on loopback (with the tests' certificate) that answers every request with `answer` (after reading
/// the request head), or never answers when it is `None`: its `https://127.0.0.1:<port>` URL.
async fn answering(tls: &Tls, answer: Option<Vec<u8>>) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let acceptor = rsvp_local::tls::load_or_create(&tls.dir, "127.0.0.1").expect("the certificate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                match answer {
                    Some(answer) => {
                        let _ = stream.write_all(&answer).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                }
            });
        }
    });
    url
}

/// The fetch of another portal's key (the real `HttpPortalKeys`, as the portal functions and rsvp-local use it)
/// reads a description over HTTPS, and refuses a redirect to `http://`, a plain-HTTP portal, an answer over
/// 64 KiB, and a portal that does not answer within 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_fetch_is_https_only_bounded_in_size_and_time() {
    use rsvp::portal_keys::PortalKeys as _;
    let tls = Tls::new();
    let keys = HttpPortalKeys::with_extra_roots(&tls.pem).expect("the fetcher");
    let url = |u: &str| PortalUrl::parse("url", u, true).expect("a URL");
    let reply = |status: &str, headers: &str, body: &str| {
        format!("HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
            .into_bytes()
    };

    let good =
        answering(&tls, Some(reply("200 OK", "content-type: application/json\r\n", r#"{"publicKey":"AAAA"}"#))).await;
    assert_eq!(keys.published_key(&url(&good)).await, Ok("AAAA".to_owned()), "the test server answers");

    let plain = good.replacen("https://", "http://", 1);
    let refused = keys.published_key(&url(&plain)).await.expect_err("a plain-HTTP portal");
    assert!(refused.0.contains("could not be reached"), "{refused}");

    let to_http =
        answering(&tls, Some(reply("302 Found", &format!("location: {plain}/sharing/rest/portals/self\r\n"), "")))
            .await;
    let refused = keys.published_key(&url(&to_http)).await.expect_err("a redirect to http");
    assert!(refused.0.contains("answered 302"), "{refused}");

    let huge = format!(r#"{{"publicKey":"AAAA","padding":"{}"}}"#, "x".repeat(100 * 1024));
    let oversized = answering(&tls, Some(reply("200 OK", "", &huge))).await;
    let refused = keys.published_key(&url(&oversized)).await.expect_err("an answer over 64 KiB");
    assert!(refused.0.contains("larger than"), "{refused}");

    let silent = answering(&tls, None).await;
    let started = std::time::Instant::now();
    let refused = keys.published_key(&url(&silent)).await.expect_err("a portal that never answers");
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(7), "gave up after {waited:?}: {refused}");
    assert!(refused.0.contains("could not be reached"), "{refused}");
}

/// The signed part (`field`) of a file.
fn signed_part<T: serde::de::DeserializeOwned>(file: &str, field: &str) -> T {
    let file: Value = serde_json::from_str(file).expect("a file");
    serde_json::from_value(file[field].clone()).expect("its signed part")
}

/// `request` with `signer`'s key in it, signed by `signer`: what someone holding that key writes.
async fn sign_invitation(mut request: InvitationRequest, signer: &LocalSigner) -> String {
    request.public_key = signer.public_key().await.expect("a key").to_base64();
    let payload = serde_json::to_string(&request).expect("JSON");
    let signature = STANDARD.encode(signer.sign(payload.as_bytes()).await.expect("a signature"));
    signed_file("invitationRequest", &payload, &signature)
}

/// `response` with `signer`'s key in it, signed by `signer`.
async fn sign_response(mut response: InvitationResponse, signer: &LocalSigner) -> String {
    response.public_key = signer.public_key().await.expect("a key").to_base64();
    let payload = serde_json::to_string(&response).expect("JSON");
    let signature = STANDARD.encode(signer.sign(payload.as_bytes()).await.expect("a signature"));
    signed_file("invitationResponse", &payload, &signature)
}

/// A real invitation altered in transit (every workspace `sendAndReceive`, another host name) and re-signed with a
/// forger's key; a file forged from scratch with an `http://` host; one valid 31 years: each refused at validate
/// and at accept. The real file validates, shows the host's fingerprint, and is then refused as already joined.
async fn altered_resigned_and_forged_invitations_are_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    let forger = LocalSigner::ephemeral();

    let mut altered: InvitationRequest = signed_part(&file, "invitationRequest");
    for workspace in &mut altered.collaboration_workspace_configs.access_mode {
        workspace.access_mode = rsvp::domain::collaboration::AccessMode::SendAndReceive;
    }
    altered.host_portal_name = "Trusted Host".into();
    let altered = sign_invitation(altered, &forger).await;
    guest.refuses(&altered, &[], StatusCode::BAD_REQUEST, "is not the key").await;
    // The forger's own fingerprint does not help: the host publishes another key.
    let forger_key = forger.public_key().await.expect("a key").to_base64();
    let forger_fingerprint = KeyFingerprint::of_key(&forger_key).expect("a fingerprint").to_string();
    let with_forgers = [("hostKeyFingerprint", forger_fingerprint.as_str())];
    guest.refuses(&altered, &with_forgers, StatusCode::BAD_REQUEST, "is not the key").await;

    // Forged from scratch, even signed with the host's real key: an http:// host, or 31 years of validity.
    let host_key = host.signer.current();
    let mut scratch: InvitationRequest = signed_part(&file, "invitationRequest");
    scratch.id = CollaborationInvitationId::new();
    scratch.collaboration_id = CollaborationId::new();
    scratch.host_portal_url = serde_json::from_value(json!(host.url.replacen("https://", "http://", 1))).unwrap();
    let http_host = sign_invitation(scratch.clone(), &host_key).await;
    guest.refuses(&http_host, &[], StatusCode::BAD_REQUEST, "hostPortalUrl must be an https:// URL").await;
    let mut long: InvitationRequest = signed_part(&file, "invitationRequest");
    long.collaboration_id = CollaborationId::new();
    long.expiration = rsvp::domain::Clock::now(&*guest.clock).millis() + 31 * 365 * 24 * 3_600_000;
    let long = sign_invitation(long, &host_key).await;
    guest.refuses(&long, &[], StatusCode::BAD_REQUEST, "more than the 720 hours").await;
    let bad_parameter = [("hostKeyFingerprint", "not-a-fingerprint")];
    guest.refuses(&file, &bad_parameter, StatusCode::BAD_REQUEST, "64 hexadecimal digits").await;
    let wrong = [("hostKeyFingerprint", forger_fingerprint.as_str())];
    guest.refuses(&file, &wrong, StatusCode::BAD_REQUEST, "is not the fingerprint").await;

    // The real file: valid, with the fingerprint the host publishes; then accepted, then refused by both.
    let valid = guest.validate(&file, &[]).await;
    valid.assert_success();
    assert_eq!(valid.json["hostKeyFingerprint"], json!(host.fingerprint().await), "{}", valid.text);
    let bad_contact = [
        ("guestContactFirstname", "Gil"),
        ("guestContactLastname", "Guest"),
        ("guestContactEmailAddress", "not an address"),
    ];
    guest.validate(&file, &bad_contact).await.assert_error(StatusCode::BAD_REQUEST, "email address");
    let fingerprint = host.fingerprint().await;
    guest.accept_with(&file, &[("hostKeyFingerprint", &fingerprint)]).await.assert_success();
    let on_guest = guest.participants(&collaboration).await;
    assert_eq!(on_guest[0]["portalInfo"]["name"], host.send(host.http.get(&host.base)).await.json["name"]);
    guest.validate(&file, &[]).await.assert_error(StatusCode::CONFLICT, "already takes part");
    guest.accept(&file).await.assert_error(StatusCode::CONFLICT, "already takes part");
}

/// A response signed with a key unrelated to the guest (the real nonce, another contact) is refused at validate
/// and at import, and no participant is added; the real one then imports.
async fn a_response_signed_by_an_unrelated_key_is_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    let mut forged: InvitationResponse = signed_part(&response, "invitationResponse");
    forged.contact_firstname = "Eve".into();
    forged.contact_email_address = "eve@forger.example".into();
    let forged = sign_response(forged, &LocalSigner::ephemeral()).await;
    host.refuses_response(&collaboration, &forged, &[], StatusCode::BAD_REQUEST, "is not the key").await;

    let valid = host.validate_response(&collaboration, &response, &[]).await;
    valid.assert_success();
    assert_eq!(valid.json["guestKeyFingerprint"], json!(guest.fingerprint().await), "{}", valid.text);
    host.import(&collaboration, &response).await.assert_success();
    let guests = host.guests(&collaboration).await;
    assert_eq!((guests.len(), &guests[0]["config"]["contactFirstname"]), (1, &json!("Gil")));
}

/// Once a portal's key is pinned, a file from that portal URL with another key is refused, even when the portal
/// now publishes that key: a second response from a guest whose key changed, a new invitation (or a refreshed
/// file) from a host whose key changed.
async fn a_pinned_key_never_changes(Pair { host, guest, .. }: Pair) {
    let (first, maps, layers) = host.collaboration().await;
    let file = host.invite(&first, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    host.import(&first, &guest.export(&first).await.text).await.assert_success();

    // The guest's key changes: its next response is refused by the host that pinned the old one.
    guest.signer.rotate();
    let (second, maps2, layers2) = host.collaboration().await;
    let file2 = host.invite(&second, &guest.portal_url, &maps2, &layers2).await.text;
    guest.accept(&file2).await.assert_success();
    let response2 = guest.export(&second).await.text;
    let new_key = [("guestKeyFingerprint", guest.fingerprint().await)];
    let new_key: Vec<(&str, &str)> = new_key.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for extra in [&[][..], &new_key] {
        host.refuses_response(&second, &response2, extra, StatusCode::CONFLICT, "was pinned").await;
    }

    // The host's key changes: its new invitation is refused by the guest that pinned the old one, and so is a
    // refreshed file of one the guest joined.
    host.signer.rotate();
    let (third, maps3, layers3) = host.collaboration().await;
    let file3 = host.invite(&third, &guest.portal_url, &maps3, &layers3).await.text;
    guest.refuses(&file3, &[], StatusCode::CONFLICT, "was pinned").await;
    let host_new = host.fingerprint().await;
    guest.refuses(&file3, &[("hostKeyFingerprint", &host_new)], StatusCode::CONFLICT, "was pinned").await;
    let listed = host.get(&format!("/collaborations/{second}/invitations")).await;
    let id = listed.json["collaborationInvitations"][0]["id"].as_str().expect("an invitation").to_owned();
    let refreshed = host.post(&format!("/collaborations/{second}/invitations/{id}/refresh"), &[]).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let carried = signed_part::<Value>(&refreshed.text, "invitationRequest")["publicKey"].clone();
    let published = host.send(host.http.get(&host.base)).await.json["publicKey"].clone();
    assert_eq!(carried, published, "a refreshed file carries the key that signed it");
    guest.validate(&refreshed.text, &[]).await.assert_error(StatusCode::CONFLICT, "already takes part");
    guest.accept(&refreshed.text).await.assert_error(StatusCode::CONFLICT, "already takes part");
}

/// A portal that cannot be reached: its files are refused with a 400 unless the administrator passes the key's
/// fingerprint; a wrong one is refused; the key is then pinned as if published. On the guest (an unreachable
/// host) and on the host (an unreachable guest).
async fn an_unreachable_portal_needs_its_fingerprint(Pair { host, guest, more }: Pair) {
    // A host whose URL nothing answers (the test reaches it at another address).
    let ghost_url = format!("https://127.0.0.1:{}", closed_port());
    let ghost = more.start_at(Some(&ghost_url)).await;
    let (collaboration, maps, layers) = ghost.collaboration().await;
    let file = ghost.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.refuses(&file, &[], StatusCode::BAD_REQUEST, "could not be reached").await;
    let other = host.fingerprint().await;
    guest.refuses(&file, &[("hostKeyFingerprint", &other)], StatusCode::BAD_REQUEST, "is not the fingerprint").await;
    let right = ghost.fingerprint().await;
    let with_right = [("hostKeyFingerprint", right.as_str())];
    let valid = guest.validate(&file, &with_right).await;
    valid.assert_success();
    assert_eq!(valid.json["hostKeyFingerprint"], json!(right));
    guest.accept_with(&file, &with_right).await.assert_success();
    let on_guest = guest.participants(&collaboration).await;
    assert_eq!(
        (&on_guest[0]["portalInfo"]["url"], &on_guest[0]["collaborationRole"]),
        (&json!(ghost_url), &json!("Host"))
    );
    // Pinned: the same URL with another key is refused, fingerprint or not.
    ghost.signer.rotate();
    let (next, maps2, layers2) = ghost.collaboration().await;
    let file2 = ghost.invite(&next, &guest.portal_url, &maps2, &layers2).await.text;
    let rotated = ghost.fingerprint().await;
    guest.refuses(&file2, &[("hostKeyFingerprint", &rotated)], StatusCode::CONFLICT, "was pinned").await;

    // A guest whose URL nothing answers: the host needs its fingerprint to import its response.
    let far_url = format!("https://127.0.0.1:{}", closed_port());
    let far = more.start_at(Some(&far_url)).await;
    let (hosted, maps3, layers3) = host.collaboration().await;
    let invitation = host.invite(&hosted, &far_url, &maps3, &layers3).await.text;
    far.accept(&invitation).await.assert_success();
    let response = far.export(&hosted).await.text;
    host.refuses_response(&hosted, &response, &[], StatusCode::BAD_REQUEST, "could not be reached").await;
    let other = guest.fingerprint().await;
    let wrong = [("guestKeyFingerprint", other.as_str())];
    host.refuses_response(&hosted, &response, &wrong, StatusCode::BAD_REQUEST, "is not the fingerprint").await;
    let right = far.fingerprint().await;
    let with_right = [("guestKeyFingerprint", right.as_str())];
    let valid = host.validate_response(&hosted, &response, &with_right).await;
    valid.assert_success();
    assert_eq!(valid.json["guestKeyFingerprint"], json!(right));
    host.import_with(&hosted, &response, &with_right).await.assert_success();
    let guests = host.guests(&hosted).await;
    assert_eq!((guests.len(), &guests[0]["portalInfo"]["url"]), (1, &json!(far_url)));
}

async fn maps_of(portal: &TestPortal, collaboration: &str) -> String {
    portal.get(&format!("/collaborations/{collaboration}")).await.json["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn layers_of(portal: &TestPortal, collaboration: &str) -> String {
    portal.get(&format!("/collaborations/{collaboration}")).await.json["workspaces"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn bad_parameters_are_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let invite = format!("/collaborations/{collaboration}/inviteParticipant");
    let config = |mode: &str, workspace: &str| json!([{ workspace: mode }]).to_string();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![
                ("guestPortalUrl", "http://guest.test".into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &maps)),
            ],
            "https",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("write", &maps)),
            ],
            "not an access mode",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", "0123456789abcdef0123456789abcdef")),
            ],
            "not a workspace of this collaboration",
        ),
        (
            vec![("guestPortalUrl", GUEST.into()), ("collaborationWorkspacesParticipantConfigJSON", "{".into())],
            "JSON array",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &layers)),
                ("expiration", "0".into()),
            ],
            "expiration",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &layers)),
                ("f", "xml".into()),
            ],
            "f must be",
        ),
    ];
    for (form, words) in cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        host.post(&invite, &form).await.assert_error(StatusCode::BAD_REQUEST, words);
    }
    let listed = host.get(&format!("/collaborations/{collaboration}/invitations")).await;
    assert_eq!(listed.json["total"], 0, "no invitation was made");

    let malformed = guest
        .send(
            guest
                .http
                .post(format!("{}/acceptCollaborationInvitation", guest.base))
                .bearer_auth(&guest.admin)
                .header("content-type", "multipart/form-data; boundary=xyz")
                .body("--xyz\r\nContent-Disposition: form-data; name=\"invitationFile\"\r\n\r\nunterminated"),
        )
        .await;
    malformed.assert_error(StatusCode::BAD_REQUEST, "multipart");
    let oversize = "x".repeat(70 * 1024);
    let big = guest.upload("/acceptCollaborationInvitation", "invitationFile", &oversize, &[]).await;
    assert!(big.status == StatusCode::BAD_REQUEST || big.status == StatusCode::PAYLOAD_TOO_LARGE, "{}", big.text);
    let no_token = guest.send(guest.http.post(format!("{}/acceptCollaborationInvitation", guest.base))).await;
    no_token.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let esri = guest
        .send(
            guest
                .http
                .get(format!("{}/collaborations", guest.base))
                .header("X-Esri-Authorization", format!("Bearer {}", guest.admin)),
        )
        .await;
    assert_eq!(esri.status, StatusCode::OK, "X-Esri-Authorization carries the token too: {}", esri.text);
    let param = guest.send(guest.http.get(format!("{}/collaborations?token={}", guest.base, guest.admin))).await;
    assert_eq!(param.status, StatusCode::OK, "so does the token parameter: {}", param.text);
    let other_portal = guest.send(guest.http.get(format!("{}/sharing/rest/portals/not-this-one", guest.url))).await;
    other_portal.assert_error(StatusCode::NOT_FOUND, "not found");
    let page = host.send(host.http.get(format!("{}/collaborations?f=html", host.base)).bearer_auth(&host.admin)).await;
    assert!(page.text.starts_with("<!doctype html>") && page.text.contains("Flood response"), "{}", page.text);
    assert!(guest.collaborations().await.is_empty());
}

/// What ArcGIS clients rely on beyond the collaboration flow: the REST root, `info`, the signed-in user, POST
/// wherever GET is served, the reference's parameter names, paging that ignores what it does not know, and the
/// dialect's error body for every path and method no route serves.
async fn the_portal_speaks_arcgis_rest_conventions(Pair { host, .. }: Pair) {
    let root = format!("{}/sharing/rest", host.url);
    let version = host.send(host.http.get(format!("{root}?f=json"))).await;
    assert_eq!((version.status, &version.json["currentVersion"]), (StatusCode::OK, &json!(env!("CARGO_PKG_VERSION"))));
    let info = host.send(host.http.get(format!("{root}/info?f=json"))).await;
    assert_eq!(info.json["authInfo"]["isTokenBasedSecurity"], true, "{}", info.text);
    assert!(info.json["authInfo"].get("tokenServicesUrl").is_none(), "rsvp issues no tokens itself");

    // portals/self names the caller only to a valid token; their user record says they administer the portal.
    let anonymous = host.send(host.http.get(&host.base)).await;
    assert_eq!((anonymous.status, anonymous.json.get("user")), (StatusCode::OK, None), "{}", anonymous.text);
    assert_eq!(anonymous.json["portalName"], anonymous.json["name"]);
    let signed_in = host.get("").await;
    assert_eq!(signed_in.json["user"]["username"], "ada@portal.example", "{}", signed_in.text);
    let forged = host.send(host.http.get(&host.base).bearer_auth("not.a.token")).await;
    assert_eq!((forged.status, forged.json.get("user")), (StatusCode::OK, None), "an invalid token names no one");
    let user =
        host.send(host.http.get(format!("{root}/community/users/ada@portal.example")).bearer_auth(&host.admin)).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    assert_eq!((&user.json["role"], &user.json["email"]), (&json!("org_admin"), &json!("ada@portal.example")));
    assert_eq!(user.json["privileges"], json!(["portal:admin:manageCollaborations"]));
    let someone = host.send(host.http.get(format!("{root}/community/users/bob")).bearer_auth(&host.admin)).await;
    someone.assert_error(StatusCode::NOT_FOUND, "User bob was not found");
    let nobody = host.send(host.http.get(format!("{root}/community/users/ada@portal.example"))).await;
    nobody.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let admin_root =
        host.send(host.http.get(format!("{}/portaladmin?f=json", host.url)).bearer_auth(&host.admin)).await;
    assert_eq!((admin_root.status, &admin_root.json["resources"]), (StatusCode::OK, &json!([])), "{}", admin_root.text);

    // POST wherever GET is served, with the same answer.
    let (collaboration, maps, layers) = host.collaboration().await;
    let read = host.get(&format!("/collaborations/{collaboration}")).await;
    let posted = host.post(&format!("/collaborations/{collaboration}"), &[("f", "json")]).await;
    assert_eq!((posted.status, &posted.json), (StatusCode::OK, &read.json), "{}", posted.text);

    // addWorkspace takes the reference's names only, and config must be a JSON object.
    let add = format!("/collaborations/{collaboration}/addWorkspace");
    host.post(&add, &[("workspaceName", "Old name")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "collaborationWorkspaceName");
    let bad_config = [("collaborationWorkspaceName", "Shelters"), ("config", "[1]")];
    host.post(&add, &bad_config).await.assert_error(StatusCode::BAD_REQUEST, "config must be a JSON object");
    let listed = host.get(&format!("/collaborations/{collaboration}/workspaces")).await;
    assert_eq!(listed.json["total"], 2, "nothing was added: {}", listed.text);

    // Paging by start and num; a parameter it does not know (Esri's client sends `nun`) is ignored.
    let second = host.get(&format!("/collaborations/{collaboration}/workspaces?start=2&num=1&nun=100")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(
        (&second.json["start"], &second.json["num"], &second.json["nextStart"]),
        (&json!(2), &json!(1), &json!(-1))
    );
    assert_eq!(second.json["workspaces"][0]["id"], layers.as_str());
    let first = host.get(&format!("/collaborations/{collaboration}/workspaces?num=1")).await;
    assert_eq!((&first.json["workspaces"][0]["id"], &first.json["nextStart"]), (&json!(maps), &json!(2)));
    let one = host.get(&format!("/collaborations/{collaboration}/workspaces/{maps}")).await;
    assert_eq!((&one.json["name"], &one.json["collaborationId"]), (&json!("Maps"), &json!(collaboration)));
    let unknown =
        host.get(&format!("/collaborations/{collaboration}/workspaces/0123456789abcdef0123456789abcdef")).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "is not a workspace of collaboration");
    let malformed = host.get(&format!("/collaborations/{collaboration}/workspaces/nope")).await;
    malformed.assert_error(StatusCode::BAD_REQUEST, "not a valid id");

    // Every other path or method under /sharing/rest: the dialect's error body, never a gateway's.
    for (method, path) in [
        ("GET", format!("{root}/content/items/abc")),
        ("POST", format!("{root}/portals/self/collaborations/{collaboration}/workpaces/{maps}/delete")),
        ("DELETE", host.base.clone()),
        ("GET", format!("{root}/services")),
    ] {
        let request = host.http.request(method.parse().unwrap(), &path).bearer_auth(&host.admin);
        let answer = host.send(request).await;
        answer.assert_error(StatusCode::NOT_FOUND, "is not a resource or operation this portal serves");
        assert!(answer.json["error"]["details"].is_array(), "{}", answer.text);
    }
    // Outside /sharing/rest, the other dialect's refusal stays.
    let elsewhere = host.send(host.http.get(format!("{}/nowhere", host.url))).await;
    assert_eq!((elsewhere.status, elsewhere.json.get("error")), (StatusCode::NOT_FOUND, None), "{}", elsewhere.text);
    assert_eq!(host.collaborations().await.len(), 1, "nothing changed");
}
