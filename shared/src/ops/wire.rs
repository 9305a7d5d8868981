//! The seeds' JSON shapes (PascalCase), built from domain types.

use serde::{Deserialize, Serialize};

use crate::domain::fate::Fate;
use crate::domain::{
    BrandingInput, Community, CommunityInvitation, DeliveryState, MemberStatus, Membership, Metadata, Timestamp,
    UserInvitation, UserSettings, parse_roles,
};
use crate::http::ApiError;

/// What both invitation kinds take beside their seed fields: `Metadata`, `ExpiresInDays`, `RedirectUrl`, `Roles`,
/// `SendEmail` and `Locale`. Flattened into each create request.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OptionsInput {
    #[serde(default)]
    pub metadata: serde_json::Value,
    pub expires_in_days: Option<i64>,
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// `false`: a link-only invitation, no email sent; the answer carries the link.
    pub send_email: Option<bool>,
    /// The invitee's language tag (`de-AT`): its emails and page speak it, or the tenant's default.
    pub locale: Option<String>,
}

/// A link-only invitation's Resend answer (either kind): its new link; the old one no longer opens.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LinkRenewed {
    pub invitation_url: String,
}

/// The options with what needs no tenant's settings checked (the metadata's bounds, the role names); the lifetime
/// and the redirect are checked against their bounds where those are known.
pub struct Options {
    pub metadata: Option<Metadata>,
    pub expires_in_days: Option<i64>,
    pub redirect_url: Option<String>,
    pub roles: Vec<String>,
    /// Whether rsvp emails the invitation (the default), or only answers with its link.
    pub send_email: bool,
    pub locale: Option<String>,
}

impl OptionsInput {
    pub fn check(self) -> Result<Options, ApiError> {
        Ok(Options {
            metadata: Metadata::parse(self.metadata)?,
            expires_in_days: self.expires_in_days,
            redirect_url: self.redirect_url,
            roles: parse_roles(&self.roles)?,
            send_email: self.send_email.unwrap_or(true),
            locale: self.locale.as_deref().map(|tag| crate::i18n::parse_tag(tag, "Locale")).transpose()?,
        })
    }
}

/// The options an invitation keeps, as every answer shows them: each absent when not given.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OptionsBody {
    /// The product's own data, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Where the landing page sends the person once they answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The roles the invitee receives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// `false` for a link-only invitation; absent for one rsvp emails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_email: Option<bool>,
    /// The language tag given for its emails and page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// What an invitation of either kind keeps of its options, for [`OptionsBody::of`].
pub struct Kept<'a> {
    pub metadata: Option<&'a Metadata>,
    pub redirect_url: Option<&'a str>,
    pub roles: &'a [String],
    pub link_only: bool,
    pub locale: Option<&'a str>,
}

impl OptionsBody {
    pub fn of(kept: Kept<'_>) -> Self {
        Self {
            metadata: kept.metadata.map(Metadata::to_value),
            redirect_url: kept.redirect_url.map(str::to_owned),
            roles: kept.roles.to_vec(),
            send_email: kept.link_only.then_some(false),
            locale: kept.locale.map(str::to_owned),
        }
    }
}

/// The options each stored invitation kind keeps, as [`Kept`].
macro_rules! kept_from {
    ($($kind:ty),*) => {$(
        impl<'a> From<&'a $kind> for Kept<'a> {
            fn from(i: &'a $kind) -> Self {
                Self {
                    metadata: i.metadata.as_ref(),
                    redirect_url: i.redirect_url.as_deref(),
                    roles: &i.roles,
                    link_only: i.link_only,
                    locale: i.locale.as_deref(),
                }
            }
        }
    )*};
}
kept_from!(CommunityInvitation, UserInvitation);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityInvitationBody {
    pub id: String,
    pub issued: String,
    pub expires: String,
    pub accepted: Option<String>,
    pub state: &'static str,
    pub issuing_tenant_id: String,
    pub invited_tenant_id: Option<String>,
    pub community_id: String,
    pub community_name: String,
    pub invitation_recipient: String,
    /// Whose verified address may accept: `Recipient` or `RecipientDomain` (as it was sent).
    pub accept_from: &'static str,
    /// The accepting administrator's verified address (the recipient's, or one in its domain); with
    /// `InvitedTenantId`, who accepted, as the owner confirms them.
    pub accepted_user_email: Option<String>,
    /// What the accepting token's `tenant_name` claim said: a claim, which `AcceptedTenantNameVerified` marks.
    pub accepted_tenant_name: Option<String>,
    /// Always `false`: rsvp has no way to verify a tenant's name, so the owner should judge the accepting tenant by
    /// `InvitedTenantId` and `AcceptedUserEmail`, never by `AcceptedTenantName`.
    pub accepted_tenant_name_verified: bool,
    /// The latest email the invitation owes: `pending` (also while being sent), `sent` or `failed`.
    pub delivery_state: Option<&'static str>,
    /// Why the latest email failed, as the mail service said; null unless failed.
    pub delivery_failure_reason: Option<String>,
    #[serde(flatten)]
    pub options: OptionsBody,
}

impl CommunityInvitationBody {
    pub fn new(i: &CommunityInvitation, now: Timestamp) -> Self {
        Self {
            id: i.id.to_string(),
            issued: i.issued.to_rfc3339(),
            expires: i.expires.to_rfc3339(),
            accepted: i.accepted.map(Timestamp::to_rfc3339),
            state: i.read_state(now).as_str(),
            issuing_tenant_id: i.issuing_tenant.to_string(),
            invited_tenant_id: i.invited_tenant.as_ref().map(ToString::to_string),
            community_id: i.community_id.to_string(),
            community_name: i.community_name.clone(),
            invitation_recipient: i.recipient.to_string(),
            accept_from: i.accept_from.as_str(),
            accepted_user_email: i.accepted_user_email.as_ref().map(ToString::to_string),
            accepted_tenant_name: i.accepted_tenant_name.clone(),
            accepted_tenant_name_verified: false,
            delivery_state: delivery_state(i.delivery.as_ref()),
            delivery_failure_reason: delivery_failure(i.delivery.as_ref()),
            options: OptionsBody::of(i.into()),
        }
    }

    pub fn list(items: &[CommunityInvitation], now: Timestamp) -> Vec<Self> {
        items.iter().map(|i| Self::new(i, now)).collect()
    }
}

/// A tenant of a community, as ADH's `CommunityTenant` has it. Only Active tenants are listed: ADH's clients know
/// no status for a tenant awaiting confirmation (`None`, `Paused` and `Active` are all there are), and such a tenant
/// is seen through its accepted invitation until it is confirmed. What rsvp does not know is `null`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityTenant {
    pub id: String,
    /// The tenant's name as the token of whoever brought it in named it (`tenant_name`), if it did.
    pub name: Option<String>,
    pub status: &'static str,
    pub is_owner: bool,
    /// rsvp keeps no users or clients of a tenant, nor where its data lives, nor a tenant's alias for a community.
    pub user_count: Option<u32>,
    pub client_count: Option<u32>,
    pub preferred_region_id: Option<String>,
    pub contact_email: Option<String>,
    pub community_alias: Option<String>,
}

impl CommunityTenant {
    /// The tenant as listed, if it is listed at all: only an Active membership is.
    pub fn new(m: &Membership) -> Option<Self> {
        (m.status == MemberStatus::Active).then(|| Self {
            id: m.tenant.to_string(),
            name: m.tenant_name.clone(),
            status: "Active",
            is_owner: m.is_owner,
            user_count: None,
            client_count: None,
            preferred_region_id: None,
            contact_email: m.contact_email.as_ref().map(ToString::to_string),
            community_alias: None,
        })
    }

    /// The listed tenants of `members`.
    pub fn list(members: &[Membership]) -> Vec<Self> {
        members.iter().filter_map(Self::new).collect()
    }
}

/// A community, as ADH's `Community` has it. What rsvp has no notion of (roles, regions) is `null`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommunityBody {
    pub id: String,
    /// ADH's role that every member tenant's users hold in the community; rsvp has no roles.
    pub member_role_id: Option<String>,
    pub name: String,
    /// ADH shows a tenant's alias for the community here when it set one; rsvp has no aliases, so it is the name.
    pub display_name: String,
    pub description: String,
    pub date_created: String,
    pub preferred_region_id: Option<String>,
    /// ADH's roles of the community; rsvp has none.
    pub community_roles: Option<Vec<String>>,
    pub contact_email: Option<String>,
    /// Whose verified address may accept the community's invitations by default: `Recipient` or
    /// `RecipientDomain`.
    pub accept_from: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<CommunityTenant>>,
}

impl CommunityBody {
    /// The community with its listed tenants.
    pub fn new(c: &Community, tenants: &[Membership]) -> Self {
        Self { tenants: Some(CommunityTenant::list(tenants)), ..Self::summary(c) }
    }

    /// The list form, without the tenants.
    pub fn summary(c: &Community) -> Self {
        Self {
            id: c.id.to_string(),
            member_role_id: None,
            name: c.name.clone(),
            display_name: c.name.clone(),
            description: c.description.clone(),
            date_created: c.created.to_rfc3339(),
            preferred_region_id: None,
            community_roles: None,
            contact_email: c.contact_email.as_ref().map(ToString::to_string),
            accept_from: c.accept_from.as_str(),
            tenants: None,
        }
    }
}

/// The state of an invitation's latest email, as both dialects show it: `pending`, `sending` (claimed by a sender:
/// it may be out already; a sender that died leaves it so until its claim goes stale and it is sent again),
/// `sent`, `failed` or `cancelled`; once sent, what the mail service learned of it in place of `sent`:
/// `delivered`, `bounced` or `complained` (a delay leaves it `sent`).
pub fn delivery_state(delivery: Option<&crate::domain::Delivery>) -> Option<&'static str> {
    delivery.map(|d| match (d.state, &d.fate) {
        (DeliveryState::Sent, Some(Fate::Delayed { .. }) | None) => "sent",
        (DeliveryState::Sent, Some(fate)) => fate.as_str(),
        (DeliveryState::Pending, _) => "pending",
        (DeliveryState::Sending, _) => "sending",
        (DeliveryState::Failed, _) => "failed",
        (DeliveryState::Cancelled, _) => "cancelled",
    })
}

/// Why the latest email did not get through, as the mail service said: the reason it failed, or what the
/// receiving server said of a bounce; `None` otherwise.
pub fn delivery_failure(delivery: Option<&crate::domain::Delivery>) -> Option<String> {
    let d = delivery?;
    match (&d.state, &d.fate) {
        (DeliveryState::Failed, _) => d.failure.clone(),
        (DeliveryState::Sent, Some(Fate::Bounced { bounce_type, diagnostic, .. })) => {
            Some(diagnostic.clone().unwrap_or_else(|| format!("bounced ({bounce_type})")))
        }
        _ => None,
    }
}

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
            options: OptionsBody::of(i.into()),
        }
    }
}

/// Who sent a platform invitation, as the person invited is told.
pub fn inviter(i: &UserInvitation) -> String {
    i.inviter_email.as_ref().map_or_else(|| i.inviter.as_str().to_owned(), ToString::to_string)
}

/// The seed's flag values for a feature switch.
pub const FEATURE_ENABLED: &str = "com.soa.feature.enabled";
pub const FEATURE_DISABLED: &str = "com.soa.feature.disabled";

/// `BusinessUserSettings`: the seed's fields and ours.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Delivery, DeliveryOutcome, Email, MailKind, Timestamp};

    #[test]
    fn a_sent_email_shows_what_the_mail_service_learned_of_it() {
        let at = Timestamp::from_millis(1_700_000_000_000);
        let mut d = Delivery::pending(None, MailKind::Invitation, vec![Email::parse("bob@x.com").unwrap()], at);
        d.claim(at);
        d.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, at);
        assert_eq!((delivery_state(Some(&d)), delivery_failure(Some(&d))), (Some("sent"), None));
        assert!(d.learn("m", Fate::Delayed { at, reason: "MailboxFull".into() }));
        assert_eq!(delivery_state(Some(&d)), Some("sent"), "a delay is still on its way");
        let bounce = Fate::Bounced { at, permanent: true, bounce_type: "Permanent".into(), diagnostic: None };
        assert!(d.learn("m", bounce));
        assert_eq!(delivery_state(Some(&d)), Some("bounced"));
        assert_eq!(delivery_failure(Some(&d)).as_deref(), Some("bounced (Permanent)"));
        assert!(d.learn("m", Fate::Complained { at, feedback: None }));
        assert_eq!((delivery_state(Some(&d)), delivery_failure(Some(&d))), (Some("complained"), None));
    }
}
