//! `GET /sharing/rest`: the root of the portal's REST API, which clients read for `currentVersion`.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_unscoped(&app, &req).await?;
    let body = json!({"currentVersion": super::CURRENT_VERSION});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Portal REST API", &body))
}
