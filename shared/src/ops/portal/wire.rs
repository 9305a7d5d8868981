//! The ArcGIS JSON shapes (camelCase, times in epoch milliseconds), built from domain types.

use serde::Serialize;

use crate::domain::Timestamp;
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, Contact, Participant, Portal, Side, Workspace,
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

/// A workspace as the REST reference's `workspaces/{workspaceId}` resource shows it. rsvp links no portal groups,
/// so every participant whose access it knows is listed `participantsWithoutGroupLinks`; that list is given only
/// where the participants were read (the workspace resources), not inside a collaboration.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceBody {
    pub id: String,
    pub name: String,
    pub description: String,
    pub collaboration_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants_without_group_links: Option<Vec<WorkspaceAccess>>,
}

/// One participant's access to a workspace.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceAccess {
    pub portal_id: String,
    pub access_mode: &'static str,
}

impl WorkspaceBody {
    pub fn new(collaboration: CollaborationId, w: &Workspace) -> Self {
        Self {
            id: w.id.to_string(),
            name: w.name.clone(),
            description: w.description.clone(),
            collaboration_id: collaboration.to_string(),
            participants_without_group_links: None,
        }
    }

    /// The workspace with the access to it of each of `participants` that has any.
    pub fn with_access(collaboration: CollaborationId, w: &Workspace, participants: &[Participant]) -> Self {
        let access = participants
            .iter()
            .filter_map(|p| {
                p.access
                    .iter()
                    .find(|(id, _)| *id == w.id)
                    .map(|(_, mode)| WorkspaceAccess { portal_id: p.portal.id.to_string(), access_mode: mode.as_str() })
            })
            .collect();
        Self { participants_without_group_links: Some(access), ..Self::new(collaboration, w) }
    }
}

impl CollaborationBody {
    pub fn new(c: &Collaboration) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            description: c.description.clone(),
            collaboration_host_portal_id: c.host.id.to_string(),
            participant_type: side(c.side),
            workspaces: c.workspaces.iter().map(|w| WorkspaceBody::new(c.id, w)).collect(),
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

/// The invitation object of the reference API; `invitationString` (the file, with its secret nonce) only when one
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

/// A participant as the REST reference's `participants/{portalId}` resource shows it. rsvp keeps no portal
/// description or type, agent, version or sync time of another portal: those fields are left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantBody {
    pub collaboration_id: String,
    pub portal_info: PortalInfo,
    /// `Host` or `Guest`.
    pub collaboration_role: &'static str,
    pub status: &'static str,
    pub config: ParticipantConfig,
    pub created: i64,
    pub modified: i64,
}

#[derive(Serialize)]
pub struct PortalInfo {
    pub id: String,
    pub url: String,
    pub name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantConfig {
    pub contact_email_address: String,
    pub contact_firstname: String,
    pub contact_lastname: String,
}

impl ParticipantBody {
    fn of(c: CollaborationId, portal: &Portal, side: Side, contact: &Contact, since: Timestamp) -> Self {
        Self {
            collaboration_id: c.to_string(),
            portal_info: PortalInfo {
                id: portal.id.to_string(),
                url: portal.url.to_string(),
                name: portal.name.clone(),
            },
            collaboration_role: match side {
                Side::Host => "Host",
                Side::Guest => "Guest",
            },
            status: "active",
            config: ParticipantConfig {
                contact_email_address: contact.email.to_string(),
                contact_firstname: contact.first_name.clone(),
                contact_lastname: contact.last_name.clone(),
            },
            created: since.millis(),
            modified: since.millis(),
        }
    }

    pub fn new(p: &Participant) -> Self {
        Self::of(p.collaboration_id, &p.portal, p.side, &p.contact, p.joined)
    }
}

/// Every participant of `c` that `this` portal knows, host first: this portal itself (the host, or the guest it
/// is, with its own contact) and the `stored` ones (on the host, the guests whose responses it imported; on a
/// guest, the host). A guest keeps no contact of its own only if its data predates that field: it then lists
/// only the host.
pub fn participants(c: &Collaboration, this: &Portal, stored: &[Participant]) -> Vec<ParticipantBody> {
    let own_contact = match c.side {
        Side::Host => Some(&c.host_contact),
        Side::Guest => c.guest_contact.as_ref(),
    };
    let own = own_contact.map(|contact| ParticipantBody::of(c.id, this, c.side, contact, c.created));
    let others = stored.iter().map(ParticipantBody::new);
    match c.side {
        Side::Host => own.into_iter().chain(others).collect(),
        Side::Guest => others.chain(own).collect(),
    }
}

#[derive(Serialize)]
pub struct Success {
    pub success: bool,
}

pub const SUCCESS: Success = Success { success: true };
