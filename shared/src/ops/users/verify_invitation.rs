//! `POST /api/users/verifyInvitation` with the form `validationCode=<code>`: the person invited checks their code
//! before signing up. Public: the code is the credential. A code that opens nothing is a 404 whatever the reason;
//! the right code of an invitation that no longer waits (accepted, declined, revoked, expired) is a 409 saying so.
//! The first check of a code is recorded on the invitation (its `user.invitation.verified` event); later checks
//! write nothing.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::open_pending;
use super::wire::inviter;
use crate::app::App;
use crate::http::{Answer, ApiError, request, response};
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Form {
    validation_code: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Verified {
    email_address: String,
    invited_by: String,
    message: Option<String>,
    expires: String,
    state: &'static str,
    #[serde(rename = "BusinessID")]
    business_id: String,
    business_name: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let form: Form = request::form_body(&req)?;
    let code = form
        .validation_code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("validationCode is required: the code from the invitation email."))?;
    let invitation = open_pending(&app, &code).await?;
    if let Some(verified) = invitation.verify(app.clock.now())? {
        match app.store.apply_user_invitation(&verified).await {
            // Changed since it was read (accepted, revoked, checked by another request): the check still stands.
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let body = Verified {
        email_address: invitation.recipient.to_string(),
        invited_by: inviter(&invitation),
        message: invitation.message.clone(),
        expires: invitation.expires.to_rfc3339(),
        state: invitation.read_state(app.clock.now()).as_str(),
        business_id: invitation.tenant.to_string(),
        business_name: invitation.tenant_name.clone(),
    };
    Ok(response::json(StatusCode::OK, &body))
}
