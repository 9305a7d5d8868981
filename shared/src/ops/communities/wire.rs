//! The community dialect's JSON shapes (PascalCase, as the reference API's), built from domain types.

use serde::Serialize;

use crate::domain::{Community, CommunityInvitation, MemberStatus, Membership, Timestamp};
use crate::ops::wire::{OptionsBody, delivery_failure, delivery_state};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityInvitationBody {
    pub id: String,
    pub issued: String,
    pub expires: String,
    pub accepted: Option<String>,
    pub state: &'static str,
    pub issuing_tenant_id: String,
    pub invited_tenant_id: Option<String>,
    pub community_id: String,
    pub community_name: String,
    pub invitation_recipient: String,
    /// Whose verified address may accept: `Recipient` or `RecipientDomain` (as it was sent).
    pub accept_from: &'static str,
    /// The accepting administrator's verified address (the recipient's, or one in its domain); with
    /// `InvitedTenantId`, who accepted, as the owner confirms them.
    pub accepted_user_email: Option<String>,
    /// What the accepting token's `tenant_name` claim said: a claim, which `AcceptedTenantNameVerified` marks.
    pub accepted_tenant_name: Option<String>,
    /// Always `false`: rsvp has no way to verify a tenant's name, so the owner should judge the accepting tenant by
    /// `InvitedTenantId` and `AcceptedUserEmail`, never by `AcceptedTenantName`.
    pub accepted_tenant_name_verified: bool,
    /// The latest email the invitation owes: `pending` (also while being sent), `sent` or `failed`.
    pub delivery_state: Option<&'static str>,
    /// Why the latest email failed, as the mail service said; null unless failed.
    pub delivery_failure_reason: Option<String>,
    #[serde(flatten)]
    pub options: OptionsBody,
}

impl CommunityInvitationBody {
    pub fn new(i: &CommunityInvitation, now: Timestamp) -> Self {
        Self {
            id: i.id.to_string(),
            issued: i.issued.to_rfc3339(),
            expires: i.expires.to_rfc3339(),
            accepted: i.accepted.map(Timestamp::to_rfc3339),
            state: i.read_state(now).as_str(),
            issuing_tenant_id: i.issuing_tenant.to_string(),
            invited_tenant_id: i.invited_tenant.as_ref().map(ToString::to_string),
            community_id: i.community_id.to_string(),
            community_name: i.community_name.clone(),
            invitation_recipient: i.recipient.to_string(),
            accept_from: i.accept_from.as_str(),
            accepted_user_email: i.accepted_user_email.as_ref().map(ToString::to_string),
            accepted_tenant_name: i.accepted_tenant_name.clone(),
            accepted_tenant_name_verified: false,
            delivery_state: delivery_state(i.delivery.as_ref()),
            delivery_failure_reason: delivery_failure(i.delivery.as_ref()),
            options: OptionsBody::of(&i.options),
        }
    }

    pub fn list(items: &[CommunityInvitation], now: Timestamp) -> Vec<Self> {
        items.iter().map(|i| Self::new(i, now)).collect()
    }
}

/// A tenant of a community, as ADH's `CommunityTenant` has it. Only Active tenants are listed: ADH's clients know
/// no status for a tenant awaiting confirmation (`None`, `Paused` and `Active` are all there are), and such a tenant
/// is seen through its accepted invitation until it is confirmed. What rsvp does not know is `null`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityTenant {
    pub id: String,
    /// The tenant's name as the token of whoever brought it in named it (`tenant_name`), if it did.
    pub name: Option<String>,
    pub status: &'static str,
    pub is_owner: bool,
    /// rsvp keeps no users or clients of a tenant, nor where its data lives, nor a tenant's alias for a community.
    pub user_count: Option<u32>,
    pub client_count: Option<u32>,
    pub preferred_region_id: Option<String>,
    pub contact_email: Option<String>,
    pub community_alias: Option<String>,
}

impl CommunityTenant {
    /// The tenant as listed, if it is listed at all: only an Active membership is.
    pub fn new(m: &Membership) -> Option<Self> {
        (m.status == MemberStatus::Active).then(|| Self {
            id: m.tenant.to_string(),
            name: m.tenant_name.clone(),
            status: "Active",
            is_owner: m.is_owner,
            user_count: None,
            client_count: None,
            preferred_region_id: None,
            contact_email: m.contact_email.as_ref().map(ToString::to_string),
            community_alias: None,
        })
    }

    /// The listed tenants of `members`.
    pub fn list(members: &[Membership]) -> Vec<Self> {
        members.iter().filter_map(Self::new).collect()
    }
}

/// A community, as ADH's `Community` has it. What rsvp has no notion of (roles, regions) is `null`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityBody {
    pub id: String,
    /// ADH's role that every member tenant's users hold in the community; rsvp has no roles.
    pub member_role_id: Option<String>,
    pub name: String,
    /// ADH shows a tenant's alias for the community here when it set one; rsvp has no aliases, so it is the name.
    pub display_name: String,
    pub description: String,
    pub date_created: String,
    pub preferred_region_id: Option<String>,
    /// ADH's roles of the community; rsvp has none.
    pub community_roles: Option<Vec<String>>,
    pub contact_email: Option<String>,
    /// Whose verified address may accept the community's invitations by default: `Recipient` or
    /// `RecipientDomain`.
    pub accept_from: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<CommunityTenant>>,
}

impl CommunityBody {
    /// The community with its listed tenants.
    pub fn new(c: &Community, tenants: &[Membership]) -> Self {
        Self { tenants: Some(CommunityTenant::list(tenants)), ..Self::summary(c) }
    }

    /// The list form, without the tenants.
    pub fn summary(c: &Community) -> Self {
        Self {
            id: c.id.to_string(),
            member_role_id: None,
            name: c.name.clone(),
            display_name: c.name.clone(),
            description: c.description.clone(),
            date_created: c.created.to_rfc3339(),
            preferred_region_id: None,
            community_roles: None,
            contact_email: c.contact_email.as_ref().map(ToString::to_string),
            accept_from: c.accept_from.as_str(),
            tenants: None,
        }
    }
}
