//! `GET .../collaborations/{collaborationId}/participants?start&num`: the portals this one knows in the
//! collaboration, host first, this portal itself among them: on the host, itself and the guests whose responses
//! it imported; on a guest, the host and itself.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::participants;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::collaboration(&app, &req).await?;
    let stored = app.store.list_participants(c.id).await?;
    let all = participants(&c, r.portal, &stored);
    let body = super::page(&r.params, "participants", all)?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Participants", &body))
}
