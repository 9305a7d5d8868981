//! Two portals, one test: two local servers, each a portal with its own port, store and signing key (made in its
//! own data folder, as `rsvp-local serve --portal-url` makes them), walk a collaboration between them over HTTP:
//! the host invites, the guest validates and accepts the downloaded file and exports its response, the host
//! validates and imports it. Then every attack on the files gets its clear 4xx and changes nothing. Every
//! scenario runs with both portals on the embedded store, and again on DynamoDB Local.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::FixedClock;
use rsvp::domain::collaboration::{CollaborationInvitationId, InvitationResponse, PortalUrl, signed_file};
use rsvp::seal::AesSealer;
use rsvp::sign::{LocalSigner, Signer as _};
use rsvp::store::Store;
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::{Value, json};

/// One running portal.
struct TestPortal {
    url: String,
    base: String,
    http: Client,
    admin: String,
    clock: Arc<FixedClock>,
    _dir: PathBuf,
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
    async fn start(portal_url: &str, store: Arc<dyn Store>) -> Self {
        let dir = rsvp_tests::eml::temp_dir();
        let url = PortalUrl::parse("url", portal_url, false).expect("a portal URL");
        let portal = rsvp_local::portal::load_or_create(&dir, url).expect("the portal's identity");
        let signer = Arc::new(LocalSigner::load_or_create(&dir).expect("the portal's key"));
        let clock = Arc::new(FixedClock::at(rsvp_tests::present()));
        let config = Config { portal: Some(portal), ..Config::default() };
        let app = App::new(store, config)
            .with_clock(clock.clone())
            .with_signer(signer)
            .with_sealer(Arc::new(AesSealer::load_or_create(&dir).expect("the sealing key")));
        let key = SigningKey::generate();
        let server =
            Server::bind("127.0.0.1:0".parse().expect("loopback"), Arc::new(app), key.clone()).await.expect("bind");
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        let admin = key.mint(&TokenClaims::new("portal-admins", "ada@portal.example", &["PortalAdministrator"]));
        Self { base: format!("{url}/sharing/rest/portals/self"), url, http: Client::new(), admin, clock, _dir: dir }
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
        let contact = [
            ("guestContactFirstname", "Gil"),
            ("guestContactLastname", "Guest"),
            ("guestContactEmailAddress", "gil@guest.example"),
            ("f", "json"),
        ];
        self.upload("/acceptCollaborationInvitation", "invitationFile", file, &contact).await
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

const HOST: &str = "https://host.test/portal";
const GUEST: &str = "https://guest.test/portal";

/// The host and the guest, each on its own store of the kind the scenario runs on.
struct Pair {
    host: TestPortal,
    guest: TestPortal,
}

async fn memory() -> Pair {
    Pair {
        host: TestPortal::start(HOST, Arc::new(MemoryStore::new())).await,
        guest: TestPortal::start(GUEST, Arc::new(MemoryStore::new())).await,
    }
}

async fn dynamodb() -> Pair {
    Pair {
        host: TestPortal::start(HOST, Arc::new(rsvp_tests::fresh_dynamo_store().await)).await,
        guest: TestPortal::start(GUEST, Arc::new(rsvp_tests::fresh_dynamo_store().await)).await,
    }
}

rsvp_tests::against_both_stores!(
    two_portals_collaborate,
    tampered_foreign_misaddressed_and_expired_files_are_refused,
    a_response_imports_once_and_never_after_invalidate_or_refresh,
    bad_parameters_are_refused,
    concurrent_imports_of_one_response_import_it_once,
    the_portal_speaks_arcgis_rest_conventions,
);

/// 20 imports of one response at once: one succeeds, the others are told it was imported, one participant.
async fn concurrent_imports_of_one_response_import_it_once(Pair { host, guest }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, GUEST, &maps, &layers).await.text;
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
async fn two_portals_collaborate(Pair { host, guest }: Pair) {
    let described = host.send(host.http.get(format!("{}?f=pjson", host.base))).await;
    assert_eq!(described.status, StatusCode::OK, "anyone may read a portal's description");
    assert_eq!(described.json["url"], HOST);
    assert!(described.json["publicKey"].as_str().is_some_and(|k| k.len() > 80));
    assert!(described.text.contains("\n  \""), "pjson is indented");
    let guest_id = guest.send(guest.http.get(&guest.base)).await.json["id"].as_str().unwrap().to_owned();

    let (collaboration, maps, layers) = host.collaboration().await;
    let invited = host.invite(&collaboration, GUEST, &maps, &layers).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    assert_eq!(invited.file_name.as_deref(), Some("collaboration-guest.test.invite"));
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
    assert_eq!(one.json["config"]["invitationRequestFilename"], "collaboration-guest.test.invite");

    guest.upload("/validateCollaborationInvitation", "invitationFile", &file, &[]).await.assert_success();
    guest.accept(&file).await.assert_success();
    guest.accept(&file).await.assert_error(StatusCode::CONFLICT, "already takes part");
    let response = guest.export(&collaboration).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.file_name.as_deref(), Some("collaboration-guest.test.response"));

    let validate = format!("/collaborations/{collaboration}/validateInvitationResponse");
    host.upload(&validate, "invitationResponseFile", &response.text, &[]).await.assert_success();
    host.import(&collaboration, &response.text).await.assert_success();

    let host_id = described.json["id"].as_str().unwrap().to_owned();
    let on_host = host.participants(&collaboration).await;
    let roles: Vec<_> =
        on_host.iter().map(|p| (p["portalInfo"]["id"].clone(), p["collaborationRole"].clone())).collect();
    assert_eq!(roles, [(json!(host_id), json!("Host")), (json!(guest_id), json!("Guest"))], "the host lists itself");
    assert_eq!(on_host[0]["config"]["contactEmailAddress"], "ada@host.example");
    assert_eq!((&on_host[1]["portalInfo"]["url"], &on_host[1]["status"]), (&json!(GUEST), &json!("active")));
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
        [(json!(HOST), json!("Host")), (json!(GUEST), json!("Guest"))],
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

async fn tampered_foreign_misaddressed_and_expired_files_are_refused(Pair { host, guest }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, GUEST, &maps, &layers).await.text;

    let one_byte = file.replacen("Flood response", "Flood responsf", 1);
    let validated = guest.upload("/validateCollaborationInvitation", "invitationFile", &one_byte, &[]).await;
    validated.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");
    guest.accept(&one_byte).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");

    // The guest's own key in place of the host's: the signature was made by another key.
    let guest_key = guest.send(guest.http.get(&guest.base)).await.json["publicKey"].as_str().unwrap().to_owned();
    let host_key = host.send(host.http.get(&host.base)).await.json["publicKey"].as_str().unwrap().to_owned();
    let foreign = file.replacen(&host_key, &guest_key, 1);
    guest.accept(&foreign).await.assert_error(StatusCode::BAD_REQUEST, "signature does not verify");

    let elsewhere = TestPortal::start("https://elsewhere.test", Arc::new(MemoryStore::new())).await;
    elsewhere.accept(&file).await.assert_error(StatusCode::BAD_REQUEST, "is for https://guest.test/portal");

    guest.clock.advance_minutes(24 * 60);
    guest.accept(&file).await.assert_error(StatusCode::BAD_REQUEST, "expired");
    for garbage in ["", "not json", "{\"invitationRequest\": {}}", "{\"signature\": \"x\"}"] {
        let answer = guest.accept(garbage).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{garbage:?}: {}", answer.text);
    }
    assert!(guest.collaborations().await.is_empty(), "nothing was accepted");
}

async fn a_response_imports_once_and_never_after_invalidate_or_refresh(Pair { host, guest }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let invitation_id = |answer: &Answer| -> String {
        let file: Value = serde_json::from_str(&answer.text).expect("a file");
        file["invitationRequest"]["id"].as_str().expect("an id").to_owned()
    };

    // Replayed twice: imported once.
    let first = host.invite(&collaboration, GUEST, &maps, &layers).await;
    guest.accept(&first.text).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    host.import(&collaboration, &response).await.assert_success();
    host.import(&collaboration, &response).await.assert_error(StatusCode::CONFLICT, "host_imported");
    assert_eq!(host.guests(&collaboration).await.len(), 1);

    // After invalidate, a response built from the file does not import.
    let (withdrawn, maps2, layers2) = host.collaboration().await;
    let second = host.invite(&withdrawn, GUEST, &maps2, &layers2).await;
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
    let third = host.invite(&other, GUEST, &maps_of(&host, &other).await, &layers_of(&host, &other).await).await;
    let old_id = invitation_id(&third);
    guest.accept(&third.text).await.assert_success();
    let old_response = guest.export(&other).await.text;
    host.clock.advance_minutes(60);
    let refreshed = host.post(&format!("/collaborations/{other}/invitations/{old_id}/refresh"), &[]).await;
    assert_eq!(
        (refreshed.status, refreshed.file_name.as_deref()),
        (StatusCode::OK, Some("collaboration-guest.test.invite"))
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

async fn bad_parameters_are_refused(Pair { host, guest }: Pair) {
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
async fn the_portal_speaks_arcgis_rest_conventions(Pair { host, guest: _ }: Pair) {
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
