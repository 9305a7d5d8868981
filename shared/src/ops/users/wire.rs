//! The platform-user dialect's JSON shapes (PascalCase, as the reference API's), built from domain types.

use serde::Serialize;

use crate::domain::{BrandingInput, Timestamp, UserInvitation, UserSettings};
use crate::ops::wire::{OptionsBody, delivery_failure, delivery_state};

/// A platform invitation as its sender and the tenant's administrators see it (never its code).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserInvitationBody {
    pub id: String,
    pub email_address: String,
    /// The sender's verified address, or their user id when the token carried none.
    pub invited_by: String,
    pub message: Option<String>,
    pub state: &'static str,
    #[serde(rename = "BusinessID")]
    pub business_id: String,
    pub issued: String,
    pub expires: String,
    pub accepted: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub delivery_state: Option<&'static str>,
    pub delivery_failure_reason: Option<String>,
    #[serde(flatten)]
    pub options: OptionsBody,
}

impl UserInvitationBody {
    pub fn new(i: &UserInvitation, now: Timestamp) -> Self {
        Self {
            id: i.id.to_string(),
            email_address: i.recipient.to_string(),
            invited_by: inviter(i),
            message: i.message.clone(),
            state: i.read_state(now).as_str(),
            business_id: i.tenant.to_string(),
            issued: i.issued.to_rfc3339(),
            expires: i.expires.to_rfc3339(),
            accepted: i.accepted.map(Timestamp::to_rfc3339),
            first_name: i.first_name.clone(),
            last_name: i.last_name.clone(),
            delivery_state: delivery_state(i.delivery.as_ref()),
            delivery_failure_reason: delivery_failure(i.delivery.as_ref()),
            options: OptionsBody::of(&i.options),
        }
    }
}

/// Who sent a platform invitation, as the person invited is told.
pub fn inviter(i: &UserInvitation) -> String {
    i.inviter_email.as_ref().map_or_else(|| i.inviter.as_str().to_owned(), ToString::to_string)
}

/// The reference API's flag values for a feature switch.
pub const FEATURE_ENABLED: &str = "com.soa.feature.enabled";
pub const FEATURE_DISABLED: &str = "com.soa.feature.disabled";

/// `BusinessUserSettings`: the reference API's fields and ours.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserSettingsBody {
    pub invite_unregistered_users: &'static str,
    pub invited_user_valid_days: i64,
    pub allowed_email_domains: Vec<String>,
    pub max_invitations_per_day: u32,
    pub resend_cooldown_minutes: i64,
    pub allowed_redirect_origins: Vec<String>,
    pub invitable_roles: Vec<String>,
    pub branding: BrandingInput,
    /// The language of invitations that name none rsvp speaks; null: English.
    pub default_locale: Option<String>,
}

impl UserSettingsBody {
    pub fn new(s: &UserSettings) -> Self {
        Self {
            invite_unregistered_users: if s.invite_unregistered_users { FEATURE_ENABLED } else { FEATURE_DISABLED },
            invited_user_valid_days: s.invited_user_valid_days,
            allowed_email_domains: s.allowed_email_domains.clone(),
            max_invitations_per_day: s.max_invitations_per_day,
            resend_cooldown_minutes: s.resend_cooldown_minutes,
            allowed_redirect_origins: s.allowed_redirect_origins.clone(),
            invitable_roles: s.invitable_roles.clone(),
            branding: s.branding.to_input(),
            default_locale: s.default_locale.clone(),
        }
    }
}
