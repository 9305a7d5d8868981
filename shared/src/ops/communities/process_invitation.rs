//! `PUT /api/v1-preview/communityinvitations/{invitationId}` `{Action, ContactEmail}`: the handshake's steps.
//!
//! The domain decides whether the (state, action, caller) triple is allowed; the store writes the decision only if
//! the invitation is still the version that was read, so of two racing requests exactly one wins and the other gets
//! a 409 naming the state the winner left behind. Accept is bound to the recipient: a TenantAdministrator whose
//! verified address is the recipient's (or in its domain, when the invitation allows it); a caller who only holds
//! the link's secret is refused with a 403 that does not name the recipient, and may still Decline. 202 when
//! someone is notified (Accept, Confirm, Resend), else 200.
//! Resend is paced by the community owner tenant's `ResendCooldownMinutes` (its user settings), never less than the
//! deployment's floor, and its email is drawn from that tenant's and the recipient's mail budgets
//! (see `ops::budget`). A link-only invitation's Resend (it was created with `SendEmail: false`) sends nothing and
//! draws nothing: it answers 200 with the new `InvitationUrl`.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::{invitation_not_found, relation};
use crate::app::App;
use crate::domain::{Action, Actor, Email, InvitationId};
use crate::http::{Answer, ApiError, invalid_email, request, response};
use crate::ops::wire::LinkRenewed;
use crate::ops::{budget, caller, or_defaults, public_base};
use crate::store::StoreError;

/// Reads and decisions made before giving up on a contended invitation.
const ATTEMPTS: usize = 3;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    action: Option<String>,
    contact_email: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    let input: Input = request::json_body(&req)?;
    let action = input
        .action
        .as_deref()
        .ok_or_else(|| ApiError::bad_request(format!("Action is required: one of {}.", Action::NAMES)))?;
    let action = Action::parse(action)
        .ok_or_else(|| ApiError::bad_request(format!("Action is not known: use one of {}.", Action::NAMES)))?;
    let contact_email = match input.contact_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(Email::parse(e).map_err(|err| invalid_email("ContactEmail", err))?),
        None => None,
    };

    // A lost race is retried from a fresh read, so the loser is told what the winner did (e.g. "the invitation is
    // InvitationAccepted") by the same rules that decide everything else.
    for _ in 0..ATTEMPTS {
        let invitation =
            app.store.get_invitation(id).await?.filter(|i| !i.is_deleted()).ok_or_else(|| invitation_not_found(id))?;
        let (is_recipient, is_community_admin) = relation(&invitation, &caller, &req);
        if !is_recipient && !is_community_admin {
            return Err(invitation_not_found(id));
        }
        // Only Accept reads the community (its membership copies it); the other actions cost one read less.
        let community = match action.needs_community() {
            true => {
                Some(app.store.get_community(invitation.community_id).await?.ok_or_else(|| invitation_not_found(id))?)
            }
            false => None,
        };
        let actor = Actor { principal: Some(&caller), is_recipient, is_community_admin };
        let mut policy = app.config.invitations;
        let (mut saved, mut suppressed) = (None, Vec::new());
        if action == Action::Resend {
            // Resend is paced by the owner tenant's ResendCooldownMinutes, as platform invitations are; its
            // settings and whether the address still takes its mail are one read.
            let tenant = &invitation.issuing_tenant;
            let (stored, found) = app.store.settings_and_suppressions(tenant, &[&invitation.recipient]).await?;
            let (settings, version) = or_defaults(&app, stored);
            policy.resend_cooldown_minutes = app.config.mail.resend_cooldown(settings.resend_cooldown_minutes);
            (saved, suppressed) = (version.map(|_| settings), found);
        }
        let now = app.clock.now();
        let mut transition =
            invitation.process(community.as_ref(), action, actor, contact_email.clone(), now, policy)?;
        // Resend's email carries the new secret, sealed, in the outbox written with the change, and is charged to
        // the owner tenant (given back if the change is not written). A link-only invitation's Resend emails
        // nothing: its answer carries the new link.
        let link = format!("{}/invite/{id}", public_base(&app, &req));
        let mut reservation = None;
        if let (Some(secret), false) = (&transition.new_secret, invitation.options.link_only) {
            let sealed = app.sealer.seal(id, secret).await?;
            transition.invitation.attach_link(link.clone(), sealed);
            let (tenant, recipients) = (&invitation.issuing_tenant, [&invitation.recipient]);
            reservation =
                Some(budget::reserve_known(&app, tenant, saved.as_ref(), &suppressed, &recipients, now).await?);
        }
        let applied = app.store.apply(&transition).await;
        if let (Err(_), Some(reservation)) = (&applied, reservation) {
            reservation.release(&app).await;
        }
        match applied {
            Ok(()) => {
                if let (Some(secret), true) = (&transition.new_secret, invitation.options.link_only) {
                    let renewed = LinkRenewed { invitation_url: format!("{link}?token={}", secret.expose()) };
                    return Ok(response::json(StatusCode::OK, &renewed));
                }
                let status = if transition.notifies { StatusCode::ACCEPTED } else { StatusCode::OK };
                return Ok(response::empty(status));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; read it and try again.".into()))
}
