//! `POST .../collaborations/{collaborationId}/validateInvitationResponse` `invitationResponseFile`: the host
//! checks a response exactly as `importInvitationResponse` would, without importing it.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::http::arcgis;
use crate::ops::Answer;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    super::import_invitation_response::check(&app, &c, &r.params).await?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Response valid", &SUCCESS))
}
