//! `GET /api/v1-preview/communities?skip&count`: the communities the caller's tenant is an Active member of.

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::Request;

use super::wire::CommunityBody;
use crate::app::App;
use crate::http::{Answer, request, response};
use crate::ops::{caller, require_tenant_member};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    require_tenant_member(&caller)?;
    let paging = request::paging(&req)?;
    let page = app.store.list_tenant_communities(&caller.tenant, &paging).await?;
    // The memberships give the order and the page; the communities, read with them, their current name and
    // description. One deleted between the two reads is left out.
    let ids: Vec<_> = page.items.iter().map(|m| m.community_id).collect();
    let communities: HashMap<_, _> = app.store.get_communities(&ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let body: Vec<_> = ids.iter().filter_map(|id| communities.get(id)).map(CommunityBody::summary).collect();
    Ok(response::page(&req, &paging, page.next.as_ref(), &[], &body))
}
