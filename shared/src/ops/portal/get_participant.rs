//! `GET .../collaborations/{collaborationId}/participants/{participantPortalId}`: one participant, this portal
//! itself included, as `participants` lists it.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::participants;
use crate::app::App;
use crate::domain::collaboration::PortalId;
use crate::http::{Answer, ApiError, arcgis, request};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::collaboration(&app, &req).await?;
    let portal = request::path(&req, "participantPortalId", PortalId::parse)?;
    let stored = app.store.list_participants(c.id).await?;
    let participant =
        participants(&c, r.portal, &stored).into_iter().find(|p| p.portal_info.id == portal.as_str()).ok_or_else(
            || ApiError::NotFound(format!("Portal {portal} is not a participant of collaboration {}.", c.id)),
        )?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Participant", &participant))
}
