//! `POST .../collaborations/{collaborationId}/importInvitationResponse` `invitationResponseFile`: the host imports
//! a guest's signed response: only for a live invitation of this collaboration that it issued, with that
//! invitation's current nonce, from the portal it invited, and once. The guest is then an active participant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::domain::collaboration::{
    Collaboration, CollaborationError, CollaborationInvitation, Contact, Participant, Portal, Side, open_response,
};
use crate::http::{ApiError, arcgis};
use crate::ops::Answer;
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let (invitation, imported, guest) = check(&app, &c, &r.params).await?;
    match app.store.update_collaboration_invitation(&imported, invitation.version, Some(&guest)).await {
        Ok(()) => Ok(arcgis::answer(r.format, StatusCode::OK, "Response imported", &SUCCESS)),
        Err(StoreError::Conflict) => Err(ApiError::Conflict("The response was imported by another request.".into())),
        Err(StoreError::AlreadyMember) => {
            Err(ApiError::Conflict(format!("Portal {} already takes part in this collaboration.", guest.portal.id)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads and checks the response against the invitation it answers: the invitation as read, as it would be once
/// imported, and the participant the import adds. Shared with `validate_invitation_response`.
pub(super) async fn check(
    app: &App,
    c: &Collaboration,
    params: &crate::http::arcgis::Params,
) -> Result<(CollaborationInvitation, CollaborationInvitation, Participant), ApiError> {
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
    };
    Ok((invitation, imported, guest))
}
