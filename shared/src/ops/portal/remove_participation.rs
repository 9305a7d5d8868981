//! `POST .../collaborations/{collaborationId}/removeParticipation`: a guest leaves a collaboration it joined; it
//! forgets the collaboration and the host.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::SUCCESS;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::joined(&app, &req).await?;
    let participants = app.store.list_participants(c.id).await?;
    app.store.leave_collaboration(&c, &participants, app.clock.now()).await?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Participation removed", &SUCCESS))
}
