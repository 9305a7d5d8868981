//! The platform-users part of the fixture world: `tenant-owner`'s settings for inviting people who have no account
//! yet, its administrator as the events' claims present them, and Jane's platform invitation with the code of the
//! verify and sign-up events.

use rsvp::domain::{
    InvitationId, Principal, Role, Secret, SettingsChange, Timestamp, UserId, UserInvitation, UserSettings,
};
use rsvp::store::memory::MemoryStore;
use rsvp::store::{PageRequest, UserInvitationFilter, UserInvitationStore};

use crate::communities::{OWNER_ADMIN, email, tenant};
use crate::sample::NOW;

/// Jane's platform invitation, and the code in the email sent to her (`<invitation id>.<43 characters base64url>`),
/// as the verify and sign-up events send it.
pub(crate) const JANE_INVITATION: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
pub(crate) const JANE_CODE: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6.Hq4T-8vLmZ2pXc7Wn_Rb3kYs9DfJ1gAe6UoNi0tKw5E";
pub(crate) const JANE: &str = "jane.mead@acmepaymentscorp.com";
/// How long `tenant-owner`'s platform invitations last before the update_user_settings event changes it to 7.
pub(crate) const OWNER_VALID_DAYS: i64 = 14;

pub(crate) fn jane_invitation_id() -> InvitationId {
    InvitationId::parse("invitation", JANE_INVITATION).unwrap()
}

/// The owner's administrator as the events' claims present them.
pub(crate) fn owner_admin() -> Principal {
    Principal {
        user: UserId::parse("sub", OWNER_ADMIN).unwrap(),
        tenant: tenant("tenant-owner"),
        email: Some(email("admin@owner.example")),
        tenant_name: Some("Owner Corp".into()),
        roles: vec![Role::TenantAdministrator],
    }
}

/// `tenant-owner`'s settings: its users may invite people who are not registered yet, for [`OWNER_VALID_DAYS`].
pub(crate) fn owner_settings() -> UserSettings {
    let change = SettingsChange {
        invite_unregistered_users: Some(true),
        invited_user_valid_days: Some(OWNER_VALID_DAYS),
        ..SettingsChange::default()
    };
    UserSettings::default().with(&change).unwrap()
}

/// Jane's invitation from the owner's administrator, as `invite_users` stores it, with the id and code of the
/// events (the code's hash, as for Bob's link).
pub(crate) fn jane_invitation(issued: Timestamp) -> UserInvitation {
    let message = Some("You should join this awesome app management platform.".to_owned());
    let (mut janes, _) = UserInvitation::create(&owner_admin(), email(JANE), message, issued, &owner_settings());
    janes.id = jane_invitation_id();
    janes.code_hash = Secret::presented(JANE_CODE).hash();
    janes
}

/// `tenant-owner`'s platform invitations, newest first, as stored.
pub(crate) async fn owner_user_invitations(store: &MemoryStore) -> Vec<UserInvitation> {
    let everything = UserInvitationFilter { inviter: None, state: None, now: NOW };
    let page = PageRequest { skip: 0, count: 100, after: None };
    store.list_user_invitations(&tenant("tenant-owner"), &everything, &page).await.unwrap().items
}
