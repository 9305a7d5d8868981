//! `POST .../acceptCollaborationInvitation` `invitationFile` or `invitationJSON`, `guestContactFirstname`,
//! `guestContactLastname`, `guestContactEmailAddress`, optionally `hostKeyFingerprint`: the guest accepts a file it
//! checked exactly as `validateCollaborationInvitation` does (its `check`): it keeps the collaboration and the host
//! as its participant, with the host's key pinned and the invitation's nonce sealed for its response. Once: a
//! second accept of the same collaboration is a 409.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use super::PortalRequest;
use crate::app::App;
use crate::domain::Secret;
use crate::domain::collaboration::{
    Collaboration, Contact, InvitationRequest, KeyFingerprint, Participant, Side, open_invitation,
};
use crate::http::{Answer, ApiError, arcgis};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let p = &r.params;
    let contact = Contact::parse(
        p.required("guestContactFirstname")?,
        p.required("guestContactLastname")?,
        p.required("guestContactEmailAddress")?,
    )?;
    let (request, _) = check(&app, &r).await?;
    let now = app.clock.now();
    let collaboration = Collaboration::joined(&request, contact, now)?;
    let sealed = app.sealer.seal(request.id.as_invitation_id(), &Secret::presented(&request.nonce)).await?;
    let host = Participant {
        collaboration_id: collaboration.id,
        portal: collaboration.host.clone(),
        side: Side::Host,
        // The key confirmed by `check`: pinned from now on for every file from this host.
        public_key: request.public_key.clone(),
        contact: collaboration.host_contact.clone(),
        access: request
            .collaboration_workspace_configs
            .access_mode
            .iter()
            .map(|w| (w.collaboration_workspace_id, w.access_mode))
            .collect(),
        invitation_id: request.id,
        joined: now,
        sealed_nonce: Some(sealed),
        host_portal_id: None,
    };
    match app.store.join_collaboration(&collaboration, &host).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(already(&collaboration.id)),
        Err(e) => return Err(e.into()),
    }
    let body = json!({"success": true, "collaborationId": collaboration.id.to_string()});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation accepted", &body))
}

fn already(collaboration: &impl std::fmt::Display) -> ApiError {
    ApiError::Conflict(format!("This portal already takes part in collaboration {collaboration}."))
}

/// Every check accept makes of the file, short of writing (shared with `validate_collaboration_invitation`): its
/// signature, that its host URL is https, its expiry (and that it is no longer than a host gives), that it is for
/// this portal, that its collaboration can be kept and is not one this portal already has, and that its key is the
/// one the host publishes and this portal pinned (or, the host unreachable, the `hostKeyFingerprint` given). The
/// request and its key's fingerprint.
pub(super) async fn check(app: &App, r: &PortalRequest<'_>) -> Result<(InvitationRequest, KeyFingerprint), ApiError> {
    let file = super::file_param(&r.params, "invitationFile", "invitationJSON")?;
    let now = app.clock.now();
    let request = open_invitation(file, &r.portal.url, now, &super::verifies)?;
    Collaboration::check_joinable(&request, now)?;
    if app.store.get_collaboration(request.collaboration_id).await?.is_some() {
        return Err(already(&request.collaboration_id));
    }
    let fingerprint = super::confirm_signer(
        app,
        &r.params,
        "invitation file",
        "hostKeyFingerprint",
        &request.host_portal_url,
        &request.public_key,
    )
    .await?;
    Ok((request, fingerprint))
}
