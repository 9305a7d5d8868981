//! `GET /api/v1-preview/search/communities/{communityId}/streams?query&skip&count&searchTenantId`: ADH's search
//! for the streams shared into a community, for a member tenant. rsvp shares no streams, so every search of a
//! community the caller may see finds none: `[]`. The parameters are still checked as ADH's are, so a bad request
//! is told so rather than answered with an empty list.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};

use super::community_for_member;
use crate::app::App;
use crate::domain::{CommunityId, TenantId};
use crate::http::{Answer, ApiError, request, response};
use crate::ops::caller;

/// The longest `query` taken.
pub const MAX_QUERY_CHARS: usize = 1_000;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    request::paging(&req)?;
    let query = req.query_string_parameters_ref();
    let get = |name: &str| query.and_then(|q| q.first(name));
    if get("query").is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::bad_request(format!("query must be at most {MAX_QUERY_CHARS} characters long.")));
    }
    if let Some(tenant) = get("searchTenantId") {
        TenantId::parse("searchTenantId", tenant)?;
    }
    community_for_member(&app, id, &caller).await?;
    Ok(response::json(StatusCode::OK, &Vec::<()>::new()))
}
