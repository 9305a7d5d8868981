//! `POST /api/users/invitations/{invitationId}/resend`: its sender or a TenantAdministrator sends a pending (or
//! expired) platform invitation again: a new code (the old link dies), a new expiry from the tenant's
//! `InvitedUserValidDays`, and a new email, at most once per `ResendCooldownMinutes` — never less than the
//! deployment's floor — (429 with `Retry-After`). The email is drawn from the tenant's and the address's mail
//! budgets as a new invitation is (see `ops::budget`).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::users::{ATTEMPTS, attach_code, settings_of, tenant_invitation};
use super::{Answer, budget, caller};
use crate::app::App;
use crate::domain::InvitationId;
use crate::http::{ApiError, request, response};
use crate::store::StoreError;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    let (mut settings, version) = settings_of(&app, &caller.tenant).await?;
    settings.resend_cooldown_minutes = app.config.mail.resend_cooldown(settings.resend_cooldown_minutes);
    for _ in 0..ATTEMPTS {
        let invitation = tenant_invitation(&app, id, &caller).await?;
        let now = app.clock.now();
        let mut transition = invitation.resend(&caller, now, &settings)?;
        if let Some(code) = &transition.new_code {
            attach_code(&app, &req, &mut transition.invitation, code).await?;
        }
        let saved = version.is_some().then_some(&settings);
        let reservation = budget::reserve(&app, &caller.tenant, saved, &[&invitation.recipient], now).await?;
        let applied = app.store.apply_user_invitation(&transition).await;
        if applied.is_err() {
            // Nothing was sent: give the reservation back.
            reservation.release(&app).await;
        }
        match applied {
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
