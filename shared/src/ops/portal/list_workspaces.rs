//! `GET .../collaborations/{collaborationId}/workspaces?start&num`: the collaboration's workspaces, in the order
//! they were added, each with the participants' access to it.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::WorkspaceBody;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::collaboration(&app, &req).await?;
    let participants = app.store.list_participants(c.id).await?;
    let all: Vec<_> = c.workspaces.iter().map(|w| WorkspaceBody::with_access(c.id, w, &participants)).collect();
    let body = super::page(&r.params, "workspaces", all)?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Workspaces", &body))
}
