//! `POST .../invitations/{invitationId}/invalidate`: the host withdraws an invitation; a response built from it
//! will not import.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let (_, invitation) = super::hosted_invitation(&app, &req).await?;
    let next = invitation.invalidate(app.clock.now())?;
    app.store.update_collaboration_invitation(&next, invitation.version, None).await?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation invalidated", &SUCCESS))
}
