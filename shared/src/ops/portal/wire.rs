//! The ArcGIS JSON shapes (camelCase, times in epoch milliseconds), built from domain types.

use serde::Serialize;

use crate::domain::collaboration::{
    AccessMode, Collaboration, CollaborationInvitation, Participant, Side, WorkspaceId,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollaborationBody {
    pub id: String,
    pub name: String,
    pub description: String,
    pub collaboration_host_portal_id: String,
    /// `host` on the portal that hosts it, `guest` on one that joined it.
    pub participant_type: &'static str,
    pub workspaces: Vec<WorkspaceBody>,
    pub created: i64,
    pub modified: i64,
}

#[derive(Serialize)]
pub struct WorkspaceBody {
    pub id: String,
    pub name: String,
    pub description: String,
}

impl CollaborationBody {
    pub fn new(c: &Collaboration) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            description: c.description.clone(),
            collaboration_host_portal_id: c.host.id.to_string(),
            participant_type: side(c.side),
            workspaces: c
                .workspaces
                .iter()
                .map(|w| WorkspaceBody {
                    id: w.id.to_string(),
                    name: w.name.clone(),
                    description: w.description.clone(),
                })
                .collect(),
            created: c.created.millis(),
            modified: c.modified.millis(),
        }
    }
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Host => "host",
        Side::Guest => "guest",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationConfig {
    pub invitation_request_filename: String,
}

/// The invitation object of the seed; `invitationString` (the file, with its secret nonce) only when one
/// invitation is read, never in a list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationBody {
    pub id: String,
    pub collaboration_id: String,
    pub host_portal_id: String,
    pub guest_portal_id: String,
    pub guest_portal_url: String,
    pub status: &'static str,
    pub config: InvitationConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_string: Option<String>,
    pub created: i64,
    pub modified: i64,
    pub expiration: i64,
}

impl InvitationBody {
    pub fn new(i: &CollaborationInvitation, file: Option<String>) -> Self {
        Self {
            id: i.id.to_string(),
            collaboration_id: i.collaboration_id.to_string(),
            host_portal_id: i.request.host_portal_id.to_string(),
            guest_portal_id: i.guest_portal_id.as_ref().map_or_else(|| "unknown".to_owned(), ToString::to_string),
            guest_portal_url: i.guest_portal_url.to_string(),
            status: i.status.as_str(),
            config: InvitationConfig { invitation_request_filename: i.file_name() },
            invitation_string: file,
            created: i.created.millis(),
            modified: i.modified.millis(),
            expiration: i.expiration.millis(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantBody {
    pub portal_id: String,
    pub portal_url: String,
    pub portal_name: String,
    pub participant_type: &'static str,
    pub status: &'static str,
    pub contact_email_address: String,
    pub workspaces: Vec<AccessBody>,
    pub joined: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessBody {
    pub workspace_id: String,
    pub access_mode: &'static str,
}

pub fn access(modes: &[(WorkspaceId, AccessMode)]) -> Vec<AccessBody> {
    modes.iter().map(|(w, m)| AccessBody { workspace_id: w.to_string(), access_mode: m.as_str() }).collect()
}

impl ParticipantBody {
    pub fn new(p: &Participant) -> Self {
        Self {
            portal_id: p.portal.id.to_string(),
            portal_url: p.portal.url.to_string(),
            portal_name: p.portal.name.clone(),
            participant_type: side(p.side),
            status: "active",
            contact_email_address: p.contact.email.to_string(),
            workspaces: access(&p.access),
            joined: p.joined.millis(),
        }
    }
}

#[derive(Serialize)]
pub struct Success {
    pub success: bool,
}

pub const SUCCESS: Success = Success { success: true };
