//! `POST /api/users/invitations` `{EmailAddresses, Message}`: a signed-in user invites people to their tenant.
//!
//! In order: the tenant's settings must allow it (`InviteUnregisteredUsers`, else the reference API's 401); the request
//! is checked whole (every bad or disallowed address named, nothing created: 400); the emails are reserved atomically
//! on the tenant's mail budget, `MaxInvitationsPerDay` under the deployment's cap, and on each address's (see
//! `ops::budget`; 429 with `Retry-After` until the next UTC day when one would go over); then the invitations, their
//! emails (in the outbox, codes sealed) and their one-pending-per-address locks are written in one transaction. An
//! address that already has a pending invitation from the tenant is not invited again: it is left out of the answer,
//! and its reservation given back. The answer lists the addresses invited.
//!
//! With `SendEmail: false` the invitations are link-only: no email goes out, and the answer lists instead, for
//! each address invited, `{EmailAddress, InvitationId, InvitationUrl}` for the sender to hand on. They count on
//! the tenant's day budget of invitations, not on the addresses' of emails. `Locale` chooses the language of the
//! emails and page (else the tenant's `DefaultLocale`, else English).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::app::App;
use crate::domain::{Email, InviteRequest, Lifetime as _, Principal, Secret, UserInvitation, UserSettings};
use crate::http::{Answer, ApiError, request};
use crate::ops::idempotency::Idempotent;
use crate::ops::{ATTEMPTS, budget, caller, idempotency, public_base, require_tenant_member, settings_of};
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    email_addresses: Option<Vec<String>>,
    message: Option<String>,
    #[serde(flatten)]
    options: crate::ops::wire::OptionsInput,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    require_tenant_member(&caller)?;
    let input: Input = request::json_body(&req)?;
    // The tenant's settings are checked before a replay too: once an administrator has disabled inviting, a
    // replayed key answers as a new request would.
    let (settings, version) = settings_of(&app, &caller.tenant).await?;
    if !settings.invite_unregistered_users {
        return Err(ApiError::ForbiddenBySettings(
            "The tenant's settings forbid inviting users: InviteUnregisteredUsers is disabled.".into(),
        ));
    }
    idempotency::once(&app, &req, &caller, "invite_users", async {
        let invited = invite(&app, &req, &caller, (&settings, version.is_some()), input).await?;
        // The invitations say whether they are link-only (none at all answers `[]` either way).
        if !invited.iter().any(|(i, _)| i.options.link_only) {
            let addresses: Vec<String> = invited.iter().map(|(i, _)| i.recipient.to_string()).collect();
            return Idempotent::json(StatusCode::OK, &addresses, None);
        }
        // Link-only: the links are the answer, kept for a replay sealed (for the first invitation's id).
        let base = public_base(&app, &req);
        let links: Vec<InvitedLink> = invited
            .iter()
            .map(|(i, code)| InvitedLink {
                email_address: i.recipient.to_string(),
                invitation_id: i.id.to_string(),
                invitation_url: format!("{base}/invite/{}?token={}", i.id, code.expose()),
            })
            .collect();
        Idempotent::json(StatusCode::OK, &links, invited.first().map(|(i, _)| i.id))
    })
    .await
}

/// One link-only invitation in the answer: who, which, and the link its sender hands on.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InvitedLink {
    email_address: String,
    invitation_id: String,
    invitation_url: String,
}

async fn invite(
    app: &App,
    req: &Request,
    caller: &Principal,
    (settings, saved): (&UserSettings, bool),
    input: Input,
) -> Result<Vec<(UserInvitation, Secret)>, ApiError> {
    let addresses = input
        .email_addresses
        .ok_or_else(|| ApiError::bad_request("EmailAddresses is required: the addresses to invite."))?;
    let request = InviteRequest::parse(&addresses, input.message.as_deref(), settings)?;
    let options = input.options.check()?;
    let redirect = options.redirect_url.as_deref().map(|raw| settings.redirect(raw)).transpose()?;
    crate::domain::may_grant(&options.roles, &settings.invitable_roles, caller)?;
    let now = app.clock.now();
    // Each code is sealed for its email; with KMS that is a request each, so they are sealed concurrently. A
    // link-only invitation owes no email, so its code is sealed nowhere: the answer carries it once.
    let base = public_base(app, req);
    let mut sealing = JoinSet::new();
    for (index, recipient) in request.recipients.into_iter().enumerate() {
        let (mut invitation, code) = UserInvitation::create(caller, recipient, request.message.clone(), now, settings);
        invitation.options = options.kept(redirect.clone());
        if let Some(days) = options.expires_in_days {
            invitation.live_for(days, settings.invited_user_valid_days)?;
        }
        if !options.send_email {
            invitation.send_no_email();
        }
        let sealer = Arc::clone(&app.sealer);
        let seal = options.send_email;
        sealing.spawn(async move {
            let sealed = match seal {
                true => Some(sealer.seal(invitation.id, &code).await),
                false => None,
            };
            (index, invitation, code, sealed)
        });
    }
    let mut sealed = Vec::with_capacity(sealing.len());
    while let Some(done) = sealing.join_next().await {
        let (index, mut invitation, code, seal) =
            done.map_err(|e| ApiError::Internal(format!("sealing stopped: {e}")))?;
        if let Some(seal) = seal {
            invitation.attach_link(format!("{base}/invite/{}", invitation.id), seal?);
        }
        sealed.push((index, invitation, code));
    }
    // In the order the request named them, which the answer keeps.
    sealed.sort_by_key(|(index, ..)| *index);
    let mut invitations: Vec<(UserInvitation, Secret)> = sealed.into_iter().map(|(_, i, code)| (i, code)).collect();
    for _ in 0..ATTEMPTS {
        if invitations.is_empty() {
            return Ok(invitations);
        }
        let recipients: Vec<&Email> = invitations.iter().map(|(i, _)| &i.recipient).collect();
        let saved = saved.then_some(settings);
        let reservation = match options.send_email {
            true => budget::reserve(app, &caller.tenant, saved, &recipients, now).await?,
            false => {
                let count = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
                budget::reserve_invitations(app, &caller.tenant, saved, count, now).await?
            }
        };
        let written: Vec<UserInvitation> = invitations.iter().map(|(i, _)| i.clone()).collect();
        let written = app.store.create_user_invitations(&written, now).await;
        if written.is_err() {
            // Nothing was written: give the reservation back.
            reservation.release(app).await;
        }
        match written {
            Ok(()) => return Ok(invitations),
            // Another invitation of the tenant is pending for these addresses: leave them out, write the rest.
            Err(StoreError::PendingRecipients(held)) => {
                invitations.retain(|(i, _)| !held.iter().any(|h| h.matches(&i.recipient)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The addresses are being invited by other requests; try again.".into()))
}
