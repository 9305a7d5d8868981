//! `POST .../collaborations/{collaborationId}/validateInvitationResponse` `invitationResponseFile`, optionally
//! `guestKeyFingerprint`: the host checks a response exactly as `importInvitationResponse` would, without
//! importing it; the answer shows the guest key's fingerprint (`guestKeyFingerprint`).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let checked = super::import_invitation_response::check(&app, &c, &r.params).await?;
    let body = json!({"success": true, "guestKeyFingerprint": checked.fingerprint.as_str()});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Response valid", &body))
}
