//! `GET /api/v1-preview/communities/{communityId}`: the community with its tenants, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CommunityBody;
use super::{Answer, caller, community_for_member};
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::request::{self, MAX_COUNT};
use crate::http::response;
use crate::store::PageRequest;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let (community, _) = community_for_member(&app, id, &caller).await?;
    // The embedded tenant list is capped at one page; list_community_tenants walks the rest.
    let first = PageRequest { skip: 0, count: MAX_COUNT, after: None };
    let tenants = app.store.list_members(id, &first).await?;
    Ok(response::json(StatusCode::OK, &CommunityBody::new(&community, &tenants.items)))
}
