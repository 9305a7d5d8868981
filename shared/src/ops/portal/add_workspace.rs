//! `POST .../collaborations/{collaborationId}/addWorkspace` `workspaceName, workspaceDescription`: the host adds a
//! workspace (at most 20); the save is conditional on the version read, so two racing adds both land or one is told.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use super::wire::WorkspaceBody;
use crate::app::App;
use crate::domain::collaboration::Workspace;
use crate::http::arcgis;
use crate::ops::Answer;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let workspace = Workspace::create(r.params.required("workspaceName")?, r.params.get("workspaceDescription"))?;
    let next = c.add_workspace(workspace.clone(), app.clock.now())?;
    app.store.put_collaboration(&next, Some(c.version)).await?;
    let workspace =
        WorkspaceBody { id: workspace.id.to_string(), name: workspace.name, description: workspace.description };
    let body = Added { success: true, workspace };
    Ok(arcgis::answer(r.format, StatusCode::OK, "Workspace", &body))
}

#[derive(Serialize)]
struct Added {
    success: bool,
    workspace: WorkspaceBody,
}
