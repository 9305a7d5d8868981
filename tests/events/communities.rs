//! The fixture world of communities and invitations that the API, public and page events are written for (see the
//! crate's documentation), the [`Moment`] of its story each event is sent at, and [`send`], which runs a route's
//! sample event against it.

use std::sync::Arc;

use lambda_http::{Body, Response};
use rsvp::app::{App, Config};
use rsvp::domain::{
    AcceptFrom, Community, CommunityId, CommunityInvitation, CountChange, Email, FixedClock, HistoryEntry,
    InvitationId, LockEffect, MemberStatus, Membership, MembershipEffect, Secret, StoredState, TenantId, Timestamp,
    Transition, UserId,
};
use rsvp::routes::Route;
use rsvp::store::memory::MemoryStore;
use rsvp::store::{CommunityStore, SuppressionStore, UserInvitationStore};

use crate::sample::{NOW, request};
use crate::users::{jane_invitation, owner_settings};

pub(crate) const COMMUNITY: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
pub(crate) const INVITATION: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
/// The completed invitation through which `tenant-member` joined.
pub(crate) const MEMBER_INVITATION: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
pub(crate) const DOMAIN: &str = "r7x2k9q4mb.execute-api.us-east-1.amazonaws.com";
/// The secret in the link emailed to Bob, as the landing page events send it.
pub(crate) const BOB_TOKEN: &str = "Xk3vQp9LmR2sT8wYb4NcJ7hD1fGz6EaU0oKiV5nHtWq";
/// The `sub` claims of the owner's administrator, of Bob and of Carol (tenant-member), as in the events.
pub(crate) const OWNER_ADMIN: &str = "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80";
const BOB: &str = "c5d9e3b7-2a4f-4e81-b6c0-9f3a1d7e5b24";
const CAROL: &str = "e1b8f4a2-7c3d-4b59-8e6f-2a0d9c4b7f13";

/// How far the fixture world's story has got when an event is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    /// The community and its two member tenants; Bob is not invited yet.
    BeforeInvitation,
    /// Bob's invitation is pending (issued yesterday, live for 13 more days).
    Invited,
    /// Bob accepted for `tenant-guest`, which awaits the owner's confirmation.
    Accepted,
}

pub(crate) fn tenant(id: &str) -> TenantId {
    TenantId::parse("tenant", id).unwrap()
}

pub(crate) fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

pub(crate) fn community_id() -> CommunityId {
    CommunityId::parse("community", COMMUNITY).unwrap()
}

pub(crate) fn invitation_id() -> InvitationId {
    InvitationId::parse("invitation", INVITATION).unwrap()
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
        valid_days: None,
        options: Default::default(),
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

/// The fixture world's one suppressed address (the `lift_suppression` sample names it, its `@` as `%40`).
pub(crate) fn suppressed() -> rsvp::domain::fate::Suppression {
    rsvp::domain::fate::Suppression {
        tenant: tenant("tenant-owner"),
        address: email("old.partner@bounced.example"),
        reason: "bounced".into(),
        diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
        at: NOW,
        invitation: rsvp::domain::InvitationId::parse("id", "7c9e6679-7425-40de-944b-e07fc1f90ae7").unwrap(),
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
    // tests/template/ holds the template to that.
    let app = App::new(store.clone(), Config::default()).with_clock(Arc::new(FixedClock::at(NOW)));
    (Arc::new(app), store)
}

/// Runs `route` on its sample event against the world at `moment`; the answer and the store afterwards.
pub(crate) async fn send(route: &Route, moment: Moment) -> (Response<Body>, Arc<MemoryStore>) {
    let request = request(route);
    let (app, store) = world(moment).await;
    (route.call(app, request).await, store)
}
