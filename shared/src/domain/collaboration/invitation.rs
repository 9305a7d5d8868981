//! A host's invitation of a guest portal, and its life: created, refreshed (a new nonce and expiry, so the old file
//! dies), invalidated, or imported once the guest's response arrives.

use serde::{Deserialize, Serialize};

use super::{
    AccessMode, Collaboration, CollaborationError, CollaborationId, CollaborationInvitationId, InvitationRequest,
    InvitationResponse, MAX_EXPIRATION_HOURS, PortalId, PortalUrl, REFRESH_HOURS, Side, WorkspaceConfig,
    WorkspaceConfigs, WorkspaceId, invalid, signed_file,
};
use crate::domain::{Secret, SecretHash, Timestamp};

/// Where a host's invitation stands, in the reference API's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationStatus {
    #[serde(rename = "host_created")]
    Created,
    #[serde(rename = "host_invalidated")]
    Invalidated,
    #[serde(rename = "host_imported")]
    Imported,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "host_created",
            Self::Invalidated => "host_invalidated",
            Self::Imported => "host_imported",
        }
    }
}

/// A host's invitation of a guest portal into a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaborationInvitation {
    pub id: CollaborationInvitationId,
    pub collaboration_id: CollaborationId,
    pub guest_portal_url: PortalUrl,
    /// Known once the guest's response is imported.
    pub guest_portal_id: Option<PortalId>,
    pub access: Vec<(WorkspaceId, AccessMode)>,
    pub status: InvitationStatus,
    /// The request as signed, without its nonce (which is kept hashed, and sealed to rebuild the file).
    pub request: InvitationRequest,
    pub signature: String,
    pub nonce_hash: SecretHash,
    pub sealed_nonce: String,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub expiration: Timestamp,
    pub version: u64,
}

impl CollaborationInvitation {
    /// The request a new invitation signs, with its fresh nonce; the caller signs it, seals the nonce and calls
    /// [`CollaborationInvitation::issued`].
    pub fn request(
        collaboration: &Collaboration,
        guest: PortalUrl,
        access: &[(WorkspaceId, AccessMode)],
        public_key: String,
        now: Timestamp,
        hours: i64,
    ) -> Result<(InvitationRequest, Secret), CollaborationError> {
        if collaboration.side != Side::Host {
            return Err(invalid("Only the collaboration's host can invite participants."));
        }
        if !(1..=MAX_EXPIRATION_HOURS).contains(&hours) {
            return Err(invalid(format!("expiration must be from 1 to {MAX_EXPIRATION_HOURS} hours.")));
        }
        let nonce = Secret::generate();
        let configs = access
            .iter()
            .filter_map(|(id, mode)| collaboration.workspaces.iter().find(|w| w.id == *id).map(|w| (w, *mode)))
            .map(|(w, mode)| WorkspaceConfig {
                collaboration_workspace_id: w.id,
                collaboration_workspace_name: w.name.clone(),
                collaboration_workspace_description: w.description.clone(),
                access_mode: mode,
            })
            .collect();
        let request = InvitationRequest {
            id: CollaborationInvitationId::new(),
            collaboration_id: collaboration.id,
            collaboration_name: collaboration.name.clone(),
            collaboration_description: collaboration.description.clone(),
            collaboration_workspace_configs: WorkspaceConfigs { access_mode: configs },
            guest_portal_url: guest,
            guest_portal_id: "unknown".into(),
            host_portal_url: collaboration.host.url.clone(),
            host_portal_id: collaboration.host.id.clone(),
            host_portal_name: collaboration.host.name.clone(),
            public_key,
            contact_firstname: collaboration.host_contact.first_name.clone(),
            contact_lastname: collaboration.host_contact.last_name.clone(),
            contact_email_address: collaboration.host_contact.email.to_string(),
            created: now.millis(),
            expiration: now.plus_minutes(hours * 60).millis(),
            nonce: nonce.expose().to_owned(),
        };
        Ok((request, nonce))
    }

    /// The invitation record of a signed `request`.
    pub fn issued(
        mut request: InvitationRequest,
        access: Vec<(WorkspaceId, AccessMode)>,
        signature: String,
        nonce: &Secret,
        sealed_nonce: String,
    ) -> Self {
        request.nonce = String::new();
        let at = Timestamp::from_millis(request.created);
        Self {
            id: request.id,
            collaboration_id: request.collaboration_id,
            guest_portal_url: request.guest_portal_url.clone(),
            guest_portal_id: None,
            access,
            status: InvitationStatus::Created,
            signature,
            nonce_hash: nonce.hash(),
            sealed_nonce,
            created: at,
            modified: at,
            expiration: Timestamp::from_millis(request.expiration),
            request,
            version: 1,
        }
    }

    /// The exact request bytes that were signed, given the unsealed nonce.
    pub fn signed_request(&self, nonce: &Secret) -> String {
        let mut request = self.request.clone();
        request.nonce = nonce.expose().to_owned();
        serde_json::to_string(&request).unwrap_or_default()
    }

    /// The invitation file, given the unsealed nonce.
    pub fn file(&self, nonce: &Secret) -> String {
        signed_file("invitationRequest", &self.signed_request(nonce), &self.signature)
    }

    /// `collaboration-<guest host>.invite`.
    pub fn file_name(&self) -> String {
        format!("collaboration-{}.invite", self.guest_portal_url.host())
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expiration
    }

    /// Whether a response may still be imported for it at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == InvitationStatus::Created && !self.is_expired(now)
    }

    /// The invitation invalidated: no response built from it will import.
    pub fn invalidate(&self, now: Timestamp) -> Result<Self, CollaborationError> {
        self.require(InvitationStatus::Created)?;
        let mut next = self.bumped(now);
        next.status = InvitationStatus::Invalidated;
        Ok(next)
    }

    /// A refreshed request to sign: a new nonce (so the old file and any response to it die) and 72 hours more,
    /// carrying `public_key`, the key that signs it now (which is not the first file's if the portal's key changed
    /// since: a file must carry the key that signed it).
    pub fn refresh_request(
        &self,
        public_key: String,
        now: Timestamp,
    ) -> Result<(InvitationRequest, Secret), CollaborationError> {
        self.require(InvitationStatus::Created)?;
        let nonce = Secret::generate();
        let mut request = self.request.clone();
        request.public_key = public_key;
        request.expiration = now.plus_minutes(REFRESH_HOURS * 60).millis();
        request.nonce = nonce.expose().to_owned();
        Ok((request, nonce))
    }

    /// The invitation once its refreshed request is signed.
    pub fn refreshed(
        &self,
        mut request: InvitationRequest,
        signature: String,
        nonce: &Secret,
        sealed: String,
        now: Timestamp,
    ) -> Self {
        let mut next = self.bumped(now);
        next.expiration = Timestamp::from_millis(request.expiration);
        request.nonce = String::new();
        next.request = request;
        next.signature = signature;
        next.nonce_hash = nonce.hash();
        next.sealed_nonce = sealed;
        next
    }

    /// Imports a verified response: it must answer this live invitation, with its current nonce, from the
    /// portal it was sent to. The invitation is then imported (once: a second import finds it so).
    pub fn import(&self, response: &InvitationResponse, now: Timestamp) -> Result<Self, CollaborationError> {
        let answers = response.invitation_id == self.id
            && response.collaboration_id == self.collaboration_id
            && self.nonce_hash.verifies(&Secret::presented(&response.nonce));
        if !answers {
            return Err(CollaborationError::UnknownResponse);
        }
        self.require(InvitationStatus::Created)?;
        if self.is_expired(now) {
            return Err(CollaborationError::Expired(self.expiration.to_rfc3339()));
        }
        if response.guest_portal_url != self.guest_portal_url {
            return Err(CollaborationError::OtherGuest {
                intended: self.guest_portal_url.to_string(),
                this: response.guest_portal_url.to_string(),
            });
        }
        let mut next = self.bumped(now);
        next.status = InvitationStatus::Imported;
        next.guest_portal_id = Some(response.guest_portal_id.clone());
        Ok(next)
    }

    fn require(&self, status: InvitationStatus) -> Result<(), CollaborationError> {
        if self.status == status { Ok(()) } else { Err(CollaborationError::NotLive(self.status.as_str())) }
    }

    fn bumped(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.modified = now;
        next.version += 1;
        next
    }
}
