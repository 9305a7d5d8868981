//! `DELETE /api/users/invitations/{invitationId}`: its sender or a TenantAdministrator withdraws a platform
//! invitation. Its code stops working at once (verify and sign-up answer that it was revoked), an email that has
//! not gone out is withdrawn, and the address may be invited again.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::tenant_invitation;
use crate::app::App;
use crate::domain::InvitationId;
use crate::http::{Answer, ApiError, request, response};
use crate::ops::{ATTEMPTS, caller};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    for _ in 0..ATTEMPTS {
        let invitation = tenant_invitation(&app, id, &caller).await?;
        let transition = invitation.revoke(&caller, app.clock.now())?;
        match app.store.apply_user_invitation(&transition).await {
            Ok(()) => return Ok(response::empty(StatusCode::NO_CONTENT)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; read it and try again.".into()))
}
