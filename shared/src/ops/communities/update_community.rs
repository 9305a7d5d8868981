//! `PUT /api/v1-preview/communities/{communityId}` `{Name, Description, ContactEmail, AcceptFrom}`: an
//! administrator of the owner tenant renames the community or changes its description, contact or who may accept
//! its invitations. A field left out keeps its value (ADH's client sends only the fields it was given); an empty
//! `Description` or `ContactEmail` clears it. The answer is the community as it now is, with its tenants.
//! Invitations keep the name and the acceptance rule they were sent with.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::wire::CommunityBody;
use super::{accept_from, community_for_admin, community_not_found};
use crate::app::App;
use crate::domain::{CommunityId, CommunityInput, Email};
use crate::http::request::{self, MAX_COUNT};
use crate::http::{Answer, ApiError, invalid_email, response};
use crate::ops::caller;
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    name: Option<String>,
    description: Option<String>,
    contact_email: Option<String>,
    accept_from: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    let change: Change = request::json_body(&req)?;
    if change.name.is_none()
        && change.description.is_none()
        && change.contact_email.is_none()
        && change.accept_from.is_none()
    {
        return Err(ApiError::bad_request(
            "The body changes nothing: give Name, Description, ContactEmail or AcceptFrom.",
        ));
    }
    let accept_from = accept_from(change.accept_from.as_deref())?;
    let contact_email = match change.contact_email.as_deref().map(str::trim) {
        Some("") => Some(None),
        Some(e) => Some(Some(Email::parse(e).map_err(|err| invalid_email("ContactEmail", err))?)),
        None => None,
    };
    let community = community_for_admin(&app, id, &caller).await?;
    let input = CommunityInput::new(
        change.name.as_deref().unwrap_or(&community.name),
        Some(change.description.as_deref().unwrap_or(&community.description)),
        contact_email.unwrap_or_else(|| community.contact_email.clone()),
    )?
    .accepting_from(accept_from.unwrap_or(community.accept_from));
    let updated = community.updated(input);
    app.store.update_community(&updated).await.map_err(|e| match e {
        StoreError::Conflict => community_not_found(id),
        other => other.into(),
    })?;
    let (_, tenants) = app.store.get_community_with_members(id, MAX_COUNT).await?;
    Ok(response::json(StatusCode::OK, &CommunityBody::new(&updated, &tenants.items)))
}
