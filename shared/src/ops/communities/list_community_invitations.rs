//! `GET /api/v1-preview/communities/{communityId}/invitations?skip&count`: the community's invitations, newest
//! first, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;

use super::as_member;
use super::wire::CommunityInvitationBody;
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::{Answer, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let paging = request::paging(&req)?;
    let page = as_member(&app, id, &caller, app.store.list_community_invitations(id, &paging)).await?;
    let body = CommunityInvitationBody::list(&page.items, app.clock.now());
    Ok(response::page(&req, &paging, page.next.as_ref(), &[], &body))
}
