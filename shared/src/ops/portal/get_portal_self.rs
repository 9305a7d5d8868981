//! `GET /sharing/rest/portals/{self|portalId}`: this portal's description with its public key, which anyone may
//! read (no token): other portals check this portal's files with it. With a valid token it also names the caller
//! as `user`, which is how Esri's client learns who it is signed in as (it then reads `community/users/{name}`).
//! `portalName` is what clients tell ArcGIS Online apart by; `portalMode` says this is one organisation's portal.
//! `publicKeyFingerprint` is the key's SHA-256, which an administrator passes to another portal that cannot reach
//! this one.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use crate::app::App;
use crate::domain::collaboration::KeyFingerprint;
use crate::http::{Answer, arcgis, request};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortalSelf {
    id: String,
    name: String,
    portal_name: String,
    url: String,
    portal_type: &'static str,
    portal_mode: &'static str,
    is_portal: bool,
    version: &'static str,
    current_version: &'static str,
    public_key: String,
    /// The SHA-256 of `public_key`'s DER, in the form `hostKeyFingerprint` / `guestKeyFingerprint` take: what an
    /// administrator reads out to another portal's when that one cannot reach this portal.
    public_key_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<serde_json::Value>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read(&app, &req).await?;
    // Public: a request without a (valid) token is answered too, without `user`.
    let caller = request::principal(&req, &app.config.claims).ok();
    let public_key = app.signer.public_key().await?.to_base64();
    let body = PortalSelf {
        id: r.portal.id.to_string(),
        name: r.portal.name.clone(),
        portal_name: r.portal.name.clone(),
        url: r.portal.url.to_string(),
        portal_type: "onpremises",
        portal_mode: "singletenant",
        is_portal: true,
        version: env!("CARGO_PKG_VERSION"),
        current_version: super::CURRENT_VERSION,
        public_key_fingerprint: KeyFingerprint::of_key(&public_key).map(|f| f.to_string()).unwrap_or_default(),
        public_key,
        user: caller.map(|caller| super::user_body(r.portal, &caller)),
    };
    Ok(arcgis::answer(r.format, StatusCode::OK, "Portal", &body))
}
