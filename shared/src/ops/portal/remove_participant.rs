//! `POST .../collaborations/{collaborationId}/participants/{participantPortalId}/remove`: the host removes a
//! guest portal from its collaboration.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::domain::collaboration::PortalId;
use crate::http::{Answer, ApiError, arcgis, request};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let portal = request::path(&req, "participantPortalId", PortalId::parse)?;
    if portal == r.portal.id {
        return Err(ApiError::Conflict(format!(
            "Portal {portal} hosts this collaboration; the host cannot be removed."
        )));
    }
    match app.store.remove_participant(c.id, &portal, app.clock.now()).await {
        Ok(()) => Ok(arcgis::answer(r.format, StatusCode::OK, "Participant removed", &SUCCESS)),
        Err(StoreError::Conflict) => Err(ApiError::NotFound(format!("Portal {portal} is not a participant."))),
        Err(e) => Err(e.into()),
    }
}
