//! `POST /api/v1-preview/communities`: a TenantAdministrator creates a community; their tenant owns it and is its
//! first Active member.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::wire::CommunityBody;
use super::{Answer, caller};
use crate::app::App;
use crate::domain::{Community, CommunityInput, Email};
use crate::http::{ApiError, invalid_email, request, response};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    name: Option<String>,
    description: Option<String>,
    contact_email: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    if !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden("Only a TenantAdministrator can create a community.".into()));
    }
    let input: Input = request::json_body(&req)?;
    let contact_email = match input.contact_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(Email::parse(e).map_err(|err| invalid_email("ContactEmail", err))?),
        None => None,
    };
    let input = CommunityInput::new(input.name.as_deref().unwrap_or(""), input.description.as_deref(), contact_email)?;
    let (community, owner) = Community::create(input, caller.tenant.clone(), app.clock.now());
    app.store.create_community(&community, &owner).await?;
    Ok(response::json(StatusCode::CREATED, &CommunityBody::new(&community, &[owner])))
}
