//! `GET /api/v1-preview/communities/{communityId}/tenants`: the community's Active tenants. A tenant awaiting
//! confirmation is not listed (ADH's clients know no status for it): its accepted invitation shows it, in the
//! community's invitations and in its own tenant's accepted invitations. A page can therefore hold fewer than
//! `count` tenants while a next page follows.

use std::sync::Arc;

use lambda_http::Request;

use super::as_member;
use super::wire::CommunityTenant;
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::{Answer, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let paging = request::paging(&req)?;
    let page = as_member(&app, id, &caller, app.store.list_members(id, &paging)).await?;
    let body = CommunityTenant::list(&page.items);
    Ok(response::page(&req, &paging, page.next.as_ref(), &[], &body))
}
