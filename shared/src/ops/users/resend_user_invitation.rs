//! `POST /api/users/invitations/{invitationId}/resend`: its sender or a TenantAdministrator sends a pending (or
//! expired) platform invitation again: a new code (the old link dies), a new expiry from the tenant's
//! `InvitedUserValidDays`, and a new email, at most once per `ResendCooldownMinutes` — never less than the
//! deployment's floor — (429 with `Retry-After`). The email is drawn from the tenant's and the address's mail
//! budgets as a new invitation is (see `ops::budget`). A link-only invitation (`SendEmail: false`) gets a new code
//! and expiry but no email, and draws on no budget: the answer is 200 with its new `InvitationUrl`.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::{attach_code, tenant_invitation};
use crate::app::App;
use crate::domain::InvitationId;
use crate::http::{Answer, ApiError, request, response};
use crate::ops::wire::LinkRenewed;
use crate::ops::{ATTEMPTS, budget, caller, public_base, settings_of};
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
        // A link-only invitation emails nothing and draws nothing: the answer carries its new link.
        let mut reservation = None;
        if let (Some(code), false) = (&transition.new_code, invitation.options.link_only) {
            attach_code(&app, &req, &mut transition.invitation, code).await?;
            let saved = version.is_some().then_some(&settings);
            reservation = Some(budget::reserve(&app, &caller.tenant, saved, &[&invitation.recipient], now).await?);
        }
        let applied = app.store.apply_user_invitation(&transition).await;
        if let (Err(_), Some(reservation)) = (&applied, reservation) {
            // Nothing was sent: give the reservation back.
            reservation.release(&app).await;
        }
        match applied {
            Ok(()) => {
                if let (Some(code), true) = (&transition.new_code, invitation.options.link_only) {
                    let link = format!("{}/invite/{id}?token={}", public_base(&app, &req), code.expose());
                    return Ok(response::json(StatusCode::OK, &LinkRenewed { invitation_url: link }));
                }
                return Ok(response::empty(StatusCode::ACCEPTED));
            }
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
