//! `POST .../collaborations/{collaborationId}/exportInvitationResponse`: the guest's signed answer to the
//! invitation it accepted, echoing the invitation's id and nonce, as a file for the host to import.

use std::sync::Arc;

use lambda_http::Request;

use crate::app::App;
use crate::domain::collaboration::{InvitationResponse, Side, signed_file};
use crate::http::{Answer, ApiError, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::joined(&app, &req).await?;
    let host = app
        .store
        .list_participants(c.id)
        .await?
        .into_iter()
        .find(|p| p.side == Side::Host)
        .ok_or_else(|| ApiError::Conflict("This portal no longer knows the collaboration's host.".into()))?;
    let sealed = host.sealed_nonce.as_deref().ok_or_else(|| ApiError::Internal("the host has no nonce".into()))?;
    let nonce = super::nonce_of(&app, host.invitation_id, sealed).await?;
    let contact = c.guest_contact.clone().ok_or_else(|| ApiError::Internal("no guest contact".into()))?;
    let response = InvitationResponse {
        invitation_id: host.invitation_id,
        collaboration_id: c.id,
        nonce: nonce.expose().to_owned(),
        guest_portal_id: r.portal.id.clone(),
        guest_portal_url: r.portal.url.clone(),
        guest_portal_name: r.portal.name.clone(),
        public_key: app.signer.public_key().await?.to_base64(),
        contact_firstname: contact.first_name,
        contact_lastname: contact.last_name,
        contact_email_address: contact.email.to_string(),
        created: app.clock.now().millis(),
    };
    let payload = serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.to_string()))?;
    let signature = super::sign(&app, &payload).await?;
    let name = format!("collaboration-{}.response", r.portal.url.host());
    Ok(arcgis::download(&name, signed_file("invitationResponse", &payload, &signature)))
}
