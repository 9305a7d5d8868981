//! `POST .../collaborations/{collaborationId}/addWorkspace` `collaborationWorkspaceName`,
//! `collaborationWorkspaceDescription`, `config`, `portalGroupId` (the REST reference's and Esri's client's
//! names): the host adds a workspace (at most 20); the save is conditional on the version read, so two racing adds
//! both land or one is told. rsvp links no portal groups and keeps no workspace configuration: `portalGroupId` is
//! accepted and not kept, `config` must be a JSON object (Esri's client sends `{}`) and is not kept either.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use super::wire::WorkspaceBody;
use crate::app::App;
use crate::domain::collaboration::Workspace;
use crate::http::{Answer, ApiError, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let p = &r.params;
    if let Some(config) = p.get("config")
        && !serde_json::from_str::<serde_json::Value>(config).is_ok_and(|v| v.is_object())
    {
        return Err(ApiError::bad_request("config must be a JSON object, such as {}."));
    }
    let workspace =
        Workspace::create(p.required("collaborationWorkspaceName")?, p.get("collaborationWorkspaceDescription"))?;
    let next = c.add_workspace(workspace.clone(), app.clock.now())?;
    app.store.put_collaboration(&next, Some(c.version)).await?;
    let body = Added { success: true, workspace: WorkspaceBody::new(c.id, &workspace) };
    Ok(arcgis::answer(r.format, StatusCode::OK, "Workspace", &body))
}

#[derive(Serialize)]
struct Added {
    success: bool,
    workspace: WorkspaceBody,
}
