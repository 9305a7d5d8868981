//! The seed's JSON shapes (PascalCase), built from domain types.

use serde::Serialize;

use crate::domain::{Community, DeliveryState, Invitation, MemberStatus, Membership, Timestamp};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityInvitation {
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
    pub accepted_user_email: Option<String>,
    pub accepted_tenant_name: Option<String>,
    /// The latest email the invitation owes: `pending` (also while being sent), `sent` or `failed`.
    pub delivery_state: Option<&'static str>,
    /// Why the latest email failed, as the mail service said; null unless failed.
    pub delivery_failure_reason: Option<String>,
}

impl CommunityInvitation {
    pub fn new(i: &Invitation, now: Timestamp) -> Self {
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
            accepted_user_email: i.accepted_user_email.as_ref().map(ToString::to_string),
            accepted_tenant_name: i.accepted_tenant_name.clone(),
            delivery_state: i.delivery.as_ref().map(|d| match d.state {
                DeliveryState::Pending | DeliveryState::Sending => "pending",
                DeliveryState::Sent => "sent",
                DeliveryState::Failed => "failed",
                DeliveryState::Cancelled => "cancelled",
            }),
            delivery_failure_reason: i
                .delivery
                .as_ref()
                .filter(|d| d.state == DeliveryState::Failed)
                .and_then(|d| d.failure.clone()),
        }
    }

    pub fn list(items: &[Invitation], now: Timestamp) -> Vec<Self> {
        items.iter().map(|i| Self::new(i, now)).collect()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityTenant {
    pub id: String,
    pub status: &'static str,
    pub is_owner: bool,
    pub contact_email: Option<String>,
}

impl CommunityTenant {
    pub fn new(m: &Membership) -> Self {
        Self {
            id: m.tenant.to_string(),
            status: match m.status {
                MemberStatus::AwaitingConfirmation => "AwaitingConfirmation",
                MemberStatus::Active => "Active",
            },
            is_owner: m.is_owner,
            contact_email: m.contact_email.as_ref().map(ToString::to_string),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityBody {
    pub id: String,
    pub name: String,
    pub description: String,
    pub date_created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<CommunityTenant>>,
}

impl CommunityBody {
    pub fn new(c: &Community, tenants: &[Membership]) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            description: c.description.clone(),
            date_created: c.created.to_rfc3339(),
            tenants: Some(tenants.iter().map(CommunityTenant::new).collect()),
        }
    }

    /// The list form, from a membership (which repeats the community's fields), without the tenants.
    pub fn summary(m: &Membership) -> Self {
        Self {
            id: m.community_id.to_string(),
            name: m.community_name.clone(),
            description: m.community_description.clone(),
            date_created: m.community_created.to_rfc3339(),
            tenants: None,
        }
    }
}
