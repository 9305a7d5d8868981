//! A tenant's invitation policy for platform users (the reference API's `BusinessUserSettings`, and ours beside it).
//!
//! Stored once per tenant; a tenant that never saved any has [`UserSettings::default`], under which nobody may
//! invite (the reference API's default). The same cooldown also paces Resend of the tenant's community invitations.
//!
//! Beside the tenant's own settings stand the deployment's [`MailBudget`]: every email rsvp sends on a tenant's
//! behalf carries text the tenant wrote, from the deployment's own SES identity, so the deployment caps them per
//! tenant and per recipient each UTC day, and paces Resend however the tenant sets its cooldown.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Branding, BrandingInput, Email, Timestamp};

/// The invitation policy of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    /// Whether signed-in users may invite people who are not registered (`InviteUnregisteredUsers`).
    pub invite_unregistered_users: bool,
    /// How long a platform invitation stays valid.
    pub invited_user_valid_days: i64,
    /// Lower-case domains that may be invited; empty means any.
    pub allowed_email_domains: Vec<String>,
    /// Emails the tenant may send per UTC day, counted atomically across all its users and both dialects: its own
    /// setting of the day's budget, which the deployment's [`MailBudget::per_tenant_per_day`] caps.
    pub max_invitations_per_day: u32,
    /// The least time between two sends of one invitation (Resend), here and in the Communities API.
    pub resend_cooldown_minutes: i64,
    /// The origins (`https://app.example.com`) an invitation's `RedirectUrl` may lead to; empty: none may
    /// ([`UserSettings::redirect`]). Absent from settings saved before it existed.
    #[serde(default)]
    pub allowed_redirect_origins: Vec<String>,
    /// The roles a platform invitation may grant ([`super::may_grant`]); `TenantMember` for settings saved
    /// before it existed, as for a tenant that never saved any.
    #[serde(default = "default_invitable_roles")]
    pub invitable_roles: Vec<String>,
    /// How the tenant's emails and landing pages present it ([`Branding`]); none: rsvp's own look.
    #[serde(default, skip_serializing_if = "is_unbranded")]
    pub branding: Branding,
    /// The language of its invitations that name none, or one rsvp has no words for (`de`); none: English
    /// ([`crate::i18n::Language::choose`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
}

fn is_unbranded(branding: &Branding) -> bool {
    *branding == Branding::default()
}

fn default_invitable_roles() -> Vec<String> {
    vec!["TenantMember".to_owned()]
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            invite_unregistered_users: false,
            invited_user_valid_days: 7,
            allowed_email_domains: Vec::new(),
            max_invitations_per_day: 50,
            resend_cooldown_minutes: 10,
            allowed_redirect_origins: Vec::new(),
            invitable_roles: default_invitable_roles(),
            branding: Branding::default(),
            default_locale: None,
        }
    }
}

/// Bounds of each setting; a value outside them is refused with the bounds named.
pub const MAX_VALID_DAYS: i64 = 365;
pub const MAX_PER_DAY: u32 = 10_000;
pub const MAX_COOLDOWN_MINUTES: i64 = 24 * 60;
pub const MAX_DOMAINS: usize = 100;

/// A change to some settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub invite_unregistered_users: Option<bool>,
    pub invited_user_valid_days: Option<i64>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub max_invitations_per_day: Option<i64>,
    pub resend_cooldown_minutes: Option<i64>,
    pub allowed_redirect_origins: Option<Vec<String>>,
    pub invitable_roles: Option<Vec<String>>,
    /// The whole branding, replacing the one saved (a field left out is cleared).
    pub branding: Option<BrandingInput>,
    /// A language tag rsvp speaks, or `""` for none.
    pub default_locale: Option<String>,
}

/// Why a settings change was refused: every fault, each named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join(" "))]
pub struct SettingsError(pub Vec<String>);

impl UserSettings {
    /// These settings with `change` applied, or every reason it cannot be.
    pub fn with(&self, change: &SettingsChange) -> Result<Self, SettingsError> {
        let mut next = self.clone();
        let mut faults = Vec::new();
        if let Some(on) = change.invite_unregistered_users {
            next.invite_unregistered_users = on;
        }
        if let Some(days) = change.invited_user_valid_days {
            match (1..=MAX_VALID_DAYS).contains(&days) {
                true => next.invited_user_valid_days = days,
                false => faults.push(format!("InvitedUserValidDays must be from 1 to {MAX_VALID_DAYS}.")),
            }
        }
        if let Some(per_day) = change.max_invitations_per_day {
            match u32::try_from(per_day).ok().filter(|n| (1..=MAX_PER_DAY).contains(n)) {
                Some(n) => next.max_invitations_per_day = n,
                None => faults.push(format!("MaxInvitationsPerDay must be from 1 to {MAX_PER_DAY}.")),
            }
        }
        if let Some(minutes) = change.resend_cooldown_minutes {
            match (0..=MAX_COOLDOWN_MINUTES).contains(&minutes) {
                true => next.resend_cooldown_minutes = minutes,
                false => faults.push(format!("ResendCooldownMinutes must be from 0 to {MAX_COOLDOWN_MINUTES}.")),
            }
        }
        if let Some(domains) = &change.allowed_email_domains {
            match normalise_domains(domains) {
                Ok(domains) => next.allowed_email_domains = domains,
                Err(fault) => faults.push(fault),
            }
        }
        if let Some(roles) = &change.invitable_roles {
            match super::parse_roles(roles) {
                Ok(roles) => next.invitable_roles = roles,
                Err(e) => faults.push(e.to_string().replacen("Roles", "InvitableRoles", 1)),
            }
        }
        if let Some(origins) = &change.allowed_redirect_origins {
            match normalise_origins(origins) {
                Ok(origins) => next.allowed_redirect_origins = origins,
                Err(fault) => faults.push(fault),
            }
        }
        if let Some(branding) = &change.branding {
            match Branding::parse(branding) {
                Ok(branding) => next.branding = branding,
                Err(more) => faults.extend(more),
            }
        }
        match change.default_locale.as_deref().map(str::trim) {
            None => {}
            Some("") => next.default_locale = None,
            Some(tag) => match crate::i18n::parse_spoken(tag, "DefaultLocale") {
                Ok(language) => next.default_locale = Some(language.tag().to_owned()),
                Err(e) => faults.push(e.to_string()),
            },
        }
        if faults.is_empty() { Ok(next) } else { Err(SettingsError(faults)) }
    }

    /// Whether `email` is in a domain the tenant allows (any, when the list is empty).
    pub fn allows(&self, email: &Email) -> bool {
        self.allowed_email_domains.is_empty() || self.allowed_email_domains.iter().any(|d| d == email.domain())
    }

    /// `raw` as an invitation's `RedirectUrl`: where its landing page sends the person once they answered. Only to
    /// one of the tenant's [`UserSettings::allowed_redirect_origins`], by exact origin (scheme, host, port), so an
    /// invitation can never make rsvp's page an open redirect. The URL as it will be used.
    pub fn redirect(&self, raw: &str) -> Result<String, RedirectError> {
        if raw.len() > MAX_URL_CHARS {
            return Err(RedirectError::TooLong);
        }
        let url = web_url(raw).ok_or(RedirectError::NotAWebUrl)?;
        let origin = url.origin().ascii_serialization();
        if !self.allowed_redirect_origins.contains(&origin) {
            return Err(RedirectError::NotAllowed(origin));
        }
        Ok(url.to_string())
    }
}

/// The longest `RedirectUrl` kept.
pub const MAX_URL_CHARS: usize = 2_048;
/// The most origins a tenant lists.
pub const MAX_ORIGINS: usize = 20;

/// Why a `RedirectUrl` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("RedirectUrl is longer than {MAX_URL_CHARS} characters.")]
    TooLong,
    #[error("RedirectUrl must be an https URL (http only to localhost), without a user name or password in it.")]
    NotAWebUrl,
    #[error(
        "RedirectUrl leads to {0}, which is not one of the tenant's AllowedRedirectOrigins: a TenantAdministrator \
         lists them in the tenant's user settings."
    )]
    NotAllowed(String),
}

/// `raw` if it is a URL a browser may be sent to: https, or http to the machine itself (a developer's app), with
/// no credentials in it.
fn web_url(raw: &str) -> Option<url::Url> {
    let url = url::Url::parse(raw.trim()).ok()?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme = url.scheme() == "https" || (url.scheme() == "http" && local);
    (scheme && url.host().is_some() && url.username().is_empty() && url.password().is_none()).then_some(url)
}

/// The origins as stored: each `scheme://host[:port]` (lower-case, default port left out), no repeats.
fn normalise_origins(origins: &[String]) -> Result<Vec<String>, String> {
    if origins.len() > MAX_ORIGINS {
        return Err(format!("AllowedRedirectOrigins may list at most {MAX_ORIGINS} origins."));
    }
    let mut out: Vec<String> = Vec::new();
    for raw in origins {
        let origin = web_url(raw).filter(|u| u.path() == "/" && u.query().is_none() && u.fragment().is_none());
        let Some(origin) = origin.map(|u| u.origin().ascii_serialization()) else {
            let shown: String = raw.chars().take(100).collect();
            return Err(format!(
                "AllowedRedirectOrigins has {shown:?}, which is not an origin such as https://app.example.com \
                 (https, or http to localhost; no path)."
            ));
        };
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// The allow-list as stored: trimmed, lower-case, each a host name with a dot, no repeats.
fn normalise_domains(domains: &[String]) -> Result<Vec<String>, String> {
    if domains.len() > MAX_DOMAINS {
        return Err(format!("AllowedEmailDomains may list at most {MAX_DOMAINS} domains."));
    }
    let mut out: Vec<String> = Vec::new();
    for domain in domains {
        let domain = domain.trim().to_ascii_lowercase();
        // A domain is valid exactly when an address in it is.
        if Email::parse(&format!("x@{domain}")).is_err() {
            let shown: String = domain.chars().take(100).collect();
            return Err(format!("AllowedEmailDomains has {shown:?}, which is not a domain name such as example.com."));
        }
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    Ok(out)
}

/// The deployment's caps on the emails sent on tenants' behalf (`RSVP_EMAILS_PER_TENANT_PER_DAY`,
/// `RSVP_EMAILS_PER_RECIPIENT_PER_DAY`, `RSVP_MIN_RESEND_COOLDOWN_MINUTES`): without them a tenant's member could
/// make rsvp a relay for its own text to any address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailBudget {
    /// Emails (invitations and their resends, both dialects) one tenant may have sent per UTC day.
    pub per_tenant_per_day: u32,
    /// Emails one tenant may have sent to one address per UTC day.
    pub per_recipient_per_day: u32,
    /// The least cooldown between two sends of one invitation, whatever the tenant's `ResendCooldownMinutes`.
    pub min_resend_cooldown_minutes: i64,
}

impl Default for MailBudget {
    fn default() -> Self {
        Self { per_tenant_per_day: 500, per_recipient_per_day: 3, min_resend_cooldown_minutes: 5 }
    }
}

impl MailBudget {
    /// The tenant's emails per day: the deployment's cap, or the tenant's own `MaxInvitationsPerDay` where it saved
    /// settings with a stricter one (a tenant that never saved any has no setting of its own).
    pub fn tenant_limit(&self, saved: Option<&UserSettings>) -> u32 {
        saved.map_or(self.per_tenant_per_day, |s| s.max_invitations_per_day.min(self.per_tenant_per_day))
    }

    /// The cooldown a Resend waits: the tenant's, but never less than the deployment's floor.
    pub fn resend_cooldown(&self, tenant_minutes: i64) -> i64 {
        tenant_minutes.max(self.min_resend_cooldown_minutes)
    }
}

/// The hex SHA-256 of a normalised (lower-cased) address: what a per-recipient count is keyed by, so that no key
/// of the table carries the address itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecipientHash(String);

impl RecipientHash {
    pub fn of(email: &Email) -> Self {
        let digest = Sha256::digest(email.key().as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What one of a tenant's daily counts counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DailyCounter {
    /// Every email sent on the tenant's behalf: the day's budget ([`MailBudget::tenant_limit`]).
    Emails,
    /// The emails to one address ([`MailBudget::per_recipient_per_day`]).
    Recipient(RecipientHash),
}

/// Why an email may not be sent today; nothing was counted or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "The tenant may send {limit} invitations a day; {used} were sent today (UTC) and this request needs {needed}."
    )]
    TenantSpent { limit: u32, used: u32, needed: u32, retry_after_seconds: i64 },
    #[error(
        "An address may receive at most {limit} invitations a day from one tenant; {count} of the addresses had \
         them today (UTC)."
    )]
    RecipientSpent { limit: u32, count: usize, retry_after_seconds: i64 },
}

impl BudgetError {
    /// Seconds until the counts start again: the next UTC day.
    pub fn retry_after_seconds(&self) -> i64 {
        match self {
            Self::TenantSpent { retry_after_seconds, .. } | Self::RecipientSpent { retry_after_seconds, .. } => {
                *retry_after_seconds
            }
        }
    }
}

/// The UTC day `at` falls in (`2026-12-01`): the period `MaxInvitationsPerDay` counts over.
pub fn utc_day(at: Timestamp) -> String {
    at.to_rfc3339().chars().take(10).collect()
}

/// Seconds from `at` to the next UTC midnight, when the day's count starts again (at least 1).
pub fn seconds_to_next_day(at: Timestamp) -> i64 {
    const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;
    let into_day = at.millis().rem_euclid(DAY_MILLIS);
    ((DAY_MILLIS - into_day) / 1000).max(1)
}

/// The start of the UTC day after `at`.
pub fn next_day(at: Timestamp) -> Timestamp {
    Timestamp::from_millis(at.millis() + seconds_to_next_day(at) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_forbid_inviting_and_follow_the_reference_api() {
        let s = UserSettings::default();
        assert!(!s.invite_unregistered_users);
        assert_eq!((s.invited_user_valid_days, s.max_invitations_per_day, s.resend_cooldown_minutes), (7, 50, 10));
        assert!(s.allows(&Email::parse("a@anything.example").unwrap()));
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_refuses_every_bad_value() {
        let change = SettingsChange {
            invite_unregistered_users: Some(true),
            allowed_email_domains: Some(vec![" Acme.COM ".into(), "acme.com".into(), "b.example".into()]),
            ..SettingsChange::default()
        };
        let s = UserSettings::default().with(&change).unwrap();
        assert!(s.invite_unregistered_users);
        assert_eq!(s.allowed_email_domains, ["acme.com", "b.example"]);
        assert_eq!(s.invited_user_valid_days, 7);
        assert!(s.allows(&Email::parse("Jane@ACME.com").unwrap()));
        assert!(!s.allows(&Email::parse("jane@acme.com.evil.example").unwrap()));
        assert!(!s.allows(&Email::parse("jane@sub.acme.com").unwrap()));

        let bad = SettingsChange {
            invited_user_valid_days: Some(0),
            max_invitations_per_day: Some(-1),
            resend_cooldown_minutes: Some(100_000),
            allowed_email_domains: Some(vec!["not a domain".into()]),
            ..SettingsChange::default()
        };
        let SettingsError(faults) = UserSettings::default().with(&bad).unwrap_err();
        assert_eq!(faults.len(), 4, "{faults:?}");
        assert!(faults.iter().any(|f| f.contains("InvitedUserValidDays")));
        let too_many = SettingsChange {
            allowed_email_domains: Some((0..=MAX_DOMAINS).map(|i| format!("d{i}.example")).collect()),
            ..SettingsChange::default()
        };
        assert!(UserSettings::default().with(&too_many).is_err());
    }

    #[test]
    fn the_deployment_caps_the_tenant_and_floors_the_cooldown() {
        let budget = MailBudget::default();
        assert_eq!(budget.tenant_limit(None), 500, "no saved settings: the deployment's cap");
        let strict = UserSettings { max_invitations_per_day: 2, ..UserSettings::default() };
        assert_eq!(budget.tenant_limit(Some(&strict)), 2, "the tenant's own, stricter setting");
        let lax = UserSettings { max_invitations_per_day: MAX_PER_DAY, ..UserSettings::default() };
        assert_eq!(budget.tenant_limit(Some(&lax)), 500, "never over the deployment's");
        assert_eq!((budget.resend_cooldown(0), budget.resend_cooldown(30)), (5, 30));
    }

    #[test]
    fn a_recipient_is_counted_by_a_hash_of_its_normalised_address() {
        let a = RecipientHash::of(&Email::parse("Jane@Partner.example").unwrap());
        assert_eq!(a, RecipientHash::of(&Email::parse("jane@partner.example").unwrap()));
        assert_ne!(a, RecipientHash::of(&Email::parse("jane2@partner.example").unwrap()));
        assert_eq!(a.as_str().len(), 64);
        assert!(!a.as_str().contains("jane") && a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn the_day_is_the_utc_day() {
        let t = Timestamp::from_millis(1_700_000_000_000); // 2023-11-14T22:13:20Z
        assert_eq!(utc_day(t), "2023-11-14");
        assert_eq!(seconds_to_next_day(t), 6_400);
        assert_eq!(utc_day(next_day(t)), "2023-11-15");
        assert_eq!(utc_day(next_day(t).plus_minutes(-1)), "2023-11-14");
    }

    #[test]
    fn a_redirect_goes_only_to_an_allowed_origin_by_exact_origin() {
        let change = SettingsChange {
            allowed_redirect_origins: Some(vec![
                "https://App.Example.com".into(),
                "https://app.example.com:443/".into(),
                "http://localhost:5173".into(),
            ]),
            ..SettingsChange::default()
        };
        let s = UserSettings::default().with(&change).unwrap();
        assert_eq!(s.allowed_redirect_origins, ["https://app.example.com", "http://localhost:5173"]);
        assert_eq!(
            s.redirect("https://app.example.com/welcome?x=1#top").unwrap(),
            "https://app.example.com/welcome?x=1#top"
        );
        assert!(s.redirect("http://localhost:5173/done").is_ok());
        for (raw, refused) in [
            ("https://evil.example/", RedirectError::NotAllowed("https://evil.example".into())),
            (
                "https://app.example.com.evil.example/",
                RedirectError::NotAllowed("https://app.example.com.evil.example".into()),
            ),
            ("https://app.example.com:8443/", RedirectError::NotAllowed("https://app.example.com:8443".into())),
            ("http://app.example.com/", RedirectError::NotAWebUrl),
            ("javascript:alert(1)", RedirectError::NotAWebUrl),
            ("//app.example.com/x", RedirectError::NotAWebUrl),
            ("https://user:pw@app.example.com/", RedirectError::NotAWebUrl),
            ("data:text/html,hi", RedirectError::NotAWebUrl),
        ] {
            assert_eq!(s.redirect(raw), Err(refused), "{raw}");
        }
        assert_eq!(
            s.redirect(&format!("https://app.example.com/{}", "a".repeat(MAX_URL_CHARS))),
            Err(RedirectError::TooLong)
        );
        assert!(UserSettings::default().redirect("https://app.example.com/").is_err(), "none allowed by default");

        for bad in ["https://app.example.com/path", "ftp://app.example.com", "not a url", "https://app.example.com/?q"]
        {
            let change =
                SettingsChange { allowed_redirect_origins: Some(vec![bad.into()]), ..SettingsChange::default() };
            let SettingsError(faults) = UserSettings::default().with(&change).unwrap_err();
            assert!(faults[0].contains("not an origin"), "{bad}: {faults:?}");
        }
        let many = SettingsChange {
            allowed_redirect_origins: Some((0..=MAX_ORIGINS).map(|i| format!("https://a{i}.example")).collect()),
            ..SettingsChange::default()
        };
        assert!(UserSettings::default().with(&many).is_err());
    }
}
