//! `GET .../collaborations?start&num`: the collaborations this portal hosts or joined, oldest first.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CollaborationBody;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let all: Vec<_> = app.store.list_collaborations().await?.iter().map(CollaborationBody::new).collect();
    let body = super::page(&r.params, "collaborations", all)?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Collaborations", &body))
}
