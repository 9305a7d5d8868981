//! `PUT /api/businesses/{businessId}/usersettings`: a TenantAdministrator changes the tenant's invitation policy.
//!
//! The body names the settings to change; those it leaves out keep their value, so enabling invitations is
//! `{"InviteUnregisteredUsers": "com.soa.feature.enabled"}`. A field rsvp does not know is refused rather than
//! ignored (a typo must not look like success), and every bad value is named in one 400. `Branding` is replaced
//! whole (a field it leaves out is cleared); `DefaultLocale` `""` clears it. Saves are conditional on
//! the version read, so two administrators changing different settings at once both keep their change.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

use super::own_business;
use super::wire::{FEATURE_DISABLED, FEATURE_ENABLED, UserSettingsBody};
use crate::app::App;
use crate::domain::{BrandingInput, SettingsChange};
use crate::http::{Answer, ApiError, request, response};
use crate::ops::{ATTEMPTS, caller, settings_of};
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Input {
    invite_unregistered_users: Option<Switch>,
    invited_user_valid_days: Option<i64>,
    allowed_email_domains: Option<Vec<String>>,
    max_invitations_per_day: Option<i64>,
    resend_cooldown_minutes: Option<i64>,
    allowed_redirect_origins: Option<Vec<String>>,
    invitable_roles: Option<Vec<String>>,
    branding: Option<BrandingInput>,
    default_locale: Option<String>,
}

/// The reference API's switch values, or a JSON boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum Switch {
    Flag(bool),
    Name(String),
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let business = own_business(&req, &caller)?;
    if !caller.is_tenant_admin() {
        return Err(ApiError::Forbidden("Only a TenantAdministrator can change the tenant's user settings.".into()));
    }
    let input: Input = request::json_body(&req)?;
    let invite = match input.invite_unregistered_users {
        None => None,
        Some(Switch::Flag(on)) => Some(on),
        Some(Switch::Name(name)) if name == FEATURE_ENABLED => Some(true),
        Some(Switch::Name(name)) if name == FEATURE_DISABLED => Some(false),
        Some(Switch::Name(_)) => {
            return Err(ApiError::bad_request(format!(
                "InviteUnregisteredUsers must be {FEATURE_ENABLED} or {FEATURE_DISABLED}."
            )));
        }
    };
    let change = SettingsChange {
        invite_unregistered_users: invite,
        invited_user_valid_days: input.invited_user_valid_days,
        allowed_email_domains: input.allowed_email_domains,
        max_invitations_per_day: input.max_invitations_per_day,
        resend_cooldown_minutes: input.resend_cooldown_minutes,
        allowed_redirect_origins: input.allowed_redirect_origins,
        invitable_roles: input.invitable_roles,
        branding: input.branding,
        default_locale: input.default_locale,
    };
    for _ in 0..ATTEMPTS {
        let (current, version) = settings_of(&app, &business).await?;
        let next = current.with(&change)?;
        match app.store.put_user_settings(&business, &next, version).await {
            Ok(()) => return Ok(response::json(StatusCode::OK, &UserSettingsBody::new(&next))),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("The settings are being changed by other requests; read them and try again.".into()))
}
