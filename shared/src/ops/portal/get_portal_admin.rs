//! `GET /portaladmin`: the root of the Portal Administrator API, which Esri's client reads when `gis.admin` is
//! first used (before `gis.admin.collaborations`). rsvp serves none of that API's resources, and says so with an
//! empty `resources` list: a 404 here would be read as the root's properties, an `{"error"}` body would stop the
//! client.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::domain::{Principal, Role};
use crate::http::{Answer, ApiError, arcgis, request};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller: Principal = request::principal(&req, &app.config.claims)?;
    if !caller.has(Role::PortalAdministrator) {
        return Err(ApiError::Forbidden("This needs the PortalAdministrator role.".into()));
    }
    let r = super::read_unscoped(&app, &req).await?;
    let body = json!({"resources": [], "currentVersion": super::CURRENT_VERSION});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Portal administration", &body))
}
