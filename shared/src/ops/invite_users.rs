//! `POST /api/users/invitations` `{EmailAddresses, Message}`: a signed-in user invites people to their tenant.
//!
//! In order: the tenant's settings must allow it (`InviteUnregisteredUsers`, else the seed's 401); the request is
//! checked whole (every bad or disallowed address named, nothing created: 400); the emails are reserved atomically
//! on the tenant's mail budget, `MaxInvitationsPerDay` under the deployment's cap, and on each address's (see
//! `ops::budget`; 429 with `Retry-After` until the next UTC day when one would go over); then the invitations, their emails (in the outbox, codes sealed) and their one-pending-per-address locks
//! are written in one transaction. An address that already has a pending invitation from the tenant is not invited
//! again: it is left out of the answer, and its reservation given back. The answer lists the addresses invited.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use tokio::task::JoinSet;

use super::users::{ATTEMPTS, settings_of};
use super::{Answer, budget, caller, idempotency, public_base, require_tenant_member};
use crate::app::App;
use crate::domain::{Email, InviteRequest, Lifetime as _, Principal, UserInvitation, UserSettings};
use crate::http::{ApiError, request, response};
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    email_addresses: Option<Vec<String>>,
    message: Option<String>,
    #[serde(flatten)]
    options: super::wire::OptionsInput,
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
        let addresses: Vec<String> = invited.iter().map(|i| i.recipient.to_string()).collect();
        Ok((response::json(StatusCode::OK, &addresses), None))
    })
    .await
}

async fn invite(
    app: &App,
    req: &Request,
    caller: &Principal,
    (settings, saved): (&UserSettings, bool),
    input: Input,
) -> Result<Vec<UserInvitation>, ApiError> {
    let addresses = input
        .email_addresses
        .ok_or_else(|| ApiError::bad_request("EmailAddresses is required: the addresses to invite."))?;
    let request = InviteRequest::parse(&addresses, input.message.as_deref(), settings)?;
    let options = input.options.check()?;
    let redirect = options.redirect_url.as_deref().map(|raw| settings.redirect(raw)).transpose()?;
    crate::domain::may_grant(&options.roles, &settings.invitable_roles, caller)?;
    let now = app.clock.now();
    // Each code is sealed for its email; with KMS that is a request each, so they are sealed concurrently.
    let base = public_base(app, req);
    let mut sealing = JoinSet::new();
    for (index, recipient) in request.recipients.into_iter().enumerate() {
        let (mut invitation, code) = UserInvitation::create(caller, recipient, request.message.clone(), now, settings);
        invitation.metadata = options.metadata.clone();
        invitation.redirect_url = redirect.clone();
        invitation.roles = options.roles.clone();
        if let Some(days) = options.expires_in_days {
            invitation.live_for(days, settings.invited_user_valid_days)?;
        }
        let sealer = Arc::clone(&app.sealer);
        sealing.spawn(async move {
            let sealed = sealer.seal(invitation.id, &code).await;
            (index, invitation, sealed)
        });
    }
    let mut sealed = Vec::with_capacity(sealing.len());
    while let Some(done) = sealing.join_next().await {
        let (index, mut invitation, seal) = done.map_err(|e| ApiError::Internal(format!("sealing stopped: {e}")))?;
        invitation.attach_link(format!("{base}/invite/{}", invitation.id), seal?);
        sealed.push((index, invitation));
    }
    // In the order the request named them, which the answer keeps.
    sealed.sort_by_key(|(index, _)| *index);
    let mut invitations: Vec<UserInvitation> = sealed.into_iter().map(|(_, invitation)| invitation).collect();
    for _ in 0..ATTEMPTS {
        if invitations.is_empty() {
            return Ok(invitations);
        }
        let recipients: Vec<&Email> = invitations.iter().map(|i| &i.recipient).collect();
        let reservation = budget::reserve(app, &caller.tenant, saved.then_some(settings), &recipients, now).await?;
        let written = app.store.create_user_invitations(&invitations, now).await;
        if written.is_err() {
            // Nothing was written: give the reservation back.
            reservation.release(app).await;
        }
        match written {
            Ok(()) => return Ok(invitations),
            // Another invitation of the tenant is pending for these addresses: leave them out, write the rest.
            Err(StoreError::PendingRecipients(held)) => {
                invitations.retain(|i| !held.iter().any(|h| h.matches(&i.recipient)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The addresses are being invited by other requests; try again.".into()))
}
