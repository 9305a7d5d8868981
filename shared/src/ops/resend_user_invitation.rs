//! `POST /api/users/invitations/{invitationId}/resend`: its sender or a TenantAdministrator sends a pending (or
//! expired) platform invitation again: a new code (the old link dies), a new expiry from the tenant's
//! `InvitedUserValidDays`, and a new email, at most once per `ResendCooldownMinutes` (429 with `Retry-After`).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::users::{ATTEMPTS, attach_code, settings_of, tenant_invitation};
use super::{Answer, caller};
use crate::app::App;
use crate::domain::InvitationId;
use crate::http::{ApiError, request, response};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    let (settings, _) = settings_of(&app, &caller.tenant).await?;
    for _ in 0..ATTEMPTS {
        let invitation = tenant_invitation(&app, id, &caller).await?;
        let mut transition = invitation.resend(&caller, app.clock.now(), &settings)?;
        if let Some(code) = &transition.new_code {
            attach_code(&app, &req, &mut transition.invitation, code).await?;
        }
        match app.store.apply_user_invitation(&transition).await {
            Ok(()) => return Ok(response::empty(StatusCode::ACCEPTED)),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::PendingInvitation(other)) => {
                return Err(ApiError::Conflict(format!(
                    "Invitation {other} is now the pending invitation for this address; resend that one instead."
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; read it and try again.".into()))
}
