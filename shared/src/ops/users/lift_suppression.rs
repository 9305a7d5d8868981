//! `DELETE /api/businesses/{businessId}/suppressions/{emailAddress}`: a TenantAdministrator lets the tenant's mail
//! go to an address again after an email to it bounced for good or drew a complaint (`rsvp::mail::fate`). 204 once
//! lifted; 404 if the address was not suppressed. Only the caller's own tenant: another's answers 404.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::own_business;
use crate::app::App;
use crate::domain::Email;
use crate::http::{Answer, ApiError, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let business = own_business(&req, &caller)?;
    if !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden("Only a TenantAdministrator can lift a suppression.".into()));
    }
    // A client may send the `@` as `%40`; the address is the decoded one.
    let address = request::path(&req, "emailAddress", |name, value| {
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        Email::parse(&decoded).map_err(|e| ApiError::bad_request(format!("{name} is not an email address: it {e}.")))
    })?;
    if !app.store.lift_suppression(&business, &address).await? {
        return Err(ApiError::NotFound("The address is not suppressed for this tenant.".into()));
    }
    Ok(response::empty(StatusCode::NO_CONTENT))
}
