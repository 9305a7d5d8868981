//! `GET /api/v1-preview/communities?skip&count`: the communities the caller's tenant is an Active member of.

use std::sync::Arc;

use lambda_http::Request;

use super::wire::CommunityBody;
use super::{Answer, caller, require_tenant_member};
use crate::app::App;
use crate::http::{request, response};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    require_tenant_member(&caller)?;
    let paging = request::paging(&req)?;
    let page = app.store.list_tenant_communities(&caller.tenant, &paging).await?;
    let body: Vec<_> = page.items.iter().map(CommunityBody::summary).collect();
    Ok(response::page(&req, &paging, page.next.as_ref(), &body))
}
