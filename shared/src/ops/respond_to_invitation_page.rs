//! `POST /invite/{invitationId}` with the form `token=<secret>&action=decline`: Decline from the landing page.
//!
//! Public like the page itself: the secret is the credential, and whoever holds it declines as the link holder
//! ([`crate::domain::Actor::link_holder`]) through the same rule as the API's Decline. The answer is the page in
//! its new state (200), not a redirect: the link stops working once the invitation is answered, so there is no
//! page to redirect to that would show it, and reloading the answer only re-asks and gets the not-found page.

use std::sync::Arc;

use lambda_http::Request;
use serde::Deserialize;

use super::Answer;
use super::show_invitation_page::{open_link, render};
use crate::app::App;
use crate::domain::{Action, Actor};
use crate::http::page::Stage;
use crate::http::{ApiError, request};
use crate::store::StoreError;

/// Reads and decisions made before giving up on a contended invitation.
const ATTEMPTS: usize = 3;

#[derive(Deserialize)]
struct Form {
    token: Option<String>,
    action: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let form: Form = request::form_body(&req)?;
    match form.action.as_deref() {
        Some("decline") => {}
        Some(_) => return Err(ApiError::bad_request("This page can only decline an invitation.")),
        None => return Err(ApiError::bad_request("The form does not say what to do.")),
    }
    // A lost race is retried from a fresh read: if the other request answered the invitation, the link is used up.
    for _ in 0..ATTEMPTS {
        let (invitation, community) = open_link(&app, &req, form.token.as_deref()).await?;
        let community = community.ok_or_else(|| ApiError::NotFound("The invitation's community is gone.".into()))?;
        let transition = invitation.process(
            &community,
            Action::Decline,
            Actor::link_holder(),
            None,
            app.clock.now(),
            app.config.invitations,
        )?;
        match app.store.apply(&transition).await {
            Ok(()) => return Ok(render(&app, &transition.invitation, Some(&community), Stage::Declined, "")),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; open the link again.".into()))
}
