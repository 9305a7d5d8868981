//! `POST .../validateCollaborationInvitation` `invitationFile` or `invitationJSON`: the guest checks a file
//! without accepting it: its signature, its expiry, and that this portal is the one invited.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::domain::collaboration::open_invitation;
use crate::http::arcgis;
use crate::ops::Answer;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let file = super::file_param(&r.params, "invitationFile", "invitationJSON")?;
    open_invitation(file, &r.portal.url, app.clock.now(), &super::verifies)?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation valid", &SUCCESS))
}
