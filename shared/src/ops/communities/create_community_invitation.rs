//! `POST /api/v1-preview/communities/{communityId}/invitations`: a community admin invites a recipient by email.
//!
//! One pending invitation per (community, recipient): a second create answers 409 naming the pending one. The
//! answer carries `InvitationUrl` with the acceptance secret, and so does the email to the recipient, which is
//! recorded in the same write (see [`crate::mail::deliver`]); only the secret's hash is stored, and the email's copy
//! of the secret only sealed. With an `Idempotency-Key`, a retry of the same request replays the first answer
//! (see [`crate::ops::idempotency`]). `AcceptFrom` chooses, for this invitation, whose verified address may accept it
//! (see [`crate::domain::AcceptFrom`]); without it the invitation takes the community's setting. `Metadata`, a
//! small JSON object of the product's own ([`crate::domain::Metadata`]: bounded), is kept and handed back.
//! `ExpiresInDays` gives this invitation a shorter life than the deployment's (`RSVP_COMMUNITY_INVITATION_VALID_DAYS`,
//! its bound too); a Resend gives it as many days again. `RedirectUrl` is where the landing page sends the person
//! after they declined, only to one of the owner tenant's `AllowedRedirectOrigins` (its user settings). `Roles` are
//! the role names the invited tenant receives, kept and handed back (the community's administrators choose them).
//! `Locale` is the language its emails and page speak (else the owner tenant's `DefaultLocale`, else English).
//! `SendEmail: false` makes it link-only: no email is sent, the caller hands on the answer's `InvitationUrl`, and
//! it counts on the owner's day budget of invitations but not on the recipient's of emails.
//!
//! The email is drawn from the community owner tenant's mail budget and the recipient's (see `ops::budget`):
//! when either is spent for the day, 429 with `Retry-After` and nothing is written.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::wire::CommunityInvitationBody;
use super::{accept_from, community_for_admin};
use crate::app::App;
use crate::domain::{CommunityId, CommunityInvitation, Email, Lifetime as _, UserSettings};
use crate::http::{Answer, ApiError, invalid_email, request};
use crate::ops::idempotency::Idempotent;
use crate::ops::wire::OptionsInput;
use crate::ops::{budget, caller, idempotency, public_base};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    invitation_recipient: Option<String>,
    accept_from: Option<String>,
    #[serde(flatten)]
    options: OptionsInput,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    #[serde(flatten)]
    invitation: CommunityInvitationBody,
    invitation_url: String,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let input: Input = request::json_body(&req)?;
    let recipient = input
        .invitation_recipient
        .ok_or_else(|| ApiError::bad_request("InvitationRecipient is required: the email address to invite."))?;
    let recipient = Email::parse(&recipient).map_err(|e| invalid_email("InvitationRecipient", e))?;
    let chosen = accept_from(input.accept_from.as_deref())?;
    let options = input.options.check()?;
    // The caller's right is checked before a replay too: a key replayed after the caller lost the administrator
    // role (or the tenant its place) must not hand out the invitation link again.
    let community = community_for_admin(&app, id, &caller).await?;
    idempotency::once(&app, &req, &caller, "create_community_invitation", async {
        let now = app.clock.now();
        let (mut invitation, secret) =
            CommunityInvitation::create(&community, recipient, &caller, now, app.config.invitations);
        invitation.accept_from = chosen.unwrap_or(community.accept_from);
        invitation.options = options.kept(None);
        if let Some(days) = options.expires_in_days {
            invitation.live_for(days, app.config.invitations.validity_days)?;
        }
        // The owner's settings (its own day budget, its redirect origins) and whether the address still takes its
        // mail: one read, before anything is sealed for a request that may yet be refused.
        let recipient = invitation.recipient.clone();
        let recipients = [&recipient];
        let (saved, suppressed) = app.store.settings_and_suppressions(&community.owner, &recipients).await?;
        let saved = saved.map(|(settings, _)| settings);
        // A redirect only to the owner's allowed origins (none, for a tenant that never saved settings).
        if let Some(raw) = options.redirect_url.as_deref() {
            let never_saved = UserSettings::default();
            invitation.options.redirect_url = Some(saved.as_ref().unwrap_or(&never_saved).redirect(raw)?);
        }
        let link = format!("{}/invite/{}", public_base(&app, &req), invitation.id);
        let reservation = if options.send_email {
            // The invitation email goes out from the outbox written with the invitation; its secret only sealed.
            let sealed = app.sealer.seal(invitation.id, &secret).await?;
            invitation.attach_link(link.clone(), sealed);
            budget::reserve_known(&app, &community.owner, saved.as_ref(), &suppressed, &recipients, now).await?
        } else {
            // Link-only: the caller hands the link on; an invitation on the owner's day count, but no email.
            invitation.send_no_email();
            budget::reserve_invitations(&app, &community.owner, saved.as_ref(), 1, now).await?
        };
        if let Err(e) = app.store.create_invitation(&invitation, now).await {
            // Nothing was written, so no email goes out: give the reservation back.
            reservation.release(&app).await;
            return Err(e.into());
        }
        let url = format!("{link}?token={}", secret.expose());
        let body = Created { invitation: CommunityInvitationBody::new(&invitation, now), invitation_url: url };
        // The answer carries the secret: kept for a replay, it is sealed for this invitation.
        Idempotent::json(StatusCode::CREATED, &body, Some(invitation.id))
    })
    .await
}
