//! `GET .../collaborations/{collaborationId}/workspaces/{workspaceId}`: one workspace, with the participants'
//! access to it.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::WorkspaceBody;
use crate::app::App;
use crate::domain::collaboration::WorkspaceId;
use crate::http::{Answer, ApiError, arcgis, request};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::collaboration(&app, &req).await?;
    let id = request::path(&req, "workspaceId", WorkspaceId::parse)?;
    let workspace =
        c.workspaces.iter().find(|w| w.id == id).ok_or_else(|| {
            ApiError::NotFound(format!("Workspace {id} is not a workspace of collaboration {}.", c.id))
        })?;
    let participants = app.store.list_participants(c.id).await?;
    let body = WorkspaceBody::with_access(c.id, workspace, &participants);
    Ok(arcgis::answer(r.format, StatusCode::OK, "Workspace", &body))
}
