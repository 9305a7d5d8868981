//! `GET /api/users/invitations?State&skip&count`: platform invitations, newest first. A TenantAdministrator sees
//! all of the tenant's; any other member sees those they sent. `State` (Pending, Accepted, Declined, Revoked or
//! Expired) narrows the list. Codes never appear here.

use std::sync::Arc;

use lambda_http::{Request, RequestExt};

use super::wire::UserInvitationBody;
use crate::app::App;
use crate::domain::UserReadState;
use crate::http::{Answer, ApiError, request, response};
use crate::ops::{caller, require_tenant_member};
use crate::store::UserInvitationFilter;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    require_tenant_member(&caller)?;
    let paging = request::paging(&req)?;
    let state = match req.query_string_parameters_ref().and_then(|q| q.first("State")) {
        None => None,
        Some(value) => Some(
            UserReadState::parse(value)
                .ok_or_else(|| ApiError::bad_request(format!("State must be one of {}.", UserReadState::NAMES)))?,
        ),
    };
    let now = app.clock.now();
    let inviter = (!caller.is_tenant_admin()).then(|| caller.user.clone());
    let filter = UserInvitationFilter { inviter, state, now };
    let page = app.store.list_user_invitations(&caller.tenant, &filter, &paging).await?;
    let body: Vec<_> = page.items.iter().map(|i| UserInvitationBody::new(i, now)).collect();
    Ok(response::page(&req, &paging, page.next.as_ref(), &["State"], &body))
}
