//! `GET /invite/{invitationId}?token=<secret>`: the landing page every invitation email links to.
//!
//! A public page (no JWT): the secret in the link is the credential. It shows what the invitation is for, who sent
//! it, its state and expiry. A community invitation offers Accept (through the product's sign-in,
//! [`crate::app::Config::sign_in_url`], where the tenant's administrator accepts, signed in with the recipient's
//! verified address or one in its domain, as the invitation allows: the link alone never accepts) and Decline; a
//! platform invitation offers Accept (the person gives their name) and Decline, both posted to
//! `respond_to_invitation_page`.
//! A link opens only while its invitation waits for an answer; a wrong, used-up or missing token, a withdrawn or
//! unknown invitation, or a malformed id all get the one not-found page, so a link never tells anyone more than
//! "not valid". The page speaks the invitation's language and wears its tenant's branding ([`Look`]).

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::app::App;
use crate::domain::{
    AcceptFrom, Community, CommunityInvitation, InvitationId, Secret, StoredState, UserInvitation, UserInvitationState,
};
use crate::http::page::{self, InvitationPage, Stage, UserInvitationPage, UserStage};
use crate::http::{Answer, ApiError, request};
use crate::i18n::Look;
use crate::ops::users::inviter;

/// Secrets are 43 characters and platform codes 80; anything much longer is not one, and is refused before it is
/// hashed.
pub const MAX_TOKEN_CHARS: usize = 128;

/// What a link opened.
pub(super) enum Opened {
    Community(CommunityInvitation, Option<Community>),
    Platform(UserInvitation),
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let token = req.query_string_parameters_ref().and_then(|q| q.first("token")).map(str::to_owned);
    let token = token.as_deref().unwrap_or_default();
    let now = app.clock.now();
    let (opened, look) = open_link(&app, &req, Some(token)).await?;
    Ok(match opened {
        Opened::Community(invitation, community) => {
            let stage = if invitation.is_expired(now) { Stage::Expired } else { Stage::Pending };
            render(&app, &invitation, community.as_ref(), stage, token, &look)
        }
        Opened::Platform(invitation) => {
            let stage = if invitation.is_expired(now) { UserStage::Expired } else { UserStage::Pending };
            render_platform(&app, &invitation, stage, token, &look)
        }
    })
}

/// The invitation a link opens: the one named in the path, of either kind, not withdrawn, still waiting for an
/// answer (live or expired), whose secret is `token`. Anything else is the same not-found. Both kinds are looked
/// up at once, so a link costs one round trip whichever it is; then its tenant's settings (with the community, at
/// once), which decide how the page looks and speaks.
pub(super) async fn open_link(app: &App, req: &Request, token: Option<&str>) -> Result<(Opened, Look), ApiError> {
    let not_found = || ApiError::NotFound("The invitation link is not valid.".into());
    let id = request::path(req, "invitationId", InvitationId::parse).map_err(|_| not_found())?;
    let token = token.filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_CHARS).ok_or_else(not_found)?;
    let secret = Secret::presented(token);
    let (community_invitation, user_invitation) =
        tokio::join!(app.store.get_invitation(id), app.store.get_user_invitation(id));
    if let Some(invitation) =
        community_invitation?.filter(|i| i.state == StoredState::Created && i.secret_matches(&secret))
    {
        let (community, settings) = tokio::join!(
            app.store.get_community(invitation.community_id),
            app.store.get_user_settings(&invitation.issuing_tenant)
        );
        let look = Look::of(invitation.options.locale.as_deref(), settings?.as_ref().map(|(s, _)| s));
        return Ok((Opened::Community(invitation, community?), look));
    }
    let invitation = user_invitation?
        .filter(|i| i.state == UserInvitationState::Pending && i.code_matches(&secret))
        .ok_or_else(not_found)?;
    let settings = app.store.get_user_settings(&invitation.tenant).await?;
    let look = Look::of(invitation.options.locale.as_deref(), settings.as_ref().map(|(s, _)| s));
    Ok((Opened::Platform(invitation), look))
}

/// The page for `invitation` at `stage`. `token` is the link's secret, put back into the Decline form and the
/// Accept link while the invitation is pending, and nowhere otherwise.
pub(super) fn render(
    app: &App,
    invitation: &CommunityInvitation,
    community: Option<&Community>,
    stage: Stage,
    token: &str,
    look: &Look,
) -> Response<Body> {
    let pending = stage == Stage::Pending;
    let id = invitation.id.to_string();
    let accept_url = app.config.sign_in_url.as_ref().filter(|_| pending).map(|base| {
        let separator = if base.contains('?') { '&' } else { '?' };
        // Both values are URL-safe as they are: a GUID and base64url.
        format!("{base}{separator}invitation={id}&token={token}")
    });
    let t = look.language;
    let view = InvitationPage {
        style: page::STYLE,
        t,
        brand: &look.branding,
        stage,
        id,
        community: &invitation.community_name,
        issuer: invitation.issuing_tenant.as_str(),
        inviter: invitation.inviter_email.as_ref().map(|e| e.to_string()),
        recipient: invitation.recipient.as_str(),
        contact: community.and_then(|c| c.contact_email.as_ref()).map(|e| e.to_string()),
        state: page::community_state_words(invitation.read_state(app.clock.now()), t),
        expires: invitation.expires.to_readable(),
        token: if pending { token } else { "" },
        accept_url,
        accept_by: match invitation.accept_from {
            AcceptFrom::Recipient => t.text("page-accept-as", &[("address", invitation.recipient.as_str())]),
            AcceptFrom::RecipientDomain => {
                t.text("page-accept-in-domain", &[("domain", invitation.recipient.domain())])
            }
        },
    };
    page::render_branded(StatusCode::OK, &view, Some(&look.branding))
}

/// The page for a platform invitation at `stage`; `token` goes into the forms while it is pending only.
pub(super) fn render_platform(
    app: &App,
    invitation: &UserInvitation,
    stage: UserStage,
    token: &str,
    look: &Look,
) -> Response<Body> {
    let pending = stage == UserStage::Pending;
    let t = look.language;
    let view = UserInvitationPage {
        style: page::STYLE,
        t,
        brand: &look.branding,
        stage,
        id: invitation.id.to_string(),
        tenant: invitation.tenant_name.as_deref().unwrap_or(invitation.tenant.as_str()),
        inviter: inviter(invitation),
        recipient: invitation.recipient.as_str(),
        message: invitation.message.as_deref(),
        state: page::user_state_words(invitation.read_state(app.clock.now()), t),
        expires: invitation.expires.to_readable(),
        token: if pending { token } else { "" },
        first_name: invitation.first_name.as_deref().unwrap_or_default(),
    };
    page::render_branded(StatusCode::OK, &view, Some(&look.branding))
}
