//! `GET /api/v1-preview/communities/{communityId}/summary`: ADH's `CommunitySummaryInformation` for a member
//! tenant. ADH counts the streams shared into the community and those the caller's tenant contributed; rsvp shares
//! no streams (communities here hold tenants and invitations only), so both numbers are, truthfully, zero, as the
//! stream search is, truthfully, empty.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use super::community_for_member;
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::{Answer, request, response};
use crate::ops::caller;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    total_streams: u32,
    streams_contributed: u32,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    community_for_member(&app, id, &caller).await?;
    Ok(response::json(StatusCode::OK, &Summary { total_streams: 0, streams_contributed: 0 }))
}
