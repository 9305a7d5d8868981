//! `GET /api/businesses/{businessId}/settings?IncludeUserSettings=true&IncludeSecuritySettings=true`: the
//! caller's tenant's settings, only the groups asked for (none when no flag is set), for any member of it.
//!
//! `UserSettings` is the whole invitation policy (`BusinessUserSettings`). `SecuritySettings` carries the part that
//! decides who may be invited (`InviteUnregisteredUsers`, `AllowedEmailDomains`): the reference API tells clients to
//! check there whether inviting is enabled.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde::Serialize;

use super::own_business;
use super::wire::UserSettingsBody;
use crate::app::App;
use crate::http::{Answer, ApiError, response};
use crate::ops::{caller, require_tenant_member, settings_of};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Settings {
    #[serde(rename = "BusinessID")]
    business_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_settings: Option<UserSettingsBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_settings: Option<SecuritySettings>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecuritySettings {
    invite_unregistered_users: &'static str,
    allowed_email_domains: Vec<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    require_tenant_member(&caller)?;
    let business = own_business(&req, &caller)?;
    let include_user = flag(&req, "IncludeUserSettings")?;
    let include_security = flag(&req, "IncludeSecuritySettings")?;
    let (settings, _) = settings_of(&app, &business).await?;
    let user = UserSettingsBody::new(&settings);
    let body = Settings {
        business_id: business.to_string(),
        security_settings: include_security.then(|| SecuritySettings {
            invite_unregistered_users: user.invite_unregistered_users,
            allowed_email_domains: user.allowed_email_domains.clone(),
        }),
        user_settings: include_user.then_some(user),
    };
    Ok(response::json(StatusCode::OK, &body))
}

/// An `Include...` flag: absent or `false` is off, `true` is on, anything else is a 400.
fn flag(req: &Request, name: &str) -> Result<bool, ApiError> {
    let query = req.query_string_parameters_ref();
    match query.and_then(|q| q.first(name)) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be true or false."))),
    }
}
