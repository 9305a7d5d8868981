//! `GET .../collaborations/{collaborationId}`: one collaboration, hosted or joined.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CollaborationBody;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::collaboration(&app, &req).await?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Collaboration", &CollaborationBody::new(&c)))
}
