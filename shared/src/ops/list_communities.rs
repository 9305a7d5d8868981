//! `GET /api/v1-preview/communities?skip&count`: the communities the caller's tenant is an Active member of.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CommunityBody;
use super::{Answer, caller};
use crate::app::App;
use crate::http::{ApiError, request, response};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    if !caller.is_tenant_member() {
        return Err(ApiError::Forbidden("This needs the TenantMember or TenantAdministrator role.".into()));
    }
    let paging = request::paging(&req)?;
    let page = app.store.list_tenant_communities(&caller.tenant, &paging).await?;
    let body: Vec<_> = page.items.iter().map(CommunityBody::summary).collect();
    let next = request::next_page_url(&req, &paging, page.next.as_ref());
    Ok(response::with_next_link(response::json(StatusCode::OK, &body), next))
}
