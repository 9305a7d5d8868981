//! `POST /invite/{invitationId}` with the form `token=<secret>&action=decline|accept`: answering from the landing
//! page.
//!
//! Public like the page itself: the secret is the credential. Decline works for both kinds: whoever holds the link
//! declines as the link holder ([`crate::domain::Actor::link_holder`] for a community invitation) through the same
//! rule as the API's Decline. Accept works here for platform invitations only (with `first_name` and `last_name`,
//! exactly as `signupUser` does); a community invitation is accepted by a signed-in administrator of the invited
//! tenant whose verified address the invitation admits (see [`crate::domain::AcceptFrom`]). The answer is the page
//! in its new state (200), not a redirect: the link stops working once the invitation is answered, so there is no
//! page to redirect to that would show it, and reloading the answer only re-asks and gets the not-found page.

use std::sync::Arc;

use lambda_http::Request;
use serde::Deserialize;

use super::show_invitation_page::{Opened, open_link, render, render_platform};
use crate::app::App;
use crate::domain::{Action, Actor, MAX_NAME_CHARS, bounded_text};
use crate::http::page::{self, Stage, UserStage};
use crate::http::{Answer, ApiError, request};
use crate::ops::ATTEMPTS;
use crate::ops::users::accept_user_invitation::accept;
use crate::store::StoreError;

#[derive(Deserialize)]
struct Form {
    token: Option<String>,
    action: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let form: Form = request::form_body(&req)?;
    match form.action.as_deref() {
        Some("decline") => decline(&app, &req, form.token.as_deref()).await,
        Some("accept") => {
            // Accepting a community invitation joins a tenant, which needs its signed-in administrator.
            let (Opened::Platform(_), look) = open_link(&app, &req, form.token.as_deref()).await? else {
                return Err(ApiError::bad_request(
                    "A community invitation is accepted by an administrator of your organisation, signed in.",
                ));
            };
            let first = bounded_text("First name", form.first_name.as_deref().unwrap_or_default(), MAX_NAME_CHARS)?;
            let last = bounded_text("Last name", form.last_name.as_deref().unwrap_or_default(), MAX_NAME_CHARS)?;
            let code = form.token.unwrap_or_default();
            let accepted = accept(&app, &code, first, last).await?;
            let shown = render_platform(&app, &accepted, UserStage::Accepted, "", &look);
            Ok(page::onward(shown, accepted.options.redirect_url.as_deref()))
        }
        Some(_) => Err(ApiError::bad_request("This page can only accept or decline an invitation.")),
        None => Err(ApiError::bad_request("The form does not say what to do.")),
    }
}

/// A lost race is retried from a fresh read: if the other request answered the invitation, the link is used up.
async fn decline(app: &App, req: &Request, token: Option<&str>) -> Answer {
    for _ in 0..ATTEMPTS {
        let (opened, look) = open_link(app, req, token).await?;
        let written = match opened {
            Opened::Community(invitation, community) => {
                let community =
                    community.ok_or_else(|| ApiError::NotFound("The invitation's community is gone.".into()))?;
                let transition = invitation.process(
                    &community,
                    Action::Decline,
                    Actor::link_holder(),
                    None,
                    app.clock.now(),
                    app.config.invitations,
                )?;
                app.store.apply(&transition).await.map(|()| {
                    let shown = render(app, &transition.invitation, Some(&community), Stage::Declined, "", &look);
                    page::onward(shown, transition.invitation.options.redirect_url.as_deref())
                })
            }
            Opened::Platform(invitation) => {
                let transition = invitation.decline(app.clock.now())?;
                app.store.apply_user_invitation(&transition).await.map(|()| {
                    let shown = render_platform(app, &transition.invitation, UserStage::Declined, "", &look);
                    page::onward(shown, transition.invitation.options.redirect_url.as_deref())
                })
            }
        };
        match written {
            Ok(page) => return Ok(page),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; open the link again.".into()))
}
