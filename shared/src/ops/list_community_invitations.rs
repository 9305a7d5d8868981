//! `GET /api/v1-preview/communities/{communityId}/invitations?skip&count`: the community's invitations, newest
//! first, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CommunityInvitation;
use super::{Answer, as_member, caller};
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::{request, response};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let paging = request::paging(&req)?;
    let page = as_member(&app, id, &caller, app.store.list_community_invitations(id, &paging)).await?;
    let body = CommunityInvitation::list(&page.items, app.clock.now());
    let next = request::next_page_url(&req, &paging, page.next.as_ref());
    Ok(response::with_next_link(response::json(StatusCode::OK, &body), next))
}
