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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use rsvp::app::{App, Config};
use rsvp::domain::{
    Community, CommunityId, Email, FixedClock, HistoryEntry, Invitation, InvitationId, LockEffect, MemberStatus,
    Membership, MembershipEffect, Principal, Role, Secret, SettingsChange, StoredState, TenantId, Timestamp,
    Transition, UserId, UserInvitation, UserInvitationState, UserReadState, UserSettings,
};
use rsvp::routes::{Kind, ROUTES, Route};
use rsvp::store::memory::MemoryStore;
use rsvp::store::{PageRequest, Store, UserInvitationFilter};
use serde_json::Value;

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
    }
}

/// An invitation from the owner's administrator, as `create_community_invitation` stores it.
fn invitation(c: &Community, id: &str, recipient: &str, issued: Timestamp) -> Invitation {
    Invitation {
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
    }
}

/// `inv` accepted for `tenant_id` by `user` at `at`, naming `contact`, with the membership that acceptance adds:
/// awaiting confirmation, or already Active (then the invitation is Completed, the confirmation folded in).
fn accept(
    inv: &Invitation,
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
    }
}

/// A fresh store holding the fixture world at `moment`, and the app that serves it with the clock at [`NOW`].
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
            for text in ["Shared Operations", "tenant-owner", "InvitationCreated", "2026-03-15 09:00 UTC", BOB_TOKEN] {
                assert!(body_text.contains(text), "{op}: the page shows {text}");
            }
        }
        "respond_to_invitation_page" => {
            expect(StatusCode::OK);
            assert!(body_text.contains("InvitationDeclined") && !body_text.contains(BOB_TOKEN), "{body_text}");
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
        other => panic!("{other} has no expectation here: add its sample event's expected answer"),
    }
}

#[tokio::test]
async fn every_sample_event_succeeds_with_its_own_handler() {
    for route in ROUTES {
        check(route).await;
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
        assert_eq!(event["requestContext"]["http"]["method"], route.method, "{name}");
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}");
        let raw_path = event["rawPath"].as_str().unwrap();
        assert_eq!(event["requestContext"]["http"]["path"], raw_path, "{name}");
        let params =
            rsvp::routes::match_path(route.path, raw_path).unwrap_or_else(|| panic!("{name}: rawPath does not match"));
        let declared = event.get("pathParameters").cloned().unwrap_or(Value::Object(Default::default()));
        let expected: serde_json::Map<String, Value> = params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        assert_eq!(declared, Value::Object(expected), "{name}: pathParameters");
        let has_body = event.get("body").is_some_and(|b| !b.is_null());
        assert_eq!(has_body, event["headers"].get("content-type").is_some(), "{name}: a body goes with a content-type");
        if route.kind != Kind::Api {
            // Public routes have no authorizer: API Gateway sends neither claims nor the caller's Authorization.
            assert!(event["requestContext"].get("authorizer").is_none(), "{name}: a public route has no authorizer");
            assert!(event["headers"].get("authorization").is_none(), "{name}");
        } else {
            let claims = &event["requestContext"]["authorizer"]["jwt"]["claims"];
            for claim in ["sub", "email", "tenant_id", "roles"] {
                assert!(claims[claim].is_string(), "{name}: claim {claim} (API Gateway flattens claims to strings)");
            }
            assert!(event["requestContext"]["authorizer"]["jwt"]["scopes"].is_null(), "{name}");
        }
        let at = event["requestContext"]["timeEpoch"].as_i64().unwrap();
        assert!(
            (NOW.millis()..NOW.plus_minutes(10).millis()).contains(&at),
            "{name}: sent at the fixture world's time"
        );
    }
}
