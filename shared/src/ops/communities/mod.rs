//! The community operations (AVEVA Data Hub's communities, `/api/v1-preview`): communities, their tenants, and the
//! invitations of the three-way handshake. This module holds what they share: reading a community or an invitation
//! for a member or an administrator of its owner tenant (another tenant's answer as missing ones), the recipient's
//! relation to an invitation, and the `AcceptFrom` field.

pub mod create_community;
pub mod create_community_invitation;
pub mod delete_community;
pub mod delete_community_invitation;
pub mod get_community;
pub mod get_community_invitation;
pub mod get_community_summary;
pub mod get_invitation_details;
pub mod list_communities;
pub mod list_community_invitations;
pub mod list_community_tenants;
pub mod list_tenant_accepted_invitations;
pub mod process_invitation;
pub mod remove_community_tenant;
pub mod search_community_streams;
pub mod update_community;
mod wire;

use lambda_http::Request;

use super::require_tenant_member;
use crate::app::App;
use crate::domain::{AcceptFrom, Community, CommunityId, CommunityInvitation, InvitationId, Membership, Principal};
use crate::http::ApiError;

fn community_not_found(id: CommunityId) -> ApiError {
    ApiError::NotFound(format!("Community {id} was not found."))
}

fn invitation_not_found(id: InvitationId) -> ApiError {
    ApiError::NotFound(format!("Invitation {id} was not found."))
}

/// The community, if the caller's tenant is an Active member of it and the caller is a tenant member.
/// Any other tenant gets the same 404 as for a missing community.
async fn community_for_member(
    app: &App,
    id: CommunityId,
    caller: &Principal,
) -> Result<(Community, Membership), ApiError> {
    require_tenant_member(caller)?;
    let (membership, community) = app.store.get_membership_and_community(id, &caller.tenant).await?;
    let membership = membership.filter(Membership::is_active).ok_or_else(|| community_not_found(id))?;
    let community = community.ok_or_else(|| community_not_found(id))?;
    Ok((community, membership))
}

/// Runs `read` (a read of the community's data) together with the check that the caller's tenant is an Active
/// member of the community, so that a list costs one round trip rather than two; `read`'s result is used only
/// once the check passes, and another tenant gets the same 404 as for a missing community.
async fn as_member<T>(
    app: &App,
    id: CommunityId,
    caller: &Principal,
    read: impl std::future::Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, ApiError> {
    require_tenant_member(caller)?;
    let (membership, out) = tokio::join!(app.store.get_membership(id, &caller.tenant), read);
    membership?.filter(Membership::is_active).ok_or_else(|| community_not_found(id))?;
    Ok(out?)
}

/// Who an invitation read is for: any Active member tenant's member, or an administrator of the owner tenant.
enum Access {
    Member,
    Admin,
}

/// An invitation of `community` that the caller may see as `access` says (deleted ones are missing), read together
/// with the caller's membership in one store call. The membership decides first (404 for another tenant, 403 for a
/// member who is not an admin when one is needed), then the invitation.
async fn invitation_of(
    app: &App,
    community: CommunityId,
    id: InvitationId,
    caller: &Principal,
    access: Access,
) -> Result<CommunityInvitation, ApiError> {
    require_tenant_member(caller)?;
    let (membership, invitation) = app.store.get_membership_and_invitation(community, &caller.tenant, id).await?;
    let membership = membership.filter(Membership::is_active).ok_or_else(|| community_not_found(community))?;
    if let Access::Admin = access {
        require_owner_admin(&membership, caller)?;
    }
    invitation.filter(|i| i.community_id == community && !i.is_deleted()).ok_or_else(|| invitation_not_found(id))
}

/// The community, if the caller is an administrator of the tenant that owns it.
async fn community_for_admin(app: &App, id: CommunityId, caller: &Principal) -> Result<Community, ApiError> {
    let (community, membership) = community_for_member(app, id, caller).await?;
    require_owner_admin(&membership, caller)?;
    Ok(community)
}

fn require_owner_admin(membership: &Membership, caller: &Principal) -> Result<(), ApiError> {
    if !membership.is_owner || !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden(
            "Only a TenantAdministrator of the community's owner tenant can do this.".into(),
        ));
    }
    Ok(())
}

/// The header through which a recipient who is not signed in with the invited address presents the secret.
pub const INVITATION_TOKEN_HEADER: &str = "invitation-token";

/// Whether the caller is the invitation's recipient (verified email, or the secret in `Invitation-Token`) and
/// whether they administer the community that issued it. Being the recipient by the secret alone lets a caller
/// read the details and decline; accepting also needs the caller's verified address to pass the invitation's
/// [`AcceptFrom`] rule, which the domain checks (a stolen link opens the invitation, never the community).
fn relation(invitation: &CommunityInvitation, caller: &Principal, req: &Request) -> (bool, bool) {
    let by_email = caller.email.as_ref().is_some_and(|e| e.matches(&invitation.recipient));
    let by_token = req
        .headers()
        .get(INVITATION_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| invitation.secret_matches(&crate::domain::Secret::presented(t)));
    let is_admin = caller.is_tenant_admin() && caller.tenant == invitation.issuing_tenant;
    (by_email || by_token, is_admin)
}

/// The `AcceptFrom` field of a community or an invitation: `Recipient` or `RecipientDomain`, absent or null for
/// none given; anything else is a 400 naming the two.
fn accept_from(value: Option<&str>) -> Result<Option<AcceptFrom>, ApiError> {
    value
        .map(|v| {
            AcceptFrom::parse(v)
                .ok_or_else(|| ApiError::bad_request(format!("AcceptFrom is not known: use {}.", AcceptFrom::NAMES)))
        })
        .transpose()
}
