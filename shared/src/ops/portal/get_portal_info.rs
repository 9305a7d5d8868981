//! `GET /sharing/rest/info`: what a client asks a portal before it signs in: that it takes tokens. rsvp issues
//! none itself (they come from the identity provider), so no `tokenServicesUrl` is given; Esri's client then
//! keeps using the token it was given.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_unscoped(&app, &req).await?;
    let body = json!({
        "currentVersion": super::CURRENT_VERSION,
        "owningSystemUrl": r.portal.url.as_str(),
        "authInfo": {"isTokenBasedSecurity": true},
    });
    Ok(arcgis::answer(r.format, StatusCode::OK, "Portal info", &body))
}
