//! `GET /sharing/rest/community/users/{username}`: a portal user. rsvp keeps no users of its own (the identity
//! provider does), so it knows only the caller: their own username answers them, any other is a 404.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use crate::app::App;
use crate::domain::Principal;
use crate::http::{Answer, ApiError, arcgis, request};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller: Principal = request::principal(&req, &app.config.claims)?;
    let r = super::read_unscoped(&app, &req).await?;
    let username = request::path(&req, "username", |_, v| Ok::<_, ApiError>(v.to_owned()))?;
    if username != caller.user.as_str() {
        let shown: String = username.chars().take(64).collect();
        return Err(ApiError::NotFound(format!("User {shown} was not found.")));
    }
    Ok(arcgis::answer(r.format, StatusCode::OK, "User", &super::user_body(r.portal, &caller)))
}
