//! Every sample event in `events/` drives its own operation's handler and gets the answer it shows off.
//!
//! The events are what `sam local invoke -e events/<operation>.json` and the Lambda console's test tab send, so each
//! must parse as API Gateway's HTTP API payload 2.0 (as `lambda_http` reads it in Lambda) and must succeed against a
//! store seeded with the fixture world they are written for:
//!
//! - community `3fa85f64-…`, "Shared Operations", owned by `tenant-owner` (administrator `admin@owner.example`);
//! - `tenant-member` (`carol@member.example`, TenantMember) joined through an earlier, completed invitation;
//! - invitation `7c9e6679-…` to `bob@guest.example`, administrator of `tenant-guest`, whose emailed link carries
//!   the secret [`BOB_TOKEN`] (the landing page events present it);
//! - `tenant-owner`'s settings for inviting platform users: anyone signed in may invite, for 14 days;
//! - platform invitation `3fa85f64-…` (Swagger's example id, like the community's, but another item) from the
//!   owner's administrator to `jane.mead@acmepaymentscorp.com`, whose email carries the code [`JANE_CODE`] (the
//!   verify and sign-up events present it).
//!
//! Each event is a moment in that world's story: before Bob and Jane are invited, while their invitations are
//! pending, or after Bob accepted his.
//!
//! The portal events (`/sharing/rest/portals/self/...`) are sent to one of two portals (deployments configured
//! with `RSVP_PORTAL_*`, each with its own signing key): the owner's, which hosts collaboration `eefa7ebb…` and
//! invites the guest's portal with invitation `4c2d9e7f…`, and the guest's (`guest-portal`), which accepts it and
//! answers with its response file. The invitation and response files in the events are the ones those portals
//! sign, byte for byte (see [`PortalMoment`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use rsvp::app::{App, Config};
use rsvp::domain::collaboration::{
    AccessMode, Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Contact,
    InvitationRequest, InvitationResponse, InvitationStatus, Participant, Portal, PortalId, PortalUrl, Side, Workspace,
    WorkspaceId, signed_file,
};
use rsvp::domain::{
    AcceptFrom, Community, CommunityId, CommunityInvitation, CountChange, Email, FixedClock, HistoryEntry,
    InvitationId, LockEffect, MemberStatus, Membership, MembershipEffect, Principal, Role, Secret, SettingsChange,
    StoredState, TenantId, Timestamp, Transition, UserId, UserInvitation, UserInvitationState, UserReadState,
    UserSettings,
};
use rsvp::routes::{Kind, ROUTES, Route};
use rsvp::sign::{LOCAL_KEY_FILE, LocalSigner, PublicKey, Signer};
use rsvp::store::memory::MemoryStore;
use rsvp::store::{
    CommunityStore, PageRequest, PortalStore, SuppressionStore, UserInvitationFilter, UserInvitationStore,
};
use serde_json::Value;
use serde_json::value::RawValue;

/// The instant every event is sent at (2026-03-02T09:00:00Z), matching the events' `requestContext.timeEpoch`.
const NOW: Timestamp = Timestamp::from_millis(1_772_442_000_000);
const COMMUNITY: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const INVITATION: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
/// The completed invitation through which `tenant-member` joined.
const MEMBER_INVITATION: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const DOMAIN: &str = "r7x2k9q4mb.execute-api.us-east-1.amazonaws.com";
/// The secret in the link emailed to Bob, as the landing page events send it.
const BOB_TOKEN: &str = "Xk3vQp9LmR2sT8wYb4NcJ7hD1fGz6EaU0oKiV5nHtWq";
/// Jane's platform invitation, and the code in the email sent to her (`<invitation id>.<43 characters base64url>`),
/// as the verify and sign-up events send it.
const JANE_INVITATION: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const JANE_CODE: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6.Hq4T-8vLmZ2pXc7Wn_Rb3kYs9DfJ1gAe6UoNi0tKw5E";
const JANE: &str = "jane.mead@acmepaymentscorp.com";
/// How long `tenant-owner`'s platform invitations last before the update_user_settings event changes it to 7.
const OWNER_VALID_DAYS: i64 = 14;
/// The `sub` claims of the owner's administrator, of Bob and of Carol (tenant-member), as in the events.
const OWNER_ADMIN: &str = "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80";
const BOB: &str = "c5d9e3b7-2a4f-4e81-b6c0-9f3a1d7e5b24";
const CAROL: &str = "e1b8f4a2-7c3d-4b59-8e6f-2a0d9c4b7f13";

/// How far the fixture world's story has got when an event is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// The community and its two member tenants; Bob is not invited yet.
    BeforeInvitation,
    /// Bob's invitation is pending (issued yesterday, live for 13 more days).
    Invited,
    /// Bob accepted for `tenant-guest`, which awaits the owner's confirmation.
    Accepted,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn event_path(route: &Route) -> PathBuf {
    repo_root().join("events").join(format!("{}.json", route.operation.replace('_', "-")))
}

fn tenant(id: &str) -> TenantId {
    TenantId::parse("tenant", id).unwrap()
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

fn community_id() -> CommunityId {
    CommunityId::parse("community", COMMUNITY).unwrap()
}

fn invitation_id() -> InvitationId {
    InvitationId::parse("invitation", INVITATION).unwrap()
}

fn jane_invitation_id() -> InvitationId {
    InvitationId::parse("invitation", JANE_INVITATION).unwrap()
}

/// The owner's administrator as the events' claims present them.
fn owner_admin() -> Principal {
    Principal {
        user: UserId::parse("sub", OWNER_ADMIN).unwrap(),
        tenant: tenant("tenant-owner"),
        email: Some(email("admin@owner.example")),
        tenant_name: Some("Owner Corp".into()),
        roles: vec![Role::TenantAdministrator],
    }
}

/// `tenant-owner`'s settings: its users may invite people who are not registered yet, for [`OWNER_VALID_DAYS`].
fn owner_settings() -> UserSettings {
    let change = SettingsChange {
        invite_unregistered_users: Some(true),
        invited_user_valid_days: Some(OWNER_VALID_DAYS),
        ..SettingsChange::default()
    };
    UserSettings::default().with(&change).unwrap()
}

/// Jane's invitation from the owner's administrator, as `invite_users` stores it, with the id and code of the
/// events (the code's hash, as for Bob's link).
fn jane_invitation(issued: Timestamp) -> UserInvitation {
    let message = Some("You should join this awesome app management platform.".to_owned());
    let (mut janes, _) = UserInvitation::create(&owner_admin(), email(JANE), message, issued, &owner_settings());
    janes.id = jane_invitation_id();
    janes.code_hash = Secret::presented(JANE_CODE).hash();
    janes
}

/// `tenant-owner`'s platform invitations, newest first, as stored.
async fn owner_user_invitations(store: &MemoryStore) -> Vec<UserInvitation> {
    let everything = UserInvitationFilter { inviter: None, state: None, now: NOW };
    let page = PageRequest { skip: 0, count: 100, after: None };
    store.list_user_invitations(&tenant("tenant-owner"), &everything, &page).await.unwrap().items
}

fn history(at: Timestamp, action: &str, user: &str, tenant_id: &str) -> HistoryEntry {
    HistoryEntry {
        at,
        action: action.into(),
        user: Some(UserId::parse("sub", user).unwrap()),
        tenant: Some(tenant(tenant_id)),
    }
}

fn community() -> Community {
    Community {
        id: community_id(),
        name: "Shared Operations".into(),
        description: "Runbooks and on-call data shared between partner tenants.".into(),
        contact_email: Some(email("ops@owner.example")),
        owner: tenant("tenant-owner"),
        created: NOW.plus_days(-30),
        open_invitations: 0,
        members: 1,
        accept_from: AcceptFrom::Recipient,
    }
}

fn membership(c: &Community, tenant_id: &str, status: MemberStatus, contact: &str, joined: Timestamp) -> Membership {
    Membership {
        community_id: c.id,
        tenant: tenant(tenant_id),
        status,
        is_owner: c.owner == tenant(tenant_id),
        contact_email: Some(email(contact)),
        joined,
        community_name: c.name.clone(),
        community_description: c.description.clone(),
        community_created: c.created,
        tenant_name: None,
    }
}

/// An invitation from the owner's administrator, as `create_community_invitation` stores it.
fn invitation(c: &Community, id: &str, recipient: &str, issued: Timestamp) -> CommunityInvitation {
    CommunityInvitation {
        id: InvitationId::parse("invitation", id).unwrap(),
        community_id: c.id,
        community_name: c.name.clone(),
        issuing_tenant: c.owner.clone(),
        recipient: email(recipient),
        state: StoredState::Created,
        issued,
        expires: issued.plus_days(14),
        accepted: None,
        invited_tenant: None,
        accepted_user_email: None,
        accepted_tenant_name: None,
        contact_email: None,
        secret_hash: Secret::generate().hash(),
        last_sent: issued,
        version: 1,
        history: vec![history(issued, "Create", OWNER_ADMIN, "tenant-owner")],
        inviter_email: None,
        // Stored before the outbox existed: the answers show no delivery.
        delivery: None,
        accept_from: AcceptFrom::Recipient,
        earlier_deliveries: Default::default(),
        metadata: None,
        valid_days: None,
        redirect_url: None,
        roles: Vec::new(),
        link_only: false,
        locale: None,
    }
}

/// `inv` accepted for `tenant_id` by `user` at `at`, naming `contact`, with the membership that acceptance adds:
/// awaiting confirmation, or already Active (then the invitation is Completed, the confirmation folded in).
fn accept(
    inv: &CommunityInvitation,
    tenant_id: &str,
    user: &str,
    contact: &str,
    status: MemberStatus,
    at: Timestamp,
) -> Transition {
    let mut next = inv.clone();
    next.version += 1;
    next.state = if status == MemberStatus::Active { StoredState::Completed } else { StoredState::Accepted };
    next.accepted = Some(at);
    next.invited_tenant = Some(tenant(tenant_id));
    next.accepted_user_email = Some(inv.recipient.clone());
    next.contact_email = Some(email(contact));
    next.history.push(history(at, "Accept", user, tenant_id));
    let joined = membership(&community(), tenant_id, status, contact, at);
    Transition {
        invitation: next,
        expected_version: inv.version,
        at,
        require_live: true,
        lock: LockEffect::Release,
        membership: MembershipEffect::Join(Box::new(joined)),
        new_secret: None,
        notifies: true,
        // Created is open; Accepted stays open, Completed (the confirmation folded in) is finished.
        counts: CountChange { open_invitations: if status == MemberStatus::Active { -1 } else { 0 }, members: 1 },
    }
}

/// A fresh store holding the fixture world at `moment`, and the app that serves it with the clock at [`NOW`].
/// The fixture world's one suppressed address (the `lift_suppression` sample names it, its `@` as `%40`).
fn suppressed() -> rsvp::domain::fate::Suppression {
    rsvp::domain::fate::Suppression {
        tenant: tenant("tenant-owner"),
        address: email("old.partner@bounced.example"),
        reason: "bounced".into(),
        diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
        at: NOW,
        invitation: rsvp::domain::InvitationId::parse("id", "7c9e6679-7425-40de-944b-e07fc1f90ae7").unwrap(),
    }
}

async fn world(moment: Moment) -> (Arc<App>, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let c = community();
    let owner = membership(&c, "tenant-owner", MemberStatus::Active, "ops@owner.example", c.created);
    store.create_community(&c, &owner).await.unwrap();

    // tenant-member joined through an invitation that went all the way; recorded here as one step to Completed.
    let joined = NOW.plus_days(-20);
    let member_invitation = invitation(&c, MEMBER_INVITATION, "carol@member.example", joined.plus_days(-1));
    store.create_invitation(&member_invitation, member_invitation.issued).await.unwrap();
    let completed =
        accept(&member_invitation, "tenant-member", CAROL, "ops@member.example", MemberStatus::Active, joined);
    store.apply(&completed).await.unwrap();
    store.put_user_settings(&tenant("tenant-owner"), &owner_settings(), None).await.unwrap();
    // An address whose earlier email bounced for good: the lift_suppression sample lifts it.
    store.suppress(&suppressed()).await.unwrap();

    if moment != Moment::BeforeInvitation {
        // Jane was invited yesterday: her invitation is pending, and a Resend is long past the cooldown.
        let issued = NOW.plus_days(-1);
        store.create_user_invitations(&[jane_invitation(issued)], issued).await.unwrap();
        let mut bobs = invitation(&c, INVITATION, "bob@guest.example", NOW.plus_days(-1));
        bobs.secret_hash = Secret::presented(BOB_TOKEN).hash();
        store.create_invitation(&bobs, bobs.issued).await.unwrap();
        if moment == Moment::Accepted {
            let at = NOW.plus_minutes(-30);
            let accepted =
                accept(&bobs, "tenant-guest", BOB, "ops@guest.example", MemberStatus::AwaitingConfirmation, at);
            store.apply(&accepted).await.unwrap();
        }
    }
    // The template's parameter defaults (claims `tenant_id` and `roles`, no PublicUrl) are `Config::default()`;
    // tests/template.rs holds the template to that.
    let app = App::new(store.clone(), Config::default()).with_clock(Arc::new(FixedClock::at(NOW)));
    (Arc::new(app), store)
}

fn json(response: &Response<Body>) -> Value {
    let text = match response.body() {
        Body::Text(text) => text.as_str(),
        other => panic!("expected a JSON text body, got {other:?}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("a JSON array").iter().map(|item| item["Id"].as_str().expect("an Id")).collect()
}

/// Runs `route` on its sample event against the world at `moment`; the answer and the store afterwards.
async fn send(route: &Route, moment: Moment) -> (Response<Body>, Arc<MemoryStore>) {
    let path = event_path(route);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an HTTP API event: {e}", path.display()));
    let (app, store) = world(moment).await;
    (route.call(app, request).await, store)
}

/// The moment each operation's sample event is written for, the status it must get, and what the answer (or the
/// store afterwards) must show.
async fn check(route: &Route) {
    let op = route.operation;
    let moment = match op {
        "create_community" | "create_community_invitation" | "invite_users" => Moment::BeforeInvitation,
        "list_tenant_accepted_invitations" => Moment::Accepted,
        _ => Moment::Invited,
    };
    let (response, store) = send(route, moment).await;
    let status = response.status();
    let body_text = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let expect = |wanted: StatusCode| assert_eq!(status, wanted, "{op}: unexpected status; body: {body_text}");
    match op {
        "create_community" => {
            expect(StatusCode::CREATED);
            let body = json(&response);
            assert_eq!(body["Name"], "Incident Response");
            assert_ne!(body["Id"], COMMUNITY, "a new community gets a new id");
            assert_eq!(body["Tenants"][0]["Id"], "tenant-owner");
            assert_eq!(body["Tenants"][0]["IsOwner"], true);
            let id = CommunityId::parse("Id", body["Id"].as_str().unwrap()).unwrap();
            assert!(store.get_community(id).await.unwrap().is_some(), "the community was stored");
        }
        "list_communities" => {
            expect(StatusCode::OK);
            assert_eq!(ids(&json(&response)), [COMMUNITY]);
        }
        "get_community" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["Id"], COMMUNITY);
            assert_eq!(body["Name"], "Shared Operations");
            assert_eq!(ids(&body["Tenants"]), ["tenant-member", "tenant-owner"]);
        }
        "update_community" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(
                (body["Id"].as_str(), body["Name"].as_str()),
                (Some(COMMUNITY), Some("Shared Operations Centre"))
            );
            assert_eq!(body["DisplayName"], "Shared Operations Centre");
            assert_eq!(body["ContactEmail"], "ops@owner.example", "a field left out keeps its value");
            assert_eq!(ids(&body["Tenants"]), ["tenant-member", "tenant-owner"]);
            let stored = store.get_community(community_id()).await.unwrap().unwrap();
            assert_eq!(stored.name, "Shared Operations Centre");
            assert!(stored.description.contains("post-mortems"));
        }
        "delete_community" => {
            // The fixture community still has tenant-member and Bob's pending invitation: refused, naming both.
            expect(StatusCode::CONFLICT);
            let reason = json(&response)["Reason"].as_str().unwrap_or_default().to_owned();
            assert!(reason.contains("tenant-member") && reason.contains(INVITATION), "{reason}");
            assert!(store.get_community(community_id()).await.unwrap().is_some(), "nothing was deleted");
        }
        "get_community_summary" => {
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!({"TotalStreams": 0, "StreamsContributed": 0}));
        }
        "search_community_streams" => {
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!([]));
        }
        "list_community_tenants" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), ["tenant-member", "tenant-owner"]);
            assert_eq!(body[1]["IsOwner"], true);
            assert_eq!(body[0]["Status"], "Active");
        }
        "remove_community_tenant" => {
            expect(StatusCode::NO_CONTENT);
            assert!(body_text.is_empty());
            assert!(store.get_membership(community_id(), &tenant("tenant-member")).await.unwrap().is_none());
            assert!(store.get_membership(community_id(), &tenant("tenant-owner")).await.unwrap().is_some());
        }
        "list_community_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            // Newest first: Bob's pending invitation, then the one tenant-member joined through.
            assert_eq!(ids(&body), [INVITATION, MEMBER_INVITATION]);
            assert_eq!(body[0]["State"], "InvitationCreated");
            assert_eq!(body[1]["State"], "InvitationCompleted");
        }
        "create_community_invitation" => {
            expect(StatusCode::CREATED);
            let body = json(&response);
            assert_eq!(body["InvitationRecipient"], "bob@guest.example");
            assert_eq!(body["State"], "InvitationCreated");
            assert_eq!(body["CommunityId"], COMMUNITY);
            // No PublicUrl configured: the link points at the API's own domain from the event.
            let url = body["InvitationUrl"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("https://{DOMAIN}/invite/{}?token=", body["Id"].as_str().unwrap())),
                "{url}"
            );
        }
        "get_community_invitation" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["Id"], INVITATION);
            assert_eq!(body["InvitationRecipient"], "bob@guest.example");
            assert_eq!(body["State"], "InvitationCreated");
        }
        "delete_community_invitation" => {
            expect(StatusCode::NO_CONTENT);
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Deleted);
        }
        "get_invitation_details" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["CommunityId"], COMMUNITY);
            assert_eq!(body["CommunityName"], "Shared Operations");
            assert_eq!(body["InvitationState"], "InvitationCreated");
            assert_eq!(body["ContactEmail"], "ops@owner.example");
        }
        "process_invitation" => {
            // Accept notifies the community's administrators: 202.
            expect(StatusCode::ACCEPTED);
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Accepted);
            assert_eq!(stored.invited_tenant, Some(tenant("tenant-guest")));
            let joined = store.get_membership(community_id(), &tenant("tenant-guest")).await.unwrap().unwrap();
            assert_eq!(joined.status, MemberStatus::AwaitingConfirmation);
            assert_eq!(joined.contact_email, Some(email("ops@guest.example")));
        }
        "list_tenant_accepted_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), [INVITATION]);
            assert_eq!(body[0]["State"], "InvitationAccepted");
            assert_eq!(body[0]["InvitedTenantId"], "tenant-guest");
        }
        "show_invitation_page" => {
            expect(StatusCode::OK);
            let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok());
            assert_eq!(content_type, Some("text/html; charset=utf-8"));
            for text in
                ["Shared Operations", "tenant-owner", "Waiting for an answer", "2026-03-15 09:00 UTC", BOB_TOKEN]
            {
                assert!(body_text.contains(text), "{op}: the page shows {text}");
            }
        }
        "respond_to_invitation_page" => {
            expect(StatusCode::OK);
            assert!(body_text.contains(">Declined<") && !body_text.contains(BOB_TOKEN), "{body_text}");
            let stored = store.get_invitation(invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, StoredState::Declined);
            assert!(stored.history.last().unwrap().by_link_holder(), "recorded as done with the link");
        }
        "invite_users" => {
            // The tenant's settings allow it: Jane is invited, valid for the tenant's InvitedUserValidDays.
            expect(StatusCode::OK);
            assert_eq!(json(&response), serde_json::json!([JANE]), "the answer lists the addresses invited");
            let stored = owner_user_invitations(&store).await;
            assert_eq!(stored.len(), 1, "{stored:?}");
            let janes = &stored[0];
            assert_ne!(janes.id, jane_invitation_id(), "a new invitation gets a new id");
            assert_eq!(janes.recipient, email(JANE));
            assert_eq!(janes.read_state(NOW), UserReadState::Pending);
            assert_eq!(janes.message.as_deref(), Some("You should join this awesome app management platform."));
            assert_eq!(janes.inviter, UserId::parse("sub", OWNER_ADMIN).unwrap());
            assert_eq!(janes.expires, NOW.plus_days(OWNER_VALID_DAYS));
            assert!(janes.delivery.is_some(), "the invitation email waits in the outbox");
        }
        "list_user_invitations" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(ids(&body), [JANE_INVITATION]);
            assert_eq!(body[0]["EmailAddress"], JANE);
            assert_eq!(body[0]["State"], "Pending");
            assert_eq!(body[0]["InvitedBy"], "admin@owner.example");
            assert_eq!(body[0]["BusinessID"], "tenant-owner");
            assert_eq!(body[0]["Expires"], "2026-03-15T09:00:00Z");
            assert!(!body_text.contains(JANE_CODE.split_once('.').unwrap().1), "codes never appear in lists");
        }
        "revoke_user_invitation" => {
            expect(StatusCode::NO_CONTENT);
            assert!(body_text.is_empty());
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Revoked);
            assert_eq!(stored.history.last().map(|h| h.action.as_str()), Some("Revoke"));
            // Its (tenant, recipient) lock is released: Jane may be invited again.
            let (again, _) = UserInvitation::create(&owner_admin(), email(JANE), None, NOW, &owner_settings());
            store.create_user_invitations(&[again], NOW).await.expect("the address is free again");
        }
        "resend_user_invitation" => {
            // A day after it was sent, well past the cooldown: a new code, a new expiry, a new email.
            expect(StatusCode::ACCEPTED);
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.read_state(NOW), UserReadState::Pending);
            assert!(!stored.code_matches(&Secret::presented(JANE_CODE)), "the old code no longer opens it");
            assert_eq!(stored.last_sent, NOW);
            assert_eq!(stored.expires, NOW.plus_days(OWNER_VALID_DAYS));
            assert_eq!(stored.delivery.map(|d| d.seq), Some(2), "a second email is owed");
        }
        "verify_invitation" => {
            // Public: the code alone opens the invitation; verifying uses nothing up.
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["EmailAddress"], JANE);
            assert_eq!(body["State"], "Pending");
            assert_eq!(body["InvitedBy"], "admin@owner.example");
            assert_eq!(body["BusinessID"], "tenant-owner");
            assert_eq!(body["BusinessName"], "Owner Corp");
            assert_eq!(body["Message"], "You should join this awesome app management platform.");
            assert_eq!(body["Expires"], "2026-03-15T09:00:00Z");
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Pending);
        }
        "accept_user_invitation" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["EmailAddress"], JANE);
            assert_eq!(body["FirstName"], "Jane");
            assert_eq!(body["LastName"], "Mead");
            assert_eq!(body["BusinessID"], "tenant-owner");
            assert_eq!(body["State"], "Accepted");
            let stored = store.get_user_invitation(jane_invitation_id()).await.unwrap().unwrap();
            assert_eq!(stored.state, UserInvitationState::Accepted);
            assert_eq!(stored.accepted, Some(NOW));
            assert_eq!((stored.first_name.as_deref(), stored.last_name.as_deref()), (Some("Jane"), Some("Mead")));
        }
        "get_business_settings" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["BusinessID"], "tenant-owner");
            let user = &body["UserSettings"];
            assert_eq!(user["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(user["InvitedUserValidDays"], OWNER_VALID_DAYS);
            assert_eq!(user["MaxInvitationsPerDay"], UserSettings::default().max_invitations_per_day);
            assert_eq!(body["SecuritySettings"]["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(body["SecuritySettings"]["AllowedEmailDomains"], serde_json::json!([]));
        }
        "update_user_settings" => {
            expect(StatusCode::OK);
            let body = json(&response);
            assert_eq!(body["InviteUnregisteredUsers"], "com.soa.feature.enabled");
            assert_eq!(body["InvitedUserValidDays"], 7);
            let (stored, version) = store.get_user_settings(&tenant("tenant-owner")).await.unwrap().unwrap();
            let wanted = UserSettings { invited_user_valid_days: 7, ..owner_settings() };
            assert_eq!(stored, wanted, "only the settings the body names change");
            assert_eq!(version, 2, "saved over the fixture's version 1");
        }
        "lift_suppression" => {
            expect(StatusCode::NO_CONTENT);
            let address = suppressed().address;
            let left = store.suppressions(&tenant("tenant-owner"), &[&address]).await.unwrap();
            assert_eq!(left, [], "the address gets the tenant's mail again");
        }
        other => panic!("{other} has no expectation here: add its sample event's expected answer"),
    }
}

#[tokio::test]
async fn every_sample_event_succeeds_with_its_own_handler() {
    for route in ROUTES {
        match route.kind {
            Kind::Portal | Kind::PortalPublic => check_portal(route).await,
            Kind::Api | Kind::Public | Kind::Page => check(route).await,
        }
    }
}

#[test]
fn every_route_has_exactly_one_event_file_and_there_are_no_others() {
    let dir = repo_root().join("events");
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut wanted: BTreeSet<String> =
        ROUTES.iter().map(|r| format!("{}.json", r.operation.replace('_', "-"))).collect();
    // The stream consumer's sample (a DynamoDB stream batch), driven by tests/email.rs.
    wanted.insert("deliver-emails.json".to_owned());
    // SES's records of a sent message as EventBridge delivers them (from AWS's documented examples, tagged as rsvp
    // tags its messages), driven by tests/published_events.rs.
    for sample in ["bounce", "complaint", "delivery"] {
        wanted.insert(format!("record-mail-fate-{sample}.json"));
    }
    // The portal routes' authorizer's samples (the three token placements and a forged token), driven by
    // tests/authorizer.rs.
    for sample in ["bearer", "esri-header", "token-parameter", "bad-token"] {
        wanted.insert(format!("portal-authorizer-{sample}.json"));
    }
    assert_eq!(found, wanted);
}

/// The event's route and path parameters are the ones API Gateway would send for this route: an event copied from
/// another operation and half edited is caught here rather than by a confusing 404 in the console.
#[test]
fn every_event_is_shaped_for_its_route() {
    for route in ROUTES {
        let path = event_path(route);
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.display();
        let route_key = format!("{} {}", route.method, route.path);
        assert_eq!(event["version"], "2.0", "{name}");
        assert_eq!(event["routeKey"], route_key.as_str(), "{name}");
        assert_eq!(event["requestContext"]["routeKey"], route_key.as_str(), "{name}");
        // An `ANY` route is sent whatever method the caller used.
        if route.method != "ANY" {
            assert_eq!(event["requestContext"]["http"]["method"], route.method, "{name}");
        }
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}");
        let raw_path = event["rawPath"].as_str().unwrap();
        assert_eq!(event["requestContext"]["http"]["path"], raw_path, "{name}");
        let params = if route.path.ends_with("/{proxy+}") {
            rsvp::routes::find_greedy(raw_path).filter(|(r, _)| r.operation == route.operation).map(|(_, p)| p)
        } else {
            rsvp::routes::match_path(route.path, raw_path)
        }
        .unwrap_or_else(|| panic!("{name}: rawPath does not match"));
        let declared = event.get("pathParameters").cloned().unwrap_or(Value::Object(Default::default()));
        let expected: serde_json::Map<String, Value> = params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        assert_eq!(declared, Value::Object(expected), "{name}: pathParameters");
        let has_body = event.get("body").is_some_and(|b| !b.is_null());
        assert_eq!(has_body, event["headers"].get("content-type").is_some(), "{name}: a body goes with a content-type");
        if !matches!(route.kind, Kind::Api | Kind::Portal) {
            // Public routes have no authorizer: API Gateway sends neither claims nor the caller's Authorization.
            assert!(event["requestContext"].get("authorizer").is_none(), "{name}: a public route has no authorizer");
            assert!(event["headers"].get("authorization").is_none(), "{name}");
        } else {
            let authorizer = &event["requestContext"]["authorizer"];
            // The API routes' claims come from the JWT authorizer, the portal routes' from their Lambda
            // authorizer's context (rsvp::authorizer), flattened to strings alike.
            let claims = if route.kind == Kind::Portal {
                assert!(authorizer.get("jwt").is_none(), "{name}: the portal routes have their own authorizer");
                &authorizer["lambda"]
            } else {
                assert!(authorizer["jwt"]["scopes"].is_null(), "{name}");
                &authorizer["jwt"]["claims"]
            };
            for claim in ["sub", "email", "tenant_id", "roles"] {
                assert!(claims[claim].is_string(), "{name}: claim {claim} (API Gateway flattens claims to strings)");
            }
            if route.kind == Kind::Portal {
                assert_eq!(claims["roles"], "[PortalAdministrator]", "{name}: the portal routes need the role");
            }
        }
        let at = event["requestContext"]["timeEpoch"].as_i64().unwrap();
        assert!(
            (NOW.millis()..NOW.plus_minutes(10).millis()).contains(&at),
            "{name}: sent at the fixture world's time"
        );
    }
}

// The portal world: two deployments of rsvp configured as portals. The owner's portal hosts collaboration
// `eefa7ebb…` ("Flood Response", one workspace) and invites the guest's portal; the guest's portal accepts and
// answers with its response file, which the host imports. Each portal event is sent to one of the two.

/// The owner's portal (`RSVP_PORTAL_*`), which hosts the collaboration.
const HOST_PORTAL: &str = "owner-portal";
const HOST_URL: &str = "https://portal.owner.example";
const HOST_NAME: &str = "Owner Corp portal";
/// The guest's portal, which the host invites.
const GUEST_PORTAL: &str = "guest-portal";
const GUEST_URL: &str = "https://portal.guest.example";
const GUEST_NAME: &str = "Guest Ltd portal";
/// The collaboration, its workspace and the host's invitation of the guest portal (ArcGIS ids: 32 hex digits).
const COLLABORATION: &str = "eefa7ebb30aa435382cc9b27ffa95e3e";
const WORKSPACE: &str = "b2f1c6d84e0a4f3b9c7d5e1a0f2b4c68";
const COLLABORATION_INVITATION: &str = "4c2d9e7f1b8a4e6d9f0c3b5a7d1e2f48";
/// The secret nonce in the host's invitation file, which the guest's response echoes.
const NONCE: &str = "Tq8Vn2Lx5Rk9Wb3Hm7Zc1Fp4Jd6Gs0Ya8Ue2Oi5Kt7Q";
/// The portals' signing keys (PKCS#8 DER, base64): fixture keys made for these events only, which signed the files
/// in them (a deployed portal's key never leaves KMS). The local signer's ECDSA is deterministic (RFC 6979), so a
/// file signed again with them is byte for byte the one in the event.
const HOST_SIGNING_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbthWSC3ryzgVKb7vgRKah/+g8woMCh0uttY1Vol4iwihRANCAASpTzAwPeBr3b/oEidAFs1L28pY0jo6ZXWF+ivaPN/EVaB5OmJlueDF/dGmGjZ4A2p35dGPgKvKKhR6k4FgZxM4";
const GUEST_SIGNING_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkd+n9sw50os/r7S3Y7B1yrk7jEQDjjB9jRSHK/1Q/gShRANCAARiu7G9TUlclU22GY7AjfnI5oO8ayykNNjN3SZl+5FaHVV6G3or7ng3eq8R8n7qKTrqEMSe6H98cCVBHDi8Lm2d";

/// How far the portals' story has got when a portal event is sent, and to which portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortalMoment {
    /// The host portal, which hosts nothing yet.
    HostEmpty,
    /// The host portal hosts the collaboration and has invited no one.
    HostCollaboration,
    /// ...and has invited the guest portal an hour ago, for 24 hours: the invitation is live.
    HostInvited,
    /// ...and has imported the guest's response: the guest portal takes part.
    HostJoined,
    /// The guest portal, holding the host's invitation file; it keeps nothing yet.
    GuestInvited,
    /// The guest portal, which accepted the invitation half an hour ago.
    GuestJoined,
}

fn portal_url(url: &str) -> PortalUrl {
    PortalUrl::parse("url", url, false).unwrap()
}

fn host_portal() -> Portal {
    Portal { id: PortalId::parse("id", HOST_PORTAL).unwrap(), url: portal_url(HOST_URL), name: HOST_NAME.into() }
}

fn guest_portal() -> Portal {
    Portal { id: PortalId::parse("id", GUEST_PORTAL).unwrap(), url: portal_url(GUEST_URL), name: GUEST_NAME.into() }
}

fn collaboration_id() -> CollaborationId {
    CollaborationId::parse("collaborationId", COLLABORATION).unwrap()
}

fn workspace_id() -> WorkspaceId {
    WorkspaceId::parse("workspace", WORKSPACE).unwrap()
}

fn collaboration_invitation_id() -> CollaborationInvitationId {
    CollaborationInvitationId::parse("invitationId", COLLABORATION_INVITATION).unwrap()
}

/// A portal's signer with its fixture key, loaded as the local server loads its key file.
fn signer(pkcs8: &str) -> LocalSigner {
    let dir = std::env::temp_dir().join(format!("rsvp-events-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(LOCAL_KEY_FILE), STANDARD.decode(pkcs8).unwrap()).unwrap();
    let signer = LocalSigner::load_or_create(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    signer
}

async fn public_key(pkcs8: &str) -> String {
    signer(pkcs8).public_key().await.unwrap().to_base64()
}

/// Whether `signature` (base64) is `key`'s (base64 SubjectPublicKeyInfo) over `message`, as a portal checks a file.
fn verifies(key: &str, message: &[u8], signature: &str) -> bool {
    let (Ok(key), Ok(signature)) = (PublicKey::from_base64(key), STANDARD.decode(signature)) else { return false };
    key.verify(message, &signature)
}

fn host_contact() -> Contact {
    Contact::parse("Olivia", "Owner", "admin@owner.example").unwrap()
}

fn guest_contact() -> Contact {
    Contact::parse("Bob", "Guest", "bob@guest.example").unwrap()
}

/// The collaboration as its host made it a week ago, with one workspace.
fn host_collaboration() -> Collaboration {
    let mut workspace = Workspace::create("Incident maps", Some("Flood extents and road closures.")).unwrap();
    workspace.id = workspace_id();
    let description = Some("Maps shared with partner portals during floods.");
    let created = NOW.plus_days(-7);
    let mut c = Collaboration::create(host_portal(), "Flood Response", description, workspace, host_contact(), created)
        .unwrap();
    c.id = collaboration_id();
    c
}

/// The guest portal's access: send and receive in the one workspace.
fn guest_access() -> Vec<(WorkspaceId, AccessMode)> {
    vec![(workspace_id(), AccessMode::SendAndReceive)]
}

/// The host's invitation of the guest portal, made an hour ago for 24 hours, as `inviteParticipant` signs it (with
/// the events' id and nonce): the request, its signature and the file the guest was sent.
async fn invitation_file() -> (InvitationRequest, String, String) {
    let host = signer(HOST_SIGNING_KEY);
    let key = host.public_key().await.unwrap().to_base64();
    let (mut request, _) = CollaborationInvitation::request(
        &host_collaboration(),
        portal_url(GUEST_URL),
        &guest_access(),
        key,
        NOW.plus_minutes(-60),
        24,
    )
    .unwrap();
    request.id = collaboration_invitation_id();
    request.nonce = NONCE.to_owned();
    let payload = serde_json::to_string(&request).unwrap();
    let signature = STANDARD.encode(host.sign(payload.as_bytes()).await.unwrap());
    let file = signed_file("invitationRequest", &payload, &signature);
    (request, signature, file)
}

/// The guest's response, as `exportInvitationResponse` writes it at [`NOW`], and the signed file.
async fn response_file() -> (InvitationResponse, String) {
    let guest = signer(GUEST_SIGNING_KEY);
    let contact = guest_contact();
    let response = InvitationResponse {
        invitation_id: collaboration_invitation_id(),
        collaboration_id: collaboration_id(),
        nonce: NONCE.to_owned(),
        guest_portal_id: guest_portal().id,
        guest_portal_url: guest_portal().url,
        guest_portal_name: GUEST_NAME.to_owned(),
        public_key: guest.public_key().await.unwrap().to_base64(),
        contact_firstname: contact.first_name,
        contact_lastname: contact.last_name,
        contact_email_address: contact.email.to_string(),
        created: NOW.millis(),
    };
    let payload = serde_json::to_string(&response).unwrap();
    let signature = STANDARD.encode(guest.sign(payload.as_bytes()).await.unwrap());
    (response, signed_file("invitationResponse", &payload, &signature))
}

/// A fresh store holding the portal world at `moment`, and the app of the portal it is (with that portal's key).
async fn portal_world(moment: PortalMoment) -> (Arc<App>, Arc<MemoryStore>) {
    use PortalMoment::*;
    let store = Arc::new(MemoryStore::new());
    let on_host = matches!(moment, HostEmpty | HostCollaboration | HostInvited | HostJoined);
    let (this, key) = if on_host { (host_portal(), HOST_SIGNING_KEY) } else { (guest_portal(), GUEST_SIGNING_KEY) };
    let config = Config { portal: Some(this), ..Config::default() };
    let app =
        App::new(store.clone(), config).with_clock(Arc::new(FixedClock::at(NOW))).with_signer(Arc::new(signer(key)));
    let nonce = Secret::presented(NONCE);
    let sealed = app.sealer.seal(collaboration_invitation_id().as_invitation_id(), &nonce).await.unwrap();
    let (request, signature, _) = invitation_file().await;
    match moment {
        HostEmpty | GuestInvited => {}
        HostCollaboration | HostInvited | HostJoined => {
            store.put_collaboration(&host_collaboration(), None).await.unwrap();
            if moment != HostCollaboration {
                let invitation = CollaborationInvitation::issued(request, guest_access(), signature, &nonce, sealed);
                store.create_collaboration_invitation(&invitation).await.unwrap();
                if moment == HostJoined {
                    let (response, _) = response_file().await;
                    let imported = invitation.import(&response, NOW).unwrap();
                    let guest = Participant {
                        collaboration_id: collaboration_id(),
                        portal: guest_portal(),
                        side: Side::Guest,
                        public_key: response.public_key.clone(),
                        contact: guest_contact(),
                        access: guest_access(),
                        invitation_id: invitation.id,
                        joined: NOW,
                        sealed_nonce: None,
                        host_portal_id: Some(host_portal().id),
                    };
                    store.update_collaboration_invitation(&imported, invitation.version, Some(&guest)).await.unwrap();
                }
            }
        }
        GuestJoined => {
            let at = NOW.plus_minutes(-30);
            let joined = Collaboration::joined(&request, guest_contact(), at).unwrap();
            let host = Participant {
                collaboration_id: collaboration_id(),
                portal: host_portal(),
                side: Side::Host,
                public_key: request.public_key.clone(),
                contact: host_contact(),
                access: guest_access(),
                invitation_id: collaboration_invitation_id(),
                joined: at,
                sealed_nonce: Some(sealed),
                host_portal_id: None,
            };
            store.join_collaboration(&joined, &host).await.unwrap();
        }
    }
    (Arc::new(app), store)
}

/// A form-encoded (`application/x-www-form-urlencoded`) body's parameters.
fn form_params(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("a %XX escape");
                    out.push(u8::from_str_radix(hex, 16).expect("a %XX escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// An event's form-encoded body (base64, as API Gateway sends a form), as parameters.
fn event_form(route: &Route) -> Vec<(String, String)> {
    let event: Value = serde_json::from_str(&std::fs::read_to_string(event_path(route)).unwrap()).unwrap();
    assert_eq!(event["isBase64Encoded"], true, "{}: a form arrives base64-encoded", route.operation);
    form_params(&STANDARD.decode(event["body"].as_str().unwrap()).unwrap())
}

fn form_value(form: &[(String, String)], name: &str) -> String {
    form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name}"))
}

/// A download's file name and its text.
fn download(response: &Response<Body>) -> (String, String) {
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/octet-stream");
    let disposition = headers["content-disposition"].to_str().unwrap().to_owned();
    let name = disposition
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not an attachment: {disposition}"))
        .to_owned();
    let Body::Text(text) = response.body() else { panic!("a file is text") };
    (name, text.clone())
}

/// A signed file's payload (its exact text) and signature.
fn signed_parts(file: &str, field: &str) -> (String, String) {
    let parts: std::collections::HashMap<String, Box<RawValue>> =
        serde_json::from_str(file).unwrap_or_else(|e| panic!("the file is not JSON ({e}): {file}"));
    let payload = parts.get(field).unwrap_or_else(|| panic!("no {field}: {file}")).get().to_owned();
    let signature = serde_json::from_str(parts.get("signature").expect("a signature").get()).unwrap();
    (payload, signature)
}

/// Runs a portal route on its sample event against the portal world at `moment`.
async fn send_portal(route: &Route, moment: PortalMoment) -> (Response<Body>, Arc<App>, Arc<MemoryStore>) {
    let path = event_path(route);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an HTTP API event: {e}", path.display()));
    let (app, store) = portal_world(moment).await;
    (route.call(app.clone(), request).await, app, store)
}

/// As [`check`], for the portal routes: the portal and moment each event is written for, and what it must show.
async fn check_portal(route: &Route) {
    use PortalMoment::*;
    let op = route.operation;
    let moment = match op {
        "get_portal_self"
        | "create_collaboration"
        | "get_portal_root"
        | "get_portal_info"
        | "get_portal_user"
        | "get_portal_admin"
        | "portal_not_found" => HostEmpty,
        "list_collaborations" | "get_collaboration" | "add_workspace" | "invite_participant" => HostCollaboration,
        "list_participants" | "remove_participant" | "list_workspaces" | "get_workspace" | "get_participant" => {
            HostJoined
        }
        "validate_collaboration_invitation" | "accept_collaboration_invitation" => GuestInvited,
        "export_invitation_response" | "remove_participation" => GuestJoined,
        _ => HostInvited,
    };
    let (response, app, store) = send_portal(route, moment).await;
    let status = response.status();
    let body_text = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    // The one event whose answer is a refusal: a path no portal resource has.
    let wanted = if op == "portal_not_found" { StatusCode::NOT_FOUND } else { StatusCode::OK };
    assert_eq!(status, wanted, "{op}: unexpected status; body: {body_text}");
    let collaboration = collaboration_id();
    let (_, _, invitation_file) = invitation_file().await;
    let (_, response_file) = response_file().await;
    match op {
        "get_portal_self" => {
            // Public: other portals read the key that checks this portal's files.
            let body = json(&response);
            assert_eq!(body["id"], HOST_PORTAL);
            assert_eq!(body["name"], HOST_NAME);
            assert_eq!(body["url"], HOST_URL);
            assert_eq!(body["publicKey"], public_key(HOST_SIGNING_KEY).await);
            let (payload, _) = signed_parts(&invitation_file, "invitationRequest");
            let request: Value = serde_json::from_str(&payload).unwrap();
            assert_eq!(body["publicKey"], request["publicKey"], "the key in the host's invitation file");
            assert_eq!(body["portalName"], HOST_NAME);
            assert!(body.get("user").is_none(), "an anonymous caller is named nowhere");
        }
        "create_collaboration" => {
            let body = json(&response);
            assert_eq!(body["success"], true);
            let c = &body["collaboration"];
            assert_eq!(c["name"], "Wildfire Watch");
            assert_eq!(c["participantType"], "host");
            assert_eq!(c["collaborationHostPortalId"], HOST_PORTAL);
            assert_eq!(c["workspaces"][0]["name"], "Fire perimeters");
            assert_eq!(c["created"], NOW.millis());
            let id = CollaborationId::parse("id", c["id"].as_str().unwrap()).unwrap();
            let stored = store.get_collaboration(id).await.unwrap().expect("the collaboration was stored");
            assert_eq!(stored.host_contact, host_contact());
            assert_eq!(stored.side, Side::Host);
        }
        "list_collaborations" => {
            let body = json(&response);
            assert_eq!(
                (body["total"].as_u64(), body["start"].as_u64(), body["nextStart"].as_i64()),
                (Some(1), Some(1), Some(-1))
            );
            assert_eq!(body["collaborations"][0]["id"], COLLABORATION);
            assert_eq!(body["collaborations"][0]["name"], "Flood Response");
        }
        "get_collaboration" => {
            let body = json(&response);
            assert_eq!(body["id"], COLLABORATION);
            assert_eq!(body["participantType"], "host");
            assert_eq!(body["workspaces"][0]["id"], WORKSPACE);
            assert_eq!(body["workspaces"][0]["name"], "Incident maps");
        }
        "add_workspace" => {
            let body = json(&response);
            assert_eq!(body["workspace"]["name"], "Shelters");
            let stored = store.get_collaboration(collaboration).await.unwrap().unwrap();
            let names: Vec<_> = stored.workspaces.iter().map(|w| w.name.as_str()).collect();
            assert_eq!(names, ["Incident maps", "Shelters"]);
            assert_eq!(stored.version, 2);
        }
        "invite_participant" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.invite");
            let (payload, signature) = signed_parts(&file, "invitationRequest");
            let request: InvitationRequest = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&request.public_key, payload.as_bytes(), &signature), "signed with its own key");
            assert_eq!(request.public_key, public_key(HOST_SIGNING_KEY).await, "by the host portal");
            assert_eq!(request.guest_portal_url, portal_url(GUEST_URL));
            assert_eq!(request.collaboration_id, collaboration);
            assert_eq!(request.expiration, NOW.plus_minutes(24 * 60).millis());
            let access = &request.collaboration_workspace_configs.access_mode;
            assert_eq!((access.len(), access[0].collaboration_workspace_id), (1, workspace_id()));
            assert_eq!(access[0].access_mode, AccessMode::SendAndReceive);
            let stored = store.list_collaboration_invitations(collaboration).await.unwrap();
            assert_eq!(stored.len(), 1);
            assert_eq!(stored[0].id, request.id);
            assert!(
                stored[0].nonce_hash.verifies(&Secret::presented(&request.nonce)),
                "the file's nonce is kept hashed"
            );
            assert!(stored[0].request.nonce.is_empty(), "and not in clear");
        }
        "list_collaboration_invitations" => {
            let body = json(&response);
            assert_eq!(body["total"], 1);
            let invitation = &body["collaborationInvitations"][0];
            assert_eq!(invitation["id"], COLLABORATION_INVITATION);
            assert_eq!(invitation["status"], "host_created");
            assert_eq!(invitation["guestPortalUrl"], GUEST_URL);
            assert!(invitation.get("invitationString").is_none() && !body_text.contains(NONCE), "lists carry no file");
        }
        "get_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["id"], COLLABORATION_INVITATION);
            assert_eq!(body["status"], "host_created");
            assert_eq!(body["config"]["invitationRequestFilename"], "collaboration-portal.guest.example.invite");
            // Rebuilt byte for byte: the very file the guest portal's accept event carries.
            let accepted = event_form(&rsvp::routes::ACCEPT_COLLABORATION_INVITATION);
            assert_eq!(body["invitationString"], form_value(&accepted, "invitationJSON"));
            assert_eq!(body["invitationString"], invitation_file.as_str());
        }
        "invalidate_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["success"], true);
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Invalidated);
        }
        "refresh_collaboration_invitation" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.invite");
            let (payload, signature) = signed_parts(&file, "invitationRequest");
            let request: InvitationRequest = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&public_key(HOST_SIGNING_KEY).await, payload.as_bytes(), &signature));
            assert_eq!(request.id, collaboration_invitation_id(), "the same invitation");
            assert_eq!(request.expiration, NOW.plus_minutes(72 * 60).millis(), "72 hours from now");
            assert_ne!(request.nonce, NONCE, "a new nonce");
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert!(stored.nonce_hash.verifies(&Secret::presented(&request.nonce)));
            assert!(!stored.nonce_hash.verifies(&Secret::presented(NONCE)), "the old file, and its response, died");
            assert_eq!(stored.expiration, NOW.plus_minutes(72 * 60));
        }
        "validate_collaboration_invitation" => {
            // The guest portal checks the host's file (signature, expiry, addressee, and the key by the fingerprint
            // its administrator passed: the host is not reachable from here) and keeps nothing.
            let fingerprint =
                form_value(&event_form(&rsvp::routes::VALIDATE_COLLABORATION_INVITATION), "hostKeyFingerprint");
            assert_eq!(json(&response), serde_json::json!({"success": true, "hostKeyFingerprint": fingerprint}));
            assert!(store.list_collaborations().await.unwrap().is_empty());
        }
        "accept_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["collaborationId"], COLLABORATION);
            let joined = store.get_collaboration(collaboration).await.unwrap().expect("the guest keeps it");
            assert_eq!(joined.side, Side::Guest);
            assert_eq!(joined.host, host_portal());
            assert_eq!(joined.guest_contact, Some(guest_contact()));
            let participants = store.list_participants(collaboration).await.unwrap();
            assert_eq!(participants.len(), 1);
            let host = &participants[0];
            assert_eq!((host.portal.id.as_str(), host.side), (HOST_PORTAL, Side::Host));
            assert_eq!(host.public_key, public_key(HOST_SIGNING_KEY).await);
            let sealed = host.sealed_nonce.as_deref().expect("the nonce, sealed for the response");
            assert!(!sealed.contains(NONCE));
            let opened = app.sealer.unseal(collaboration_invitation_id().as_invitation_id(), sealed).await.unwrap();
            assert_eq!(opened.expose(), NONCE);
        }
        "export_invitation_response" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.response");
            let (payload, signature) = signed_parts(&file, "invitationResponse");
            let exported: InvitationResponse = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&public_key(GUEST_SIGNING_KEY).await, payload.as_bytes(), &signature));
            assert_eq!((exported.invitation_id, exported.nonce.as_str()), (collaboration_invitation_id(), NONCE));
            assert_eq!(exported.guest_portal_id.as_str(), GUEST_PORTAL);
            // The very response the host portal's import event carries.
            let imported = event_form(&rsvp::routes::IMPORT_INVITATION_RESPONSE);
            let (wanted, _) = signed_parts(&form_value(&imported, "invitationResponseJSON"), "invitationResponse");
            assert_eq!(payload, wanted);
            assert_eq!(file, response_file);
        }
        "validate_invitation_response" => {
            let fingerprint =
                form_value(&event_form(&rsvp::routes::VALIDATE_INVITATION_RESPONSE), "guestKeyFingerprint");
            assert_eq!(json(&response), serde_json::json!({"success": true, "guestKeyFingerprint": fingerprint}));
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Created, "validating imports nothing");
            assert!(store.list_participants(collaboration).await.unwrap().is_empty());
        }
        "import_invitation_response" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Imported);
            assert_eq!(stored.guest_portal_id.as_ref().map(PortalId::as_str), Some(GUEST_PORTAL));
            let participants = store.list_participants(collaboration).await.unwrap();
            assert_eq!(participants.len(), 1);
            assert_eq!((participants[0].portal.clone(), participants[0].side), (guest_portal(), Side::Guest));
            assert_eq!(participants[0].contact, guest_contact());
            assert_eq!(participants[0].access, guest_access());
        }
        "list_participants" => {
            let body = json(&response);
            assert_eq!(body["total"], 2, "the host itself and its guest");
            let host = &body["participants"][0];
            assert_eq!(host["portalInfo"]["id"], HOST_PORTAL);
            assert_eq!(host["collaborationRole"], "Host");
            assert_eq!(host["config"]["contactEmailAddress"], "admin@owner.example");
            let guest = &body["participants"][1];
            assert_eq!(guest["collaborationId"], COLLABORATION);
            assert_eq!(guest["portalInfo"]["id"], GUEST_PORTAL);
            assert_eq!(guest["portalInfo"]["url"], GUEST_URL);
            assert_eq!(guest["portalInfo"]["name"], GUEST_NAME);
            assert_eq!(guest["collaborationRole"], "Guest");
            assert_eq!(guest["status"], "active");
            assert_eq!(guest["config"]["contactEmailAddress"], "bob@guest.example");
            assert_eq!(guest["config"]["contactFirstname"], "Bob");
            assert_eq!(guest["created"], NOW.millis());
        }
        "get_participant" => {
            let body = json(&response);
            assert_eq!(body["portalInfo"]["id"], GUEST_PORTAL);
            assert_eq!(body["collaborationRole"], "Guest");
            assert_eq!(body["config"]["contactLastname"], "Guest");
        }
        "list_workspaces" | "get_workspace" => {
            let body = json(&response);
            let workspace = if op == "list_workspaces" {
                assert_eq!((body["total"].as_u64(), body["nextStart"].as_i64()), (Some(1), Some(-1)));
                body["workspaces"][0].clone()
            } else {
                body
            };
            assert_eq!(workspace["id"], WORKSPACE);
            assert_eq!(workspace["name"], "Incident maps");
            assert_eq!(workspace["collaborationId"], COLLABORATION);
            assert_eq!(
                workspace["participantsWithoutGroupLinks"],
                serde_json::json!([{"portalId": GUEST_PORTAL, "accessMode": "sendAndReceive"}])
            );
        }
        "get_portal_admin" => assert_eq!(json(&response)["resources"], serde_json::json!([])),
        "get_portal_root" => assert_eq!(json(&response)["currentVersion"], env!("CARGO_PKG_VERSION")),
        "get_portal_info" => {
            let body = json(&response);
            assert_eq!(body["authInfo"]["isTokenBasedSecurity"], true);
            assert_eq!(body["owningSystemUrl"], HOST_URL);
        }
        "get_portal_user" => {
            let body = json(&response);
            assert_eq!(body["username"], "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80");
            assert_eq!(body["email"], "admin@owner.example");
            assert_eq!(body["role"], "org_admin");
            assert_eq!(body["privileges"], serde_json::json!(["portal:admin:manageCollaborations"]));
            assert_eq!(body["orgId"], HOST_PORTAL);
        }
        "portal_not_found" => {
            let body = json(&response);
            assert_eq!(body["error"]["code"], 404);
            assert!(body["error"]["message"].as_str().unwrap().contains("/sharing/rest/content/items/"));
            assert!(body["error"]["details"].is_array());
        }
        "remove_participant" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            assert!(store.list_participants(collaboration).await.unwrap().is_empty());
            assert!(store.get_collaboration(collaboration).await.unwrap().is_some(), "the collaboration stays");
        }
        "remove_participation" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            assert!(store.get_collaboration(collaboration).await.unwrap().is_none(), "the guest forgot it");
            assert!(store.list_participants(collaboration).await.unwrap().is_empty(), "and its host");
        }
        other => panic!("{other} has no expectation here: add its sample event's expected answer"),
    }
}
