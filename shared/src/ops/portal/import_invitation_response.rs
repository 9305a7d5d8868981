//! `POST .../collaborations/{collaborationId}/importInvitationResponse` `invitationResponseFile`, optionally
//! `guestKeyFingerprint`: the host imports a guest's signed response: only for a live invitation of this
//! collaboration that it issued, with that invitation's current nonce, from the portal it invited, signed with the
//! key that portal publishes at the invited URL and this portal pinned for it (or, that portal unreachable, the
//! `guestKeyFingerprint` given), and once. The guest is then an active participant, its key pinned.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::domain::collaboration::{
    Collaboration, CollaborationError, CollaborationInvitation, Contact, KeyFingerprint, Participant, Portal, Side,
    open_response,
};
use crate::http::{Answer, ApiError, arcgis};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let Checked { invitation, imported, guest, .. } = check(&app, &c, &r.params).await?;
    match app.store.update_collaboration_invitation(&imported, invitation.version, Some(&guest)).await {
        Ok(()) => Ok(arcgis::answer(r.format, StatusCode::OK, "Response imported", &SUCCESS)),
        Err(StoreError::Conflict) => Err(ApiError::Conflict("The response was imported by another request.".into())),
        Err(StoreError::AlreadyMember) => {
            Err(ApiError::Conflict(format!("Portal {} already takes part in this collaboration.", guest.portal.id)))
        }
        Err(e) => Err(e.into()),
    }
}

/// A response checked against the invitation it answers.
pub(super) struct Checked {
    /// The invitation as read.
    pub invitation: CollaborationInvitation,
    /// The invitation as it is once imported.
    pub imported: CollaborationInvitation,
    /// The participant the import adds.
    pub guest: Participant,
    /// The fingerprint of the guest's key.
    pub fingerprint: KeyFingerprint,
}

/// Reads and checks the response against the invitation it answers, and its key against the guest's published and
/// pinned one. Shared with `validate_invitation_response`.
pub(super) async fn check(
    app: &App,
    c: &Collaboration,
    params: &crate::http::arcgis::Params,
) -> Result<Checked, ApiError> {
    let file = super::file_param(params, "invitationResponseFile", "invitationResponseJSON")?;
    let response = open_response(file, &super::verifies)?;
    if response.collaboration_id != c.id {
        return Err(CollaborationError::UnknownResponse.into());
    }
    let invitation = app
        .store
        .get_collaboration_invitation(c.id, response.invitation_id)
        .await?
        .ok_or(ApiError::from(CollaborationError::UnknownResponse))?;
    let now = app.clock.now();
    let imported = invitation.import(&response, now)?;
    // The URL the host invited (which `import` found the response names), not one the file could choose.
    let fingerprint = super::confirm_signer(
        app,
        params,
        "response file",
        "guestKeyFingerprint",
        &invitation.guest_portal_url,
        &response.public_key,
    )
    .await?;
    let contact =
        Contact::parse(&response.contact_firstname, &response.contact_lastname, &response.contact_email_address)?;
    let guest = Participant {
        collaboration_id: c.id,
        portal: Portal {
            id: response.guest_portal_id.clone(),
            url: response.guest_portal_url.clone(),
            name: response.guest_portal_name.chars().take(100).collect(),
        },
        side: Side::Guest,
        public_key: response.public_key.clone(),
        contact,
        access: invitation.access.clone(),
        invitation_id: invitation.id,
        joined: now,
        sealed_nonce: None,
        host_portal_id: Some(c.host.id.clone()),
    };
    Ok(Checked { invitation, imported, guest, fingerprint })
}
