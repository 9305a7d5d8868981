//! `DELETE /api/v1-preview/communities/{communityId}/tenants/{tenantId}`: a community admin removes a tenant.
//! The owner tenant cannot be removed from its own community, and a tenant awaiting confirmation leaves through its
//! invitation (Decline) instead, so that invitation is never left stuck in Accepted.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::community_for_admin;
use crate::app::App;
use crate::domain::{CommunityId, TenantId};
use crate::http::{Answer, ApiError, request, response};
use crate::ops::caller;
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let tenant = request::path(&req, "tenantId", TenantId::parse)?;
    let community = community_for_admin(&app, id, &caller).await?;
    if tenant == community.owner {
        return Err(ApiError::Conflict("The owner tenant cannot be removed from its own community.".into()));
    }
    match app.store.remove_member(id, &tenant).await {
        Ok(()) => Ok(response::empty(StatusCode::NO_CONTENT)),
        Err(StoreError::Conflict) => match app.store.get_membership(id, &tenant).await? {
            Some(m) if !m.is_active() => Err(ApiError::Conflict(format!(
                "Tenant {tenant} is awaiting confirmation; decline its accepted invitation instead."
            ))),
            _ => Err(ApiError::NotFound(format!("Tenant {tenant} is not in community {id}."))),
        },
        Err(e) => Err(e.into()),
    }
}
