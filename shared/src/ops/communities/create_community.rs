//! `POST /api/v1-preview/communities`: a TenantAdministrator creates a community; their tenant owns it and is its
//! first Active member. `AcceptFrom` says whose verified address may accept its invitations (see
//! [`crate::domain::AcceptFrom`]): the recipient's own by default.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::accept_from;
use super::wire::CommunityBody;
use crate::app::App;
use crate::domain::{Community, CommunityInput, Email};
use crate::http::{Answer, ApiError, invalid_email, request, response};
use crate::ops::caller;

/// What ADH's `CommunityInput` carries. Its `PreferredRegionId`, like any field rsvp does not know, is ignored:
/// rsvp keeps no data, so it has no region to place any in.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    name: Option<String>,
    description: Option<String>,
    contact_email: Option<String>,
    accept_from: Option<String>,
}

fn read_input(req: &Request) -> Result<CommunityInput, ApiError> {
    let input: Input = request::json_body(req)?;
    let contact_email = match input.contact_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(Email::parse(e).map_err(|err| invalid_email("ContactEmail", err))?),
        None => None,
    };
    let accept_from = accept_from(input.accept_from.as_deref())?.unwrap_or_default();
    Ok(CommunityInput::new(input.name.as_deref().unwrap_or(""), input.description.as_deref(), contact_email)?
        .accepting_from(accept_from))
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    if !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden("Only a TenantAdministrator can create a community.".into()));
    }
    let input = read_input(&req)?;
    let (community, owner) = Community::create(input, caller.tenant.clone(), app.clock.now());
    let owner = owner.with_tenant_name(caller.tenant_name.clone());
    app.store.create_community(&community, &owner).await?;
    Ok(response::json(StatusCode::CREATED, &CommunityBody::new(&community, &[owner])))
}
