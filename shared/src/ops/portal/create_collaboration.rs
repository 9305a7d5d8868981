//! `POST .../createCollaboration`: this portal hosts a new collaboration with its first workspace.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use super::wire::CollaborationBody;
use crate::app::App;
use crate::domain::collaboration::{Collaboration, Contact, Workspace};
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let p = &r.params;
    let workspace = Workspace::create(p.required("workspaceName")?, p.get("workspaceDescription"))?;
    let contact = Contact::parse(
        p.required("hostContactFirstname")?,
        p.required("hostContactLastname")?,
        p.required("hostContactEmailAddress")?,
    )?;
    let c = Collaboration::create(
        r.portal.clone(),
        p.required("name")?,
        p.get("description"),
        workspace,
        contact,
        app.clock.now(),
    )?;
    app.store.put_collaboration(&c, None).await?;
    let body = Created { success: true, collaboration: CollaborationBody::new(&c) };
    Ok(arcgis::answer(r.format, StatusCode::OK, "Collaboration", &body))
}

#[derive(Serialize)]
struct Created {
    success: bool,
    collaboration: CollaborationBody,
}
