//! The authorization matrix: every route behind the authorizer, called by five callers — no token, a token with a
//! bad signature, another tenant's administrator, a user of the right tenant without the role, and the right
//! role — on a fresh world each time, over HTTP. No route may show another tenant anything of ours.
//!
//! The table below has one row per route; a test checks that it names exactly the routes of `rsvp::routes` that
//! need a token, so a new route cannot go unchecked.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, Method, StatusCode};
use rsvp::app::{App, Config};
use rsvp::domain::collaboration::{
    AccessMode, Collaboration, CollaborationInvitation, Contact, Portal, PortalId, PortalUrl, Workspace,
};
use rsvp::domain::{Clock as _, FixedClock};
use rsvp::routes::{Kind, ROUTES};
use rsvp::sign::{LocalSigner, Signer as _};
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::{Value, json};

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

/// A fresh world: the owner's community (with the partner tenant an Active member, one pending and one accepted
/// invitation), the owner's platform settings and one platform invitation, and this portal's collaboration with
/// an invitation out and another portal's collaboration joined.
struct World {
    url: String,
    key: SigningKey,
    http: Client,
    ids: Ids,
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

impl World {
    async fn build() -> Self {
        let portal = Portal {
            id: PortalId::parse("id", "owner-portal").unwrap(),
            url: PortalUrl::parse("url", THIS_PORTAL, false).unwrap(),
            name: "Owner portal".into(),
        };
        let clock = Arc::new(FixedClock::at(rsvp_tests::present()));
        let config = Config { portal: Some(portal), public_url: Some("https://rsvp.test".into()), ..Config::default() };
        let store = Arc::new(MemoryStore::new());
        let app = Arc::new(App::new(store.clone(), config).with_clock(clock.clone()));
        let key = SigningKey::generate();
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), app, key.clone()).await.unwrap();
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        let mut world = Self { url, key, http: Client::new(), ids: Ids::default() };
        world.populate(clock.now()).await;
        // An address of the owner's whose email bounced for good, for lift_suppression's row.
        let suppression = rsvp::domain::fate::Suppression {
            tenant: rsvp_tests::tenant(OWNER),
            address: rsvp_tests::email("old@bounced.example"),
            reason: "bounced".into(),
            diagnostic: None,
            at: clock.now(),
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
        self.key.mint(&TokenClaims::new(tenant, email, roles))
    }

    async fn send(&self, call: &Call, token: Option<&str>) -> (StatusCode, String) {
        let mut request = self.http.request(call.method.clone(), format!("{}{}", self.url, call.path));
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
        let response = request.send().await.expect("an answer");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
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
        let partner = self.key.mint(&TokenClaims::new(PARTNER, "pat@partner.example", &["TenantAdministrator"]));
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

/// Every row, for the world's ids.
fn rows(ids: &Ids) -> Vec<Row> {
    use Caller::*;
    use Other::*;
    let b = "/api/v1-preview";
    let c = &ids.community;
    let p = "/sharing/rest/portals/self";
    let pc = format!("{p}/collaborations/{}", ids.collaboration);
    let pi = format!("{pc}/invitations/{}", ids.collaboration_invitation);
    let row = |operation, call, right, ok, insufficient, insufficient_status, other| Row {
        operation,
        call,
        right,
        ok,
        insufficient,
        insufficient_status,
        other,
    };
    let forbidden = StatusCode::FORBIDDEN;
    let _ = &ids.invitation_file;
    vec![
        row(
            "create_community",
            json_call(Method::POST, format!("{b}/communities"), json!({"Name": "New"})),
            OwnerAdmin,
            StatusCode::CREATED,
            OwnerMember,
            forbidden,
            OwnOnly,
        ),
        row(
            "list_communities",
            get(format!("{b}/communities")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            OwnOnly,
        ),
        row(
            "get_community",
            get(format!("{b}/communities/{c}")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "update_community",
            json_call(Method::PUT, format!("{b}/communities/{c}"), json!({"Name": "Renamed"})),
            OwnerAdmin,
            StatusCode::OK,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "delete_community",
            Call { method: Method::DELETE, path: format!("{b}/communities/{c}"), body: Body::None, headers: vec![] },
            // The world's community has a partner and open invitations: the owner's admin is refused, with why.
            OwnerAdmin,
            StatusCode::CONFLICT,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "get_community_summary",
            get(format!("{b}/communities/{c}/summary")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "search_community_streams",
            get(format!("{b}/search/communities/{c}/streams?query=pump")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "list_community_tenants",
            get(format!("{b}/communities/{c}/tenants")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "remove_community_tenant",
            Call {
                method: Method::DELETE,
                path: format!("{b}/communities/{c}/tenants/{PARTNER}"),
                body: Body::None,
                headers: vec![],
            },
            OwnerAdmin,
            StatusCode::CONFLICT,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "list_community_invitations",
            get(format!("{b}/communities/{c}/invitations")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "create_community_invitation",
            json_call(
                Method::POST,
                format!("{b}/communities/{c}/invitations"),
                json!({"InvitationRecipient": "new@guest.example"}),
            ),
            OwnerAdmin,
            StatusCode::CREATED,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "get_community_invitation",
            get(format!("{b}/communities/{c}/invitations/{}", ids.pending)),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "delete_community_invitation",
            Call {
                method: Method::DELETE,
                path: format!("{b}/communities/{c}/invitations/{}", ids.pending),
                body: Body::None,
                headers: vec![],
            },
            OwnerAdmin,
            StatusCode::NO_CONTENT,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        // Details are for the invitation's parties only: a member of the owner tenant is not one, and is told
        // the same 404 as a stranger.
        row(
            "get_invitation_details",
            get(format!("{b}/communityinvitations/{}/details", ids.pending)),
            OwnerAdmin,
            StatusCode::OK,
            OwnerMember,
            StatusCode::NOT_FOUND,
            Hidden,
        ),
        row(
            "process_invitation",
            json_call(Method::PUT, format!("{b}/communityinvitations/{}", ids.accepted), json!({"Action": "Confirm"})),
            OwnerAdmin,
            StatusCode::ACCEPTED,
            OwnerMember,
            StatusCode::NOT_FOUND, // not a party to it, as for details
            Hidden,
        ),
        row(
            "list_tenant_accepted_invitations",
            get(format!("{b}/tenants/{OWNER}/communityinvitations")),
            OwnerAdmin,
            StatusCode::OK,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "invite_users",
            json_call(Method::POST, "/api/users/invitations".into(), json!({"EmailAddresses": ["kim@x.example"]})),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            OwnOnly,
        ),
        row(
            "get_business_settings",
            get(format!("/api/businesses/{OWNER}/settings?IncludeUserSettings=true")),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            Hidden,
        ),
        row(
            "update_user_settings",
            json_call(Method::PUT, format!("/api/businesses/{OWNER}/usersettings"), json!({"InvitedUserValidDays": 3})),
            OwnerAdmin,
            StatusCode::OK,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "lift_suppression",
            Call {
                method: Method::DELETE,
                path: format!("/api/businesses/{OWNER}/suppressions/old%40bounced.example"),
                body: Body::None,
                headers: vec![],
            },
            OwnerAdmin,
            StatusCode::NO_CONTENT,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "list_user_invitations",
            get("/api/users/invitations".into()),
            OwnerMember,
            StatusCode::OK,
            OwnerNoRole,
            forbidden,
            OwnOnly,
        ),
        row(
            "revoke_user_invitation",
            Call {
                method: Method::DELETE,
                path: format!("/api/users/invitations/{}", ids.user_invitation),
                body: Body::None,
                headers: vec![],
            },
            OwnerAdmin,
            StatusCode::NO_CONTENT,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "resend_user_invitation",
            form(format!("/api/users/invitations/{}/resend", ids.user_invitation), &[]),
            OwnerAdmin,
            StatusCode::TOO_MANY_REQUESTS,
            OwnerMember,
            forbidden,
            Hidden,
        ),
        row(
            "create_collaboration",
            form(
                format!("{p}/createCollaboration"),
                &[
                    ("name", "N"),
                    ("workspaceName", "W"),
                    ("hostContactFirstname", "A"),
                    ("hostContactLastname", "B"),
                    ("hostContactEmailAddress", "a@b.example"),
                ],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "list_collaborations",
            get(format!("{p}/collaborations")),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row("get_collaboration", get(pc.clone()), PortalAdmin, StatusCode::OK, OwnerAdmin, forbidden, Hidden),
        row(
            "add_workspace",
            form(format!("{pc}/addWorkspace"), &[("collaborationWorkspaceName", "More")]),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "invite_participant",
            form(
                format!("{pc}/inviteParticipant"),
                &[
                    ("guestPortalUrl", "https://third.example"),
                    (
                        "collaborationWorkspacesParticipantConfigJSON",
                        &json!([{ ids.workspace.clone(): "receive" }]).to_string(),
                    ),
                ],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "list_collaboration_invitations",
            get(format!("{pc}/invitations")),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "get_collaboration_invitation",
            get(pi.clone()),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "invalidate_collaboration_invitation",
            form(format!("{pi}/invalidate"), &[]),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "refresh_collaboration_invitation",
            form(format!("{pi}/refresh"), &[]),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "validate_collaboration_invitation",
            form(
                format!("{p}/validateCollaborationInvitation"),
                &[("invitationJSON", &ids.foreign_file), ("hostKeyFingerprint", &ids.elsewhere_fingerprint)],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "accept_collaboration_invitation",
            form(
                format!("{p}/acceptCollaborationInvitation"),
                &[
                    ("invitationJSON", &ids.foreign_file),
                    ("hostKeyFingerprint", &ids.elsewhere_fingerprint),
                    ("guestContactFirstname", "A"),
                    ("guestContactLastname", "B"),
                    ("guestContactEmailAddress", "a@b.example"),
                ],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "export_invitation_response",
            form(format!("{p}/collaborations/{}/exportInvitationResponse", ids.joined), &[]),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "validate_invitation_response",
            form(
                format!("{pc}/validateInvitationResponse"),
                &[("invitationResponseJSON", &ids.response_file), ("guestKeyFingerprint", &ids.elsewhere_fingerprint)],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "import_invitation_response",
            form(
                format!("{pc}/importInvitationResponse"),
                &[("invitationResponseJSON", &ids.response_file), ("guestKeyFingerprint", &ids.elsewhere_fingerprint)],
            ),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "list_participants",
            get(format!("{pc}/participants")),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "list_workspaces",
            get(format!("{pc}/workspaces")),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "get_workspace",
            get(format!("{pc}/workspaces/{}", ids.workspace)),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "get_participant",
            get(format!("{pc}/participants/owner-portal")),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        // A user record answers its own user only: another caller asking for it gets the 404 of a missing one.
        row(
            "get_portal_user",
            get("/sharing/rest/community/users/ops@owner.example".to_owned()),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            StatusCode::NOT_FOUND,
            Hidden,
        ),
        row(
            "get_portal_admin",
            get("/portaladmin".to_owned()),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "remove_participant",
            form(format!("{p}/collaborations/{}/participants/elsewhere/remove", ids.joined), &[]),
            PortalAdmin,
            StatusCode::CONFLICT,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
        row(
            "remove_participation",
            form(format!("{p}/collaborations/{}/removeParticipation", ids.joined), &[]),
            PortalAdmin,
            StatusCode::OK,
            OwnerAdmin,
            forbidden,
            Hidden,
        ),
    ]
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
