//! Portal-to-portal collaborations (the ArcGIS dialect): a host portal invites a guest portal into a collaboration
//! with a signed invitation file; the guest accepts it and answers with a signed response file; the host imports
//! the response, and the guest becomes a participant.
//!
//! ```text
//! host: inviteParticipant --> host_created --importInvitationResponse--> host_imported
//!                               |  \--invalidate--> host_invalidated
//!                               \--refresh (new nonce, new expiry: the old file dies)--> host_created
//! guest: acceptCollaborationInvitation --> accepted --exportInvitationResponse--> (the response file)
//! ```
//! Expired is derived from `expiration`.
//!
//! ## The files
//!
//! An invitation file is `{"invitationRequest": {...}, "signature": "<base64>"}`; the signature covers the exact
//! bytes of the request as written in the file (its JSON text between the braces, kept raw), made with the host's
//! key, whose public half travels in the request (`publicKey`, base64 DER SubjectPublicKeyInfo). The request also
//! carries a secret `nonce`: the guest's response echoes it, signed with the guest's key, so the host imports only
//! a response from whoever holds a live file it issued. Only the nonce's hash is kept to compare against; its
//! sealed copy is kept to rebuild the file (the request is rebuilt byte for byte from the stored fields, since
//! serde writes a struct's fields in order).
//!
//! Checking a signature is the caller's: this module is given a `verify(public_key, message, signature)` and
//! does no I/O. A signature shows only that the key in the file signed it; [`confirm_key`] decides, from what the
//! caller fetched and stored, whether that key is the named portal's (published by it, pinned, or confirmed by
//! the administrator's [`KeyFingerprint`]). Portal URLs in files must be https, and an invitation's expiry at most
//! what a host gives ([`MAX_EXPIRATION_HOURS`]).

mod files;
mod ids;
mod invitation;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::{Email, Timestamp, bounded_text};

pub use files::{
    InvitationRequest, InvitationResponse, KeyEvidence, KeyFingerprint, Verify, WorkspaceConfig, WorkspaceConfigs,
    confirm_key, open_invitation, open_response, signed_file,
};
pub use ids::{CollaborationId, CollaborationInvitationId, PortalId, PortalUrl, WorkspaceId};
pub use invitation::{CollaborationInvitation, InvitationStatus};

/// The longest file accepted, in bytes: a request or response with the most workspaces is well below it.
pub const MAX_FILE_BYTES: usize = 32 * 1024;
/// The most workspaces a collaboration may have.
pub const MAX_WORKSPACES: usize = 20;
/// The longest name and description.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Default and longest invitation validity, in hours (the reference API's `expiration`).
pub const DEFAULT_EXPIRATION_HOURS: i64 = 24;
pub const MAX_EXPIRATION_HOURS: i64 = 24 * 30;
/// `refresh` gives a live invitation this long again (the reference API's 72 hours).
pub const REFRESH_HOURS: i64 = 72;
/// How far ahead of the guest's clock the host's may be when the guest caps a file's expiry.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Why a collaboration input, an invitation file or a response was refused. Each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollaborationError {
    #[error("{0}")]
    Invalid(String),
    #[error("The file is not a valid {0}: {1}")]
    BadFile(&'static str, String),
    #[error("The {0}'s signature does not verify: the file was changed or signed with another key.")]
    BadSignature(&'static str),
    #[error("The invitation expired at {0}.")]
    Expired(String),
    #[error("The invitation is for {intended}, not for this portal ({this}).")]
    OtherGuest { intended: String, this: String },
    #[error("The invitation is {0}; it cannot be used.")]
    NotLive(&'static str),
    #[error("The response does not answer a live invitation of this collaboration.")]
    UnknownResponse,
    /// The file's key is not the one its portal publishes: altered and re-signed, or forged.
    #[error(
        "The {what}'s key (fingerprint {file}) is not the key {portal} publishes (fingerprint {published}): the file \
         was not signed by that portal."
    )]
    NotPublishedKey { what: &'static str, portal: String, file: String, published: String },
    /// The other portal could not be asked for its key, and no fingerprint confirmed it.
    #[error(
        "The {what}'s key could not be confirmed: {why}. Ask that portal's administrator for the fingerprint of its \
         key (portals/self shows it as publicKeyFingerprint) and pass it as {parameter}; this file's key has \
         fingerprint {file}."
    )]
    Unconfirmed { what: &'static str, why: String, parameter: &'static str, file: String },
    /// The administrator's fingerprint is not the file's key's.
    #[error(
        "{parameter} {given} is not the fingerprint of the {what}'s key ({file}): the file was not signed by that key."
    )]
    FingerprintMismatch { what: &'static str, parameter: &'static str, given: String, file: String },
    /// This portal already knows another key for that portal, from an earlier collaboration.
    #[error(
        "{portal} was pinned with the key of fingerprint {pinned} when this portal first collaborated with it; the \
         {what} is signed with another key ({file}). Remove that portal from the collaborations that know it before \
         trusting a new key."
    )]
    KeyChanged { what: &'static str, portal: String, pinned: String, file: String },
}

/// What a participant may do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessMode {
    Send,
    Receive,
    SendAndReceive,
}

impl AccessMode {
    pub fn parse(value: &str) -> Result<Self, CollaborationError> {
        match value {
            "send" => Ok(Self::Send),
            "receive" => Ok(Self::Receive),
            "sendAndReceive" => Ok(Self::SendAndReceive),
            other => {
                let shown: String = other.chars().take(40).collect();
                Err(invalid(format!("{shown:?} is not an access mode: use send, receive or sendAndReceive.")))
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Receive => "receive",
            Self::SendAndReceive => "sendAndReceive",
        }
    }
}

/// Someone to contact at a portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl Contact {
    pub fn parse(first: &str, last: &str, email: &str) -> Result<Self, CollaborationError> {
        let name =
            |field, value: &str| bounded_text(field, value, MAX_NAME_CHARS).map_err(|e| invalid(format!("{e}.")));
        Ok(Self {
            first_name: name("the contact's first name", first)?,
            last_name: name("the contact's last name", last)?,
            email: Email::parse(email).map_err(|e| invalid(format!("the contact's email address {e}.")))?,
        })
    }
}

/// A workspace of a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub description: String,
}

impl Workspace {
    pub fn create(name: &str, description: Option<&str>) -> Result<Self, CollaborationError> {
        Ok(Self {
            id: WorkspaceId::new(),
            name: name_text("workspaceName", name)?,
            description: description_text(description)?,
        })
    }
}

fn name_text(field: &'static str, value: &str) -> Result<String, CollaborationError> {
    bounded_text(field, value, MAX_NAME_CHARS).map_err(|e| invalid(format!("{e}.")))
}

fn description_text(value: Option<&str>) -> Result<String, CollaborationError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(String::new()),
        Some(v) => bounded_text("description", v, MAX_DESCRIPTION_CHARS).map_err(|e| invalid(format!("{e}."))),
    }
}

/// A portal as another knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portal {
    pub id: PortalId,
    pub url: PortalUrl,
    pub name: String,
}

/// Which side of a collaboration this portal is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Host,
    Guest,
}

/// A collaboration as this portal keeps it: the host's own, or one it joined as a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collaboration {
    pub id: CollaborationId,
    pub name: String,
    pub description: String,
    pub side: Side,
    pub host: Portal,
    pub host_contact: Contact,
    pub workspaces: Vec<Workspace>,
    /// This portal's own contact, when it joined as a guest (its response file names it).
    #[serde(default)]
    pub guest_contact: Option<Contact>,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub version: u64,
}

impl Collaboration {
    /// The collaboration as a guest keeps it once it accepted `request`, with `contact` as its own contact.
    pub fn joined(request: &InvitationRequest, contact: Contact, now: Timestamp) -> Result<Self, CollaborationError> {
        Self::joining(request, Some(contact), now)
    }

    /// Whether `request` could be joined: every check [`Collaboration::joined`] makes of it, for validating a file
    /// without accepting it.
    pub fn check_joinable(request: &InvitationRequest, now: Timestamp) -> Result<(), CollaborationError> {
        Self::joining(request, None, now).map(|_| ())
    }

    fn joining(
        request: &InvitationRequest,
        contact: Option<Contact>,
        now: Timestamp,
    ) -> Result<Self, CollaborationError> {
        let host_contact =
            Contact::parse(&request.contact_firstname, &request.contact_lastname, &request.contact_email_address)?;
        Ok(Self {
            id: request.collaboration_id,
            name: name_text("collaborationName", &request.collaboration_name)?,
            description: request.collaboration_description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
            side: Side::Guest,
            host: Portal {
                id: request.host_portal_id.clone(),
                url: request.host_portal_url.clone(),
                name: request.host_portal_name.chars().take(MAX_NAME_CHARS).collect(),
            },
            host_contact,
            workspaces: request
                .collaboration_workspace_configs
                .access_mode
                .iter()
                .take(MAX_WORKSPACES)
                .map(|w| Workspace {
                    id: w.collaboration_workspace_id,
                    name: w.collaboration_workspace_name.chars().take(MAX_NAME_CHARS).collect(),
                    description: w.collaboration_workspace_description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
                })
                .collect(),
            guest_contact: contact,
            created: now,
            modified: now,
            version: 1,
        })
    }

    /// A new collaboration hosted by `host`, with its first workspace.
    pub fn create(
        host: Portal,
        name: &str,
        description: Option<&str>,
        workspace: Workspace,
        contact: Contact,
        now: Timestamp,
    ) -> Result<Self, CollaborationError> {
        Ok(Self {
            id: CollaborationId::new(),
            name: name_text("name", name)?,
            description: description_text(description)?,
            side: Side::Host,
            host,
            host_contact: contact,
            workspaces: vec![workspace],
            guest_contact: None,
            created: now,
            modified: now,
            version: 1,
        })
    }

    /// The collaboration with one more workspace (host only).
    pub fn add_workspace(&self, workspace: Workspace, now: Timestamp) -> Result<Self, CollaborationError> {
        if self.side != Side::Host {
            return Err(invalid("Only the collaboration's host can add a workspace."));
        }
        if self.workspaces.len() >= MAX_WORKSPACES {
            return Err(invalid(format!("A collaboration has at most {MAX_WORKSPACES} workspaces.")));
        }
        let mut next = self.clone();
        next.workspaces.push(workspace);
        next.modified = now;
        next.version += 1;
        Ok(next)
    }

    /// Checks a participant's access configuration (`[{workspaceId: mode}]`): every workspace is one of this
    /// collaboration's, named once, with a known mode, and at least one is named.
    pub fn access(&self, config: &[(String, String)]) -> Result<Vec<(WorkspaceId, AccessMode)>, CollaborationError> {
        if config.is_empty() {
            return Err(invalid("collaborationWorkspacesParticipantConfigJSON must name at least one workspace."));
        }
        let mut out: Vec<(WorkspaceId, AccessMode)> = Vec::new();
        for (workspace, mode) in config {
            let id = WorkspaceId::parse("a workspace id", workspace)?;
            if !self.workspaces.iter().any(|w| w.id == id) {
                return Err(invalid(format!("Workspace {id} is not a workspace of this collaboration.")));
            }
            if out.iter().any(|(w, _)| *w == id) {
                return Err(invalid(format!("Workspace {id} is named twice.")));
            }
            out.push((id, AccessMode::parse(mode)?));
        }
        Ok(out)
    }
}

/// A portal taking part in a collaboration, as another portal records it: the guest on the host once its response
/// is imported, the host on the guest once the guest accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub collaboration_id: CollaborationId,
    pub portal: Portal,
    pub side: Side,
    pub public_key: String,
    pub contact: Contact,
    pub access: Vec<(WorkspaceId, AccessMode)>,
    /// The invitation that brought it in.
    pub invitation_id: CollaborationInvitationId,
    pub joined: Timestamp,
    /// On a guest: the host's invitation's nonce, sealed, which its response must echo.
    pub sealed_nonce: Option<String>,
    /// On a host: its own id, kept with each guest so the record alone says whose collaboration it is (the
    /// tenant of its events). Absent on records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_portal_id: Option<PortalId>,
}

fn invalid(message: impl Into<String>) -> CollaborationError {
    CollaborationError::Invalid(message.into())
}
