//! `POST .../acceptCollaborationInvitation` `invitationFile` or `invitationJSON`, `guestContactFirstname`,
//! `guestContactLastname`, `guestContactEmailAddress`: the guest accepts a file it checked (as
//! `validateCollaborationInvitation` does): it keeps the collaboration and the host as its participant, with the
//! invitation's nonce sealed for its response. Once: a second accept of the same collaboration is a 409.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::domain::Secret;
use crate::domain::collaboration::{Collaboration, Contact, Participant, Side, open_invitation};
use crate::http::{ApiError, arcgis};
use crate::ops::Answer;
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let p = &r.params;
    let file = super::file_param(p, "invitationFile", "invitationJSON")?;
    let now = app.clock.now();
    let request = open_invitation(file, &r.portal.url, now, &super::verifies)?;
    let contact = Contact::parse(
        p.required("guestContactFirstname")?,
        p.required("guestContactLastname")?,
        p.required("guestContactEmailAddress")?,
    )?;
    let collaboration = Collaboration::joined(&request, contact, now)?;
    let sealed = app.sealer.seal(request.id.as_invitation_id(), &Secret::presented(&request.nonce)).await?;
    let host = Participant {
        collaboration_id: collaboration.id,
        portal: collaboration.host.clone(),
        side: Side::Host,
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
    };
    match app.store.join_collaboration(&collaboration, &host).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(format!(
                "This portal already takes part in collaboration {}.",
                collaboration.id
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let body = json!({"success": true, "collaborationId": collaboration.id.to_string()});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation accepted", &body))
}
