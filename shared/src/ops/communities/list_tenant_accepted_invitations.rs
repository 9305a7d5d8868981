//! `GET /api/v1-preview/tenants/{tenantId}/communityinvitations?skip&count`: invitations the tenant has accepted
//! and that wait for the community's confirmation. Only that tenant's administrators may read it.

use std::sync::Arc;

use lambda_http::Request;

use super::wire::CommunityInvitationBody;
use crate::app::App;
use crate::domain::TenantId;
use crate::http::{Answer, ApiError, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let tenant = request::path(&req, "tenantId", TenantId::parse)?;
    let paging = request::paging(&req)?;
    if tenant != caller.tenant || !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden(
            "Only a TenantAdministrator of this tenant can list its accepted invitations.".into(),
        ));
    }
    let page = app.store.list_accepted_invitations(&tenant, &paging).await?;
    let body = CommunityInvitationBody::list(&page.items, app.clock.now());
    Ok(response::page(&req, &paging, page.next.as_ref(), &[], &body))
}
