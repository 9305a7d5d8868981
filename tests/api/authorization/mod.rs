//! The authorization matrix: every route behind the authorizer, called by five callers — no token, a token with a
//! bad signature, another tenant's administrator, a user of the right tenant without the role, and the right
//! role — on a fresh world each time, over HTTP. No route may show another tenant anything of ours.
//!
//! The table ([`matrix`]) has one row per route; a test checks that it names exactly the routes of `rsvp::routes`
//! that need a token, so a new route cannot go unchecked.

mod matrix;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use rsvp::domain::Clock as _;
use rsvp::domain::collaboration::{
    AccessMode, Collaboration, CollaborationInvitation, Contact, Portal, PortalId, PortalUrl, Workspace,
};
use rsvp::routes::{Kind, ROUTES};
use rsvp::sign::{LocalSigner, Signer as _};
use rsvp::store::memory::MemoryStore;
use rsvp_tests::TestApp;
use serde_json::{Value, json};

use matrix::rows;

const OWNER: &str = "tenant-owner";

const PARTNER: &str = "tenant-partner";

const OTHER: &str = "tenant-other";

const THIS_PORTAL: &str = "https://portal.owner.example";

const OTHER_PORTAL: &str = "https://portal.elsewhere.example";

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Caller {
    OwnerAdmin,
    OwnerMember,
    /// Signed in to the right tenant, without any role.
    OwnerNoRole,
    OtherAdmin,
    PortalAdmin,
}

/// What another tenant's administrator may get.
#[derive(Clone, Copy)]
enum Other {
    /// The resource is someone else's: a 404 (or 403), never its content.
    Hidden,
    /// The route acts on the caller's own tenant: any answer but 5xx, which must not show anything of ours.
    OwnOnly,
}

/// One request, ready to send.
struct Call {
    method: Method,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

/// One row of the matrix.
struct Row {
    operation: &'static str,
    call: Call,
    right: Caller,
    ok: StatusCode,
    insufficient: Caller,
    insufficient_status: StatusCode,
    other: Other,
}

#[derive(Default, Clone)]
struct Ids {
    community: String,
    pending: String,
    pending_secret: String,
    accepted: String,
    user_invitation: String,
    collaboration: String,
    workspace: String,
    collaboration_invitation: String,
    invitation_file: String,
    response_file: String,
    joined: String,
    foreign_file: String,
    /// The other portal's key fingerprint, passed as its administrator would pass it: that portal is not reachable.
    elsewhere_fingerprint: String,
}

/// A fresh world: the owner's community (with the partner tenant an Active member, one pending and one accepted
/// invitation), the owner's platform settings and one platform invitation, and this portal's collaboration with
/// an invitation out and another portal's collaboration joined.
struct World {
    app: TestApp,
    ids: Ids,
}

impl World {
    async fn build() -> Self {
        let portal = Portal {
            id: PortalId::parse("id", "owner-portal").unwrap(),
            url: PortalUrl::parse("url", THIS_PORTAL, false).unwrap(),
            name: "Owner portal".into(),
        };
        let store = Arc::new(MemoryStore::new());
        let app = TestApp::builder().store(store.clone()).portal(portal).spawn().await;
        let now = app.clock.now();
        let mut world = Self { app, ids: Ids::default() };
        world.populate(now).await;
        // An address of the owner's whose email bounced for good, for lift_suppression's row.
        let suppression = rsvp::domain::fate::Suppression {
            tenant: rsvp_tests::tenant(OWNER),
            address: rsvp_tests::email("old@bounced.example"),
            reason: "bounced".into(),
            diagnostic: None,
            at: now,
            invitation: rsvp::domain::InvitationId::new(),
        };
        rsvp::store::SuppressionStore::suppress(store.as_ref(), &suppression).await.unwrap();
        world
    }

    fn token(&self, caller: Caller) -> String {
        let (tenant, email, roles): (&str, &str, &[&str]) = match caller {
            Caller::OwnerAdmin => (OWNER, "admin@owner.example", &["TenantAdministrator"]),
            Caller::OwnerMember => (OWNER, "member@owner.example", &["TenantMember"]),
            Caller::OwnerNoRole => (OWNER, "nobody@owner.example", &[]),
            Caller::OtherAdmin => (OTHER, "admin@other.example", &["TenantAdministrator"]),
            Caller::PortalAdmin => (OWNER, "ops@owner.example", &["PortalAdministrator"]),
        };
        self.app.token((tenant, email), roles)
    }

    async fn send(&self, call: &Call, token: Option<&str>) -> (StatusCode, String) {
        let mut request = self.app.request(call.method.clone(), &call.path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        request = match &call.body {
            Body::None => request,
            Body::Json(v) => request.json(v),
            Body::Form(f) => request.form(f),
        };
        let answer = self.app.send(request).await;
        (answer.status, answer.text)
    }

    async fn json(&self, method: Method, path: &str, caller: Caller, body: Value) -> Value {
        let call = Call { method, path: path.into(), body: Body::Json(body), headers: vec![] };
        let (status, text) = self.send(&call, Some(&self.token(caller))).await;
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let form = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let call = Call { method: Method::POST, path: path.into(), body: Body::Form(form), headers: vec![] };
        self.send(&call, Some(&self.token(Caller::PortalAdmin))).await
    }

    async fn populate(&mut self, now: rsvp::domain::Timestamp) {
        let base = "/api/v1-preview";
        let community =
            self.json(Method::POST, &format!("{base}/communities"), Caller::OwnerAdmin, json!({"Name": "Ops"})).await;
        let community = community["Id"].as_str().unwrap().to_owned();
        let invitations = format!("{base}/communities/{community}/invitations");
        let pending = self
            .json(Method::POST, &invitations, Caller::OwnerAdmin, json!({"InvitationRecipient": "bob@guest.example"}))
            .await;
        let accepted = self
            .json(Method::POST, &invitations, Caller::OwnerAdmin, json!({"InvitationRecipient": "pat@partner.example"}))
            .await;
        let partner = self.app.admin((PARTNER, "pat@partner.example"));
        let accept = Call {
            method: Method::PUT,
            path: format!("{base}/communityinvitations/{}", accepted["Id"].as_str().unwrap()),
            body: Body::Json(json!({"Action": "Accept", "ContactEmail": "ops@partner.example"})),
            headers: vec![],
        };
        assert_eq!(self.send(&accept, Some(&partner)).await.0, StatusCode::ACCEPTED);
        self.json(
            Method::PUT,
            "/api/businesses/tenant-owner/usersettings",
            Caller::OwnerAdmin,
            json!({"InviteUnregisteredUsers": true}),
        )
        .await;
        self.json(
            Method::POST,
            "/api/users/invitations",
            Caller::OwnerAdmin,
            json!({"EmailAddresses": ["jane@x.example"]}),
        )
        .await;
        let listed = self.json(Method::GET, "/api/users/invitations", Caller::OwnerAdmin, Value::Null).await;

        let p = "/sharing/rest/portals/self";
        let (_, created) = self
            .form(
                &format!("{p}/createCollaboration"),
                &[
                    ("name", "Floods"),
                    ("workspaceName", "Maps"),
                    ("hostContactFirstname", "Ada"),
                    ("hostContactLastname", "Admin"),
                    ("hostContactEmailAddress", "ada@owner.example"),
                ],
            )
            .await;
        let created: Value = serde_json::from_str(&created).unwrap();
        let collaboration = created["collaboration"]["id"].as_str().unwrap().to_owned();
        let workspace = created["collaboration"]["workspaces"][0]["id"].as_str().unwrap().to_owned();
        let config = json!([{ workspace.clone(): "send" }]).to_string();
        let (_, file) = self
            .form(
                &format!("{p}/collaborations/{collaboration}/inviteParticipant"),
                &[("guestPortalUrl", OTHER_PORTAL), ("collaborationWorkspacesParticipantConfigJSON", &config)],
            )
            .await;
        let request: Value = serde_json::from_str(&file).unwrap();
        let collaboration_invitation = request["invitationRequest"]["id"].as_str().unwrap().to_owned();

        // The other portal, in process: its response to our invitation, and its own collaboration inviting us.
        let elsewhere = LocalSigner::ephemeral();
        let elsewhere_key = elsewhere.public_key().await.unwrap().to_base64();
        let elsewhere_fingerprint =
            rsvp::domain::collaboration::KeyFingerprint::of_key(&elsewhere_key).unwrap().to_string();
        let response = json!({
            "invitationId": collaboration_invitation, "collaborationId": collaboration,
            "nonce": request["invitationRequest"]["nonce"], "guestPortalId": "elsewhere",
            "guestPortalUrl": OTHER_PORTAL, "guestPortalName": "Elsewhere", "publicKey": elsewhere_key,
            "contactFirstname": "Gil", "contactLastname": "Guest", "contactEmailAddress": "gil@elsewhere.example",
            "created": now.millis()
        })
        .to_string();
        let signature = STANDARD.encode(elsewhere.sign(response.as_bytes()).await.unwrap());
        let response_file = rsvp::domain::collaboration::signed_file("invitationResponse", &response, &signature);

        let theirs = Collaboration::create(
            Portal {
                id: PortalId::parse("id", "elsewhere").unwrap(),
                url: PortalUrl::parse("url", OTHER_PORTAL, false).unwrap(),
                name: "Elsewhere".into(),
            },
            "Their floods",
            None,
            Workspace::create("Layers", None).unwrap(),
            Contact::parse("Eli", "Else", "eli@elsewhere.example").unwrap(),
            now,
        )
        .unwrap();
        let access = vec![(theirs.workspaces[0].id, AccessMode::Receive)];
        let ours = PortalUrl::parse("url", THIS_PORTAL, false).unwrap();
        let (foreign, _) = CollaborationInvitation::request(&theirs, ours, &access, elsewhere_key, now, 24).unwrap();
        let payload = serde_json::to_string(&foreign).unwrap();
        let signature = STANDARD.encode(elsewhere.sign(payload.as_bytes()).await.unwrap());
        let foreign_file = rsvp::domain::collaboration::signed_file("invitationRequest", &payload, &signature);
        // A second invitation from them, accepted now, so that the guest-side routes have a collaboration.
        let (second, _) = {
            let other = Collaboration { id: rsvp::domain::collaboration::CollaborationId::new(), ..theirs.clone() };
            let (r, n) = CollaborationInvitation::request(
                &other,
                PortalUrl::parse("url", THIS_PORTAL, false).unwrap(),
                &access,
                foreign.public_key.clone(),
                now,
                24,
            )
            .unwrap();
            (r, n)
        };
        let payload = serde_json::to_string(&second).unwrap();
        let signature = STANDARD.encode(elsewhere.sign(payload.as_bytes()).await.unwrap());
        let joined_file = rsvp::domain::collaboration::signed_file("invitationRequest", &payload, &signature);
        let contact = [
            ("invitationJSON", joined_file.as_str()),
            ("hostKeyFingerprint", elsewhere_fingerprint.as_str()),
            ("guestContactFirstname", "Ada"),
            ("guestContactLastname", "Admin"),
            ("guestContactEmailAddress", "ada@owner.example"),
        ];
        let (status, text) = self.form(&format!("{p}/acceptCollaborationInvitation"), &contact).await;
        assert_eq!(status, StatusCode::OK, "{text}");

        self.ids = Ids {
            community,
            pending: pending["Id"].as_str().unwrap().to_owned(),
            pending_secret: pending["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1.to_owned(),
            accepted: accepted["Id"].as_str().unwrap().to_owned(),
            user_invitation: listed[0]["Id"].as_str().unwrap().to_owned(),
            collaboration,
            workspace,
            collaboration_invitation,
            invitation_file: file,
            response_file,
            joined: second.collaboration_id.to_string(),
            foreign_file,
            elsewhere_fingerprint,
        };
    }
}

fn json_call(method: Method, path: String, body: Value) -> Call {
    Call { method, path, body: Body::Json(body), headers: vec![] }
}

fn get(path: String) -> Call {
    Call { method: Method::GET, path, body: Body::None, headers: vec![] }
}

fn form(path: String, fields: &[(&str, &str)]) -> Call {
    let fields = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Call { method: Method::POST, path, body: Body::Form(fields), headers: vec![] }
}

/// Strings of ours that another tenant must never see.
fn ours(ids: &Ids) -> Vec<String> {
    vec![
        ids.community.clone(),
        ids.pending.clone(),
        ids.accepted.clone(),
        ids.user_invitation.clone(),
        ids.pending_secret.clone(),
        "bob@guest.example".into(),
        "jane@x.example".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_as_the_api_says() {
    let template = World::build().await;
    let names: BTreeSet<&str> = rows(&template.ids).iter().map(|r| r.operation).collect();
    let needing_a_token: BTreeSet<&str> =
        ROUTES.iter().filter(|r| matches!(r.kind, Kind::Api | Kind::Portal)).map(|r| r.operation).collect();
    assert_eq!(names, needing_a_token, "the matrix names exactly the routes that need a token");

    let mut checked = 0;
    for index in 0..names.len() {
        // A fresh world for every row: the right caller's call may change it.
        let world = World::build().await;
        let row = rows(&world.ids).remove(index);
        let op = row.operation;
        let (status, text) = world.send(&row.call, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{op} without a token: {text}");
        let forged = format!("{}x", world.token(row.right));
        let (status, text) = world.send(&row.call, Some(&forged)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{op} with a bad signature: {text}");
        let (status, text) = world.send(&row.call, Some(&world.token(Caller::OtherAdmin))).await;
        match row.other {
            Other::Hidden => assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                "{op} by another tenant's administrator: {status} {text}"
            ),
            Other::OwnOnly => assert!(!status.is_server_error(), "{op} by another tenant: {status} {text}"),
        }
        // What the caller sent (an id in the path) may be named back; nothing else of ours may show.
        for secret in ours(&world.ids).into_iter().filter(|s| !row.call.path.contains(s.as_str())) {
            assert!(!text.contains(&secret), "{op} shows another tenant {secret:?}: {text}");
        }
        let (status, text) = world.send(&row.call, Some(&world.token(row.insufficient))).await;
        assert_eq!(status, row.insufficient_status, "{op} by {:?}: {text}", row.insufficient);
        let (status, text) = world.send(&row.call, Some(&world.token(row.right))).await;
        assert_eq!(status, row.ok, "{op} by {:?}: {text}", row.right);
        checked += 1;
    }
    rsvp_tests::figure("authorization", &format!("{checked} routes x 5 callers checked ({} requests)", checked * 5));
}

/// The landing page and the code holder's routes tell a stranger nothing: a wrong token is the same 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_routes_leak_nothing_without_the_secret() {
    let world = World::build().await;
    let page = get(format!("/invite/{}?token=guess", world.ids.pending));
    let (status, text) = world.send(&page, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!text.contains("Ops") && !text.contains("bob@guest.example"), "{text}");
    let verify = form(
        "/api/users/verifyInvitation".into(),
        &[("validationCode", &format!("{}.{}", world.ids.user_invitation, "A".repeat(43)))],
    );
    let (status, text) = world.send(&verify, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!text.contains("jane@x.example"), "{text}");
    let described = world.send(&get("/sharing/rest/portals/self".into()), None).await;
    assert_eq!(described.0, StatusCode::OK, "the portal's description is public");
    assert!(!described.1.contains(&world.ids.collaboration), "and shows no collaboration");
}
