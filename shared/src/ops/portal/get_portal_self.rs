//! `GET /sharing/rest/portals/{self|portalId}`: this portal's description with its public key, which anyone may
//! read (no token): other portals check this portal's files with it.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use crate::app::App;
use crate::http::arcgis;
use crate::ops::Answer;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortalSelf {
    id: String,
    name: String,
    url: String,
    portal_type: &'static str,
    version: &'static str,
    public_key: String,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read(&app, &req).await?;
    let body = PortalSelf {
        id: r.portal.id.to_string(),
        name: r.portal.name.clone(),
        url: r.portal.url.to_string(),
        portal_type: "onpremises",
        version: env!("CARGO_PKG_VERSION"),
        public_key: app.signer.public_key().await?.to_base64(),
    };
    Ok(arcgis::answer(r.format, StatusCode::OK, "Portal", &body))
}
