//! `POST /api/users/signupUser/{InvitationCode}` `{FirstName, LastName}`: the person invited accepts. Public: the
//! code is the credential. Single use: the write is conditional on the version read and on the invitation being
//! live, so of two racing sign-ups one wins and the other is told the invitation was already accepted (409).
//!
//! rsvp records the acceptance (who, when, the names given); creating the account is the product's part, which
//! learns of it from the answer or from the invitation's state.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::open_pending;
use crate::app::App;
use crate::domain::{MAX_NAME_CHARS, UserInvitation, bounded_text};
use crate::http::{Answer, ApiError, request, response};
use crate::ops::ATTEMPTS;
use crate::ops::wire::OptionsBody;
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Accepted {
    email_address: String,
    first_name: String,
    last_name: String,
    #[serde(rename = "BusinessID")]
    business_id: String,
    state: &'static str,
    /// The invitation's options (its metadata, roles and redirect), for the product to act on at sign-up.
    #[serde(flatten)]
    options: OptionsBody,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let code = request::path(&req, "invitationCode", |_, v| Ok::<_, ApiError>(v.to_owned()))?;
    let input: Input = request::json_body(&req)?;
    let first = bounded_text("FirstName", input.first_name.as_deref().unwrap_or_default(), MAX_NAME_CHARS)?;
    let last = bounded_text("LastName", input.last_name.as_deref().unwrap_or_default(), MAX_NAME_CHARS)?;
    let accepted = accept(&app, &code, first, last).await?;
    let body = Accepted {
        email_address: accepted.recipient.to_string(),
        first_name: accepted.first_name.clone().unwrap_or_default(),
        last_name: accepted.last_name.clone().unwrap_or_default(),
        business_id: accepted.tenant.to_string(),
        state: accepted.read_state(app.clock.now()).as_str(),
        options: OptionsBody::of(&accepted.options),
    };
    Ok(response::json(StatusCode::OK, &body))
}

/// Accepts the invitation `code` opens, under races: a lost race is decided again from a fresh read, so the loser
/// is told what the winner did. Shared with the landing page's Accept.
pub(crate) async fn accept(app: &App, code: &str, first: String, last: String) -> Result<UserInvitation, ApiError> {
    for _ in 0..ATTEMPTS {
        let invitation = open_pending(app, code).await?;
        let transition = invitation.accept(first.clone(), last.clone(), app.clock.now())?;
        match app.store.apply_user_invitation(&transition).await {
            Ok(()) => return Ok(transition.invitation),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The invitation is being changed by other requests; try again.".into()))
}
