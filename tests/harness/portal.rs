//! The portal dialect (`/sharing/rest/...`, ArcGIS REST): [`TestPortal`], a [`TestApp`] serving as a portal over
//! HTTPS as `rsvp-local serve --portal-url --tls` does, and what the collaboration suites do with it.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use reqwest::StatusCode;
use rsvp::domain::collaboration::PortalUrl;
use rsvp::portal_keys::HttpPortalKeys;
use rsvp::seal::AesSealer;
use rsvp::sign::{LocalSigner, PublicKey, SignError, Signer};
use rsvp::store::Store;
use serde_json::{Value, json};

use super::{Answer, TestApp};

/// The servers' one self-signed certificate (made as `rsvp-local serve --tls` makes it, for 127.0.0.1), which every
/// portal and the tests' client trust as a root, as `--trust-cert` makes a local portal trust it.
#[derive(Clone)]
pub struct Tls {
    /// The folder of the certificate's file, `tls.pem`.
    pub dir: PathBuf,
    /// The certificate (with its key) as PEM.
    pub pem: Vec<u8>,
}

impl Tls {
    pub fn new() -> Self {
        let dir = crate::eml::temp_dir();
        rsvp_local::tls::load_or_create(&dir, "127.0.0.1").expect("the certificate");
        let pem = std::fs::read(dir.join(rsvp_local::tls::TLS_FILE)).expect("tls.pem");
        Self { dir, pem }
    }

    /// The certificate as the roots a client trusts.
    pub fn roots(&self) -> Vec<reqwest::Certificate> {
        reqwest::Certificate::from_pem_bundle(&self.pem).expect("the certificate as PEM")
    }
}

impl Default for Tls {
    fn default() -> Self {
        Self::new()
    }
}

/// A portal's key that the test can replace, as an operator rotating it (or someone taking over its URL) would:
/// a real [`LocalSigner`] either way.
pub struct Rotating(RwLock<Arc<LocalSigner>>);

impl Rotating {
    pub fn current(&self) -> Arc<LocalSigner> {
        self.0.read().expect("the signer").clone()
    }

    pub fn rotate(&self) {
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

/// One running portal: its own port, store and data folder (identity, signing and sealing keys), fetching other
/// portals' keys over HTTPS with the real fetcher, trusting [`Tls`]'s certificate.
pub struct TestPortal {
    pub app: TestApp,
    /// The portal's own URL, which its files name: its listening URL unless the test chose another.
    pub portal_url: String,
    /// `<url>/sharing/rest/portals/self`.
    pub base: String,
    /// The portal administrator's token.
    pub admin: String,
    pub signer: Arc<Rotating>,
    _dir: PathBuf,
}

impl Deref for TestPortal {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl TestPortal {
    /// A portal over `store` whose URL is `portal_url` (its listening URL when `None`).
    pub async fn start_at(store: Arc<dyn Store>, tls: &Tls, portal_url: Option<&str>) -> Self {
        let dir = crate::eml::temp_dir();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("an address"));
        let portal_url = portal_url.map_or_else(|| url.clone(), str::to_owned);
        let parsed = PortalUrl::parse("url", &portal_url, false).expect("a portal URL");
        let portal = rsvp_local::portal::load_or_create(&dir, parsed).expect("the portal's identity");
        let signer =
            Arc::new(Rotating(RwLock::new(Arc::new(LocalSigner::load_or_create(&dir).expect("the portal's key")))));
        let keys = HttpPortalKeys::with_extra_roots(&tls.pem).expect("the fetcher of portal keys");
        let app = TestApp::builder()
            .store(store)
            .listener(listener)
            .tls(tls)
            .no_public_url()
            .portal(portal)
            .signer(signer.clone())
            .portal_keys(Arc::new(keys))
            .sealer(Arc::new(AesSealer::load_or_create(&dir).expect("the sealing key")))
            .spawn()
            .await;
        let admin = app.portal_admin(("portal-admins", "ada@portal.example"));
        let base = format!("{}/sharing/rest/portals/self", app.url);
        Self { app, portal_url, base, admin, signer, _dir: dir }
    }

    /// A form-encoded POST as the administrator.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.admin).form(form)).await
    }

    /// A multipart POST as the administrator: `file` as an upload named `file_field`, and `fields`.
    pub async fn upload(&self, path: &str, file_field: &str, file: &str, fields: &[(&str, &str)]) -> Answer {
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

    /// A GET as the administrator.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.admin)).await
    }

    /// The portal's description (`portals/self`), as anyone reads it.
    pub async fn described(&self) -> Answer {
        self.send(self.http.get(&self.base)).await
    }

    /// Creates a collaboration with two workspaces: its id and the workspaces' ids.
    pub async fn collaboration(&self) -> (String, String, String) {
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
        let id = created.body["collaboration"]["id"].as_str().expect("an id").to_owned();
        let first = created.body["collaboration"]["workspaces"][0]["id"].as_str().expect("a workspace").to_owned();
        let added = self
            .post(
                &format!("/collaborations/{id}/addWorkspace"),
                &[("collaborationWorkspaceName", "Layers"), ("config", "{}"), ("portalGroupId", "grp1")],
            )
            .await;
        added.assert_success();
        let second = added.body["workspace"]["id"].as_str().expect("a workspace").to_owned();
        (id, first, second)
    }

    /// Invites `guest` into `collaboration` with `send` on `first` and `sendAndReceive` on `second`.
    pub async fn invite(&self, collaboration: &str, guest: &str, first: &str, second: &str) -> Answer {
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

    pub async fn accept(&self, file: &str) -> Answer {
        self.accept_with(file, &[]).await
    }

    /// Accepts `file` with the guest's contact and `extra` fields (a `hostKeyFingerprint`).
    pub async fn accept_with(&self, file: &str, extra: &[(&str, &str)]) -> Answer {
        let mut fields = vec![
            ("guestContactFirstname", "Gil"),
            ("guestContactLastname", "Guest"),
            ("guestContactEmailAddress", "gil@guest.example"),
            ("f", "json"),
        ];
        fields.extend_from_slice(extra);
        self.upload("/acceptCollaborationInvitation", "invitationFile", file, &fields).await
    }

    pub async fn validate(&self, file: &str, extra: &[(&str, &str)]) -> Answer {
        self.upload("/validateCollaborationInvitation", "invitationFile", file, extra).await
    }

    /// Asserts that validate and accept both refuse `file` (with `extra` fields) with `status`, in a message that
    /// mentions `words`, and that the portal joined nothing: validate never calls valid what accept refuses.
    pub async fn refuses(&self, file: &str, extra: &[(&str, &str)], status: StatusCode, words: &str) {
        let before = self.collaborations().await.len();
        self.validate(file, extra).await.assert_portal_error(status, words);
        self.accept_with(file, extra).await.assert_portal_error(status, words);
        assert_eq!(self.collaborations().await.len(), before, "nothing was accepted");
    }

    pub async fn validate_response(&self, collaboration: &str, response: &str, extra: &[(&str, &str)]) -> Answer {
        let path = format!("/collaborations/{collaboration}/validateInvitationResponse");
        self.upload(&path, "invitationResponseFile", response, extra).await
    }

    pub async fn import(&self, collaboration: &str, response: &str) -> Answer {
        self.import_with(collaboration, response, &[]).await
    }

    pub async fn import_with(&self, collaboration: &str, response: &str, extra: &[(&str, &str)]) -> Answer {
        let path = format!("/collaborations/{collaboration}/importInvitationResponse");
        self.upload(&path, "invitationResponseFile", response, extra).await
    }

    /// Asserts that validate and import both refuse `response` with `status` mentioning `words`, and that no
    /// participant was added.
    pub async fn refuses_response(
        &self,
        collaboration: &str,
        response: &str,
        extra: &[(&str, &str)],
        status: StatusCode,
        words: &str,
    ) {
        self.validate_response(collaboration, response, extra).await.assert_portal_error(status, words);
        self.import_with(collaboration, response, extra).await.assert_portal_error(status, words);
        assert!(self.guests(collaboration).await.is_empty(), "no participant was added");
    }

    /// The fingerprint this portal publishes for its key (`publicKeyFingerprint` of `portals/self`).
    pub async fn fingerprint(&self) -> String {
        self.described().await.body["publicKeyFingerprint"].as_str().expect("a fingerprint").to_owned()
    }

    pub async fn export(&self, collaboration: &str) -> Answer {
        self.post(&format!("/collaborations/{collaboration}/exportInvitationResponse"), &[]).await
    }

    /// Every participant this portal lists, itself included.
    pub async fn participants(&self, collaboration: &str) -> Vec<Value> {
        let answer = self.get(&format!("/collaborations/{collaboration}/participants")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["participants"].as_array().expect("participants").clone()
    }

    /// The guests among them (on the host: those whose responses it imported).
    pub async fn guests(&self, collaboration: &str) -> Vec<Value> {
        let all = self.participants(collaboration).await;
        all.into_iter().filter(|p| p["collaborationRole"] == "Guest").collect()
    }

    pub async fn collaborations(&self) -> Vec<Value> {
        self.get("/collaborations").await.body["collaborations"].as_array().expect("a list").clone()
    }
}

impl Answer {
    /// Asserts the portal dialect's error body with this status, whose message mentions `words`.
    pub fn assert_portal_error(&self, status: StatusCode, words: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], status.as_u16(), "{}", self.text);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "message {message:?} should mention {words:?}");
    }

    /// Asserts the portal dialect's success: a 200 saying `"success": true`.
    pub fn assert_success(&self) {
        assert_eq!((self.status, &self.body["success"]), (StatusCode::OK, &json!(true)), "{}", self.text);
    }
}
