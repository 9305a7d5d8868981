//! One module per operation, in a folder per dialect: [`communities`] (`/api/v1-preview`), [`users`] (the platform's
//! `/api/users` and `/api/businesses`) and [`portal`] (`/sharing/rest`), with [`page`] for the invitation landing
//! page both emailed dialects link to. Each `handle` parses the request, authorises the caller, applies the domain
//! rule, persists, and answers. Errors are [`ApiError`]s; [`crate::routes::Route::call`] turns them into the wire
//! form.
//!
//! This module holds only what every dialect shares: who the caller is, where links point, the tenant's settings,
//! the mail budget (`budget`), idempotent creates ([`idempotency`]) and the options both emailed invitation kinds
//! take (`wire`). A dialect's own helpers are in its folder's `mod.rs`.

mod budget;
pub mod communities;
pub mod idempotency;
pub mod page;
pub mod portal;
pub mod users;
mod wire;

use lambda_http::Request;

use crate::app::App;
use crate::domain::{Principal, TenantId, UserSettings};
use crate::http::ApiError;
use crate::http::request;

/// Reads and decisions made before giving up on a contended invitation or settings item.
const ATTEMPTS: usize = 3;

fn caller(app: &App, req: &Request) -> Result<Principal, ApiError> {
    request::principal(req, &app.config.claims)
}

fn require_tenant_member(caller: &Principal) -> Result<(), ApiError> {
    if !caller.is_tenant_member() {
        return Err(ApiError::Forbidden("This needs the TenantMember or TenantAdministrator role.".into()));
    }
    Ok(())
}

/// Where invitation links point: the configured public URL, else this API's own domain.
fn public_base(app: &App, req: &Request) -> String {
    if let Some(url) = &app.config.public_url {
        return url.clone();
    }
    let domain = match lambda_http::RequestExt::request_context_ref(req) {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    };
    format!("https://{}", domain.unwrap_or_else(|| "localhost".into()))
}

/// The tenant's settings and their stored version (`None`: never saved, so the defaults hold, with this
/// deployment's configured Resend cooldown). Both emailed dialects read them: they brand a tenant's emails and
/// pages, and bound its invitations.
async fn settings_of(app: &App, tenant: &TenantId) -> Result<(UserSettings, Option<u64>), ApiError> {
    Ok(or_defaults(app, app.store.get_user_settings(tenant).await?))
}

/// The settings a tenant saved (and their version), or the deployment's defaults if it never saved any.
fn or_defaults(app: &App, saved: Option<(UserSettings, u64)>) -> (UserSettings, Option<u64>) {
    match saved {
        Some((settings, version)) => (settings, Some(version)),
        None => (
            UserSettings {
                resend_cooldown_minutes: app.config.invitations.resend_cooldown_minutes,
                ..UserSettings::default()
            },
            None,
        ),
    }
}
