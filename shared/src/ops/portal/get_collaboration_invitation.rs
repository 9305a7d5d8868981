//! `GET .../collaborations/{collaborationId}/invitations/{invitationId}`: one invitation, as the reference API shows
//! it, with `invitationString` (the file, rebuilt byte for byte with its unsealed nonce) for the host to send again.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::InvitationBody;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let (_, invitation) = super::hosted_invitation(&app, &req).await?;
    let nonce = super::nonce_of(&app, invitation.id, &invitation.sealed_nonce).await?;
    let body = InvitationBody::new(&invitation, Some(invitation.file(&nonce)));
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation", &body))
}
