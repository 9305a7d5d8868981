//! `GET /api/v1-preview/communities/{communityId}`: the community with its tenants, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::community_not_found;
use super::wire::CommunityBody;
use crate::app::App;
use crate::domain::{CommunityId, Membership};
use crate::http::request::{self, MAX_COUNT};
use crate::http::{Answer, response};
use crate::ops::{caller, require_tenant_member};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    require_tenant_member(&caller)?;
    // The embedded tenant list is capped at one page; list_community_tenants walks the rest. The community and
    // that page come in one read, and the caller's membership is almost always on it.
    let (community, tenants) = app.store.get_community_with_members(id, MAX_COUNT).await?;
    let membership = match tenants.items.iter().find(|m| m.tenant == caller.tenant) {
        Some(m) => Some(m.clone()),
        None if tenants.next.is_some() => app.store.get_membership(id, &caller.tenant).await?,
        None => None,
    };
    membership.filter(Membership::is_active).ok_or_else(|| community_not_found(id))?;
    let community = community.ok_or_else(|| community_not_found(id))?;
    Ok(response::json(StatusCode::OK, &CommunityBody::new(&community, &tenants.items)))
}
