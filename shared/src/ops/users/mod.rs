//! The platform-user operations (`/api/users`, `/api/businesses`): a signed-in user invites people by email, if
//! the tenant's settings allow it, and the invitee accepts with the code their email carries. This module holds
//! what they share: the caller's own business, reading an invitation for the one who may manage it, opening an
//! invitation by its code, and putting the code's link into the outbox.

pub mod accept_user_invitation;
pub mod get_business_settings;
pub mod invite_users;
pub mod lift_suppression;
pub mod list_user_invitations;
pub mod resend_user_invitation;
pub mod revoke_user_invitation;
pub mod update_user_settings;
pub mod verify_invitation;
mod wire;

pub(super) use wire::inviter;

use lambda_http::Request;

use super::public_base;
use crate::app::App;
use crate::domain::{InvitationId, Principal, Secret, TenantId, UserInvitation, UserReadState, code_invitation};
use crate::http::ApiError;

/// `businessId` from the path, if it is the caller's own tenant: another tenant's settings are as missing.
pub(in crate::ops) fn own_business(req: &Request, caller: &Principal) -> Result<TenantId, ApiError> {
    let business = crate::http::request::path(req, "businessId", TenantId::parse)?;
    if business != caller.tenant {
        return Err(ApiError::NotFound(format!("Business {business} was not found.")));
    }
    Ok(business)
}

pub(in crate::ops) fn user_invitation_not_found(id: InvitationId) -> ApiError {
    ApiError::NotFound(format!("Invitation {id} was not found."))
}

/// A platform invitation of the caller's tenant; another tenant's is as missing. Whether the caller may change
/// it is the domain's to say (its sender or an administrator).
pub(in crate::ops) async fn tenant_invitation(
    app: &App,
    id: InvitationId,
    caller: &Principal,
) -> Result<UserInvitation, ApiError> {
    super::require_tenant_member(caller)?;
    app.store
        .get_user_invitation(id)
        .await?
        .filter(|i| i.tenant == caller.tenant)
        .ok_or_else(|| user_invitation_not_found(id))
}

/// The longest code looked at; real ones are 80 characters.
const MAX_CODE_CHARS: usize = 128;

/// The invitation `code` opens, whatever its state; a code that opens nothing gets one answer, whatever the
/// reason (malformed, unknown invitation, wrong secret, replaced by a Resend).
pub(in crate::ops) async fn open_code(app: &App, code: &str) -> Result<UserInvitation, ApiError> {
    let not_valid = || ApiError::NotFound("The invitation code is not valid.".into());
    let code = code.trim();
    if code.len() > MAX_CODE_CHARS {
        return Err(not_valid());
    }
    let id = code_invitation(code).ok_or_else(not_valid)?;
    app.store.get_user_invitation(id).await?.filter(|i| i.code_matches(&Secret::presented(code))).ok_or_else(not_valid)
}

/// The invitation a code opens, if it still waits for an answer: what verify and accept act on.
pub(in crate::ops) async fn open_pending(app: &App, code: &str) -> Result<UserInvitation, ApiError> {
    let invitation = open_code(app, code).await?;
    let state = invitation.read_state(app.clock.now());
    if state != UserReadState::Pending {
        return Err(ApiError::Conflict(match state {
            UserReadState::Accepted => "The invitation was already accepted; its code works once.".into(),
            UserReadState::Expired => "The invitation has expired; ask whoever invited you to send it again.".into(),
            other => format!("The invitation was {}; its code no longer works.", other.as_str().to_lowercase()),
        }));
    }
    Ok(invitation)
}

/// Seals `code` into `invitation`'s pending email, with the landing link it completes.
pub(in crate::ops) async fn attach_code(
    app: &App,
    req: &Request,
    invitation: &mut UserInvitation,
    code: &Secret,
) -> Result<(), ApiError> {
    let link = format!("{}/invite/{}", public_base(app, req), invitation.id);
    let sealed = app.sealer.seal(invitation.id, code).await?;
    invitation.attach_link(link, sealed);
    Ok(())
}
