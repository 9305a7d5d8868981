//! What every operation runs with: the store, the clock and the configuration, built once per cold start.

use std::sync::Arc;

use crate::domain::collaboration::{Portal, PortalId, PortalUrl};
use crate::domain::{Clock, InvitationPolicy, MailBudget, SystemClock};
use crate::portal_keys::{NoPortalKeys, PortalKeys};
use crate::seal::{AesSealer, Sealer};
use crate::sign::{LocalSigner, Signer};
use crate::store::Store;

/// Shared state of one process (one Lambda instance, or the local server).
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    /// Seals link secrets for the outbox (see [`crate::seal`]).
    pub sealer: Arc<dyn Sealer>,
    /// Signs this portal's collaboration files (see [`crate::sign`]).
    pub signer: Arc<dyn Signer>,
    /// Fetches the key another portal publishes, which its files must carry (see [`crate::portal_keys`]).
    pub portal_keys: Arc<dyn PortalKeys>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        // A key that lives only in this process until `with_sealer` names the real one: whatever it seals can be
        // unsealed only here, which is right for tests and harmless for operations that issue no secret.
        // The same holds for the signer: a key of this process only, until `with_signer` names the portal's.
        Self {
            store,
            clock: Arc::new(SystemClock),
            config,
            sealer: Arc::new(AesSealer::ephemeral()),
            signer: Arc::new(LocalSigner::ephemeral()),
            // Reaches no portal until `with_portal_keys` names the fetcher: keys then need their fingerprint.
            portal_keys: Arc::new(NoPortalKeys),
        }
    }

    pub fn with_portal_keys(mut self, keys: Arc<dyn PortalKeys>) -> Self {
        self.portal_keys = keys;
        self
    }

    pub fn with_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = signer;
        self
    }

    pub fn with_sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealer = sealer;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Names of the token claims rsvp reads. Identity providers differ, so each is configurable.
#[derive(Debug, Clone)]
pub struct ClaimNames {
    pub user: String,
    pub email: String,
    pub tenant: String,
    pub roles: String,
    pub tenant_name: String,
    /// The claim that says the identity provider verified `email` (`email_verified` in OpenID Connect). Only
    /// `true` (or the string `"true"`) counts: absent, `false`, `"False"`, `0` or `"no"` leave the caller without
    /// an address rsvp trusts.
    pub email_verified: String,
    /// For identity providers that only issue verified addresses and carry no such claim
    /// (`RSVP_EMAIL_ALWAYS_VERIFIED=true`): every token's `email` is trusted.
    pub email_always_verified: bool,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            user: "sub".into(),
            email: "email".into(),
            tenant: "tenant_id".into(),
            roles: "roles".into(),
            tenant_name: "tenant_name".into(),
            email_verified: "email_verified".into(),
            email_always_verified: false,
        }
    }
}

/// Settings, from the environment in Lambda (see [`Config::from_env`]) and from flags in the local server.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Base URL of the invitation landing page links (`{public_url}/invite/{id}?token=...`). When unset, the
    /// API's own domain name from the request is used.
    pub public_url: Option<String>,
    /// Where a community invitation's landing page sends a recipient who chooses Accept: the product's sign-in,
    /// given `?invitation=<id>&token=<secret>` (or `&...` when it has a query already). Unset, the page explains
    /// the next step instead.
    pub sign_in_url: Option<String>,
    pub claims: ClaimNames,
    pub invitations: InvitationPolicy,
    /// The caps on the emails sent on tenants' behalf, and the floor under their Resend cooldowns.
    pub mail: MailBudget,
    /// This deployment as a portal (the collaboration routes); `None` when it is not configured as one.
    pub portal: Option<Portal>,
}

/// A setting that is present but unusable; the function refuses to start rather than run misconfigured.
#[derive(Debug, thiserror::Error)]
#[error("configuration {name} is not valid: {why}")]
pub struct ConfigError {
    pub name: &'static str,
    pub why: String,
}

impl Config {
    /// Reads `RSVP_PUBLIC_URL`, `RSVP_SIGN_IN_URL`, `RSVP_CLAIM_{SUB,EMAIL,TENANT,ROLES,TENANT_NAME,EMAIL_VERIFIED}`,
    /// `RSVP_EMAIL_ALWAYS_VERIFIED` (default false),
    /// `RSVP_COMMUNITY_INVITATION_VALID_DAYS` (default 14), `RSVP_RESEND_COOLDOWN_MINUTES` (default 10),
    /// `RSVP_EMAILS_PER_TENANT_PER_DAY` (default 500), `RSVP_EMAILS_PER_RECIPIENT_PER_DAY` (default 3),
    /// `RSVP_MIN_RESEND_COOLDOWN_MINUTES` (default 5) and, for
    /// a deployment that is a portal, `RSVP_PORTAL_URL` (https), `RSVP_PORTAL_ID` and `RSVP_PORTAL_NAME`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(url) = get("RSVP_PUBLIC_URL").filter(|u| !u.is_empty()) {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError {
                    name: "RSVP_PUBLIC_URL",
                    why: "it must start with https:// or http://".into(),
                });
            }
            config.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        if let Some(url) = get("RSVP_SIGN_IN_URL").filter(|u| !u.is_empty()) {
            // The page appends the invitation's query to it, which a fragment would swallow.
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('#') {
                return Err(ConfigError {
                    name: "RSVP_SIGN_IN_URL",
                    why: "it must be an https:// or http:// URL without a #fragment".into(),
                });
            }
            config.sign_in_url = Some(url);
        }
        let claims = &mut config.claims;
        for (name, slot) in [
            ("RSVP_CLAIM_SUB", &mut claims.user),
            ("RSVP_CLAIM_EMAIL", &mut claims.email),
            ("RSVP_CLAIM_TENANT", &mut claims.tenant),
            ("RSVP_CLAIM_ROLES", &mut claims.roles),
            ("RSVP_CLAIM_TENANT_NAME", &mut claims.tenant_name),
            ("RSVP_CLAIM_EMAIL_VERIFIED", &mut claims.email_verified),
        ] {
            if let Some(value) = get(name).filter(|v| !v.is_empty()) {
                *slot = value;
            }
        }
        claims.email_always_verified = match get("RSVP_EMAIL_ALWAYS_VERIFIED").as_deref().map(str::trim) {
            None | Some("" | "false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError { name: "RSVP_EMAIL_ALWAYS_VERIFIED", why: "expected true or false".into() });
            }
        };
        let number = |name: &'static str, default: i64, max: i64| -> Result<i64, ConfigError> {
            match get(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or(ConfigError { name, why: format!("expected a whole number from 1 to {max}") }),
            }
        };
        config.invitations.validity_days = number("RSVP_COMMUNITY_INVITATION_VALID_DAYS", 14, 365)?;
        config.invitations.resend_cooldown_minutes = number("RSVP_RESEND_COOLDOWN_MINUTES", 10, 24 * 60)?;
        let whole = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        let mail = MailBudget::default();
        config.mail = MailBudget {
            per_tenant_per_day: whole(number(
                "RSVP_EMAILS_PER_TENANT_PER_DAY",
                i64::from(mail.per_tenant_per_day),
                1_000_000,
            )?),
            per_recipient_per_day: whole(number(
                "RSVP_EMAILS_PER_RECIPIENT_PER_DAY",
                i64::from(mail.per_recipient_per_day),
                1_000,
            )?),
            min_resend_cooldown_minutes: number(
                "RSVP_MIN_RESEND_COOLDOWN_MINUTES",
                mail.min_resend_cooldown_minutes,
                24 * 60,
            )?,
        };
        if let Some(url) = get("RSVP_PORTAL_URL").filter(|v| !v.is_empty()) {
            let bad = |name: &'static str, e: crate::domain::collaboration::CollaborationError| ConfigError {
                name,
                why: e.to_string(),
            };
            let id = get("RSVP_PORTAL_ID").unwrap_or_default();
            config.portal = Some(Portal {
                id: PortalId::parse("RSVP_PORTAL_ID", &id).map_err(|e| bad("RSVP_PORTAL_ID", e))?,
                url: PortalUrl::parse("RSVP_PORTAL_URL", &url, false).map_err(|e| bad("RSVP_PORTAL_URL", e))?,
                name: get("RSVP_PORTAL_NAME").filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "rsvp portal".into()),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_without_settings_and_bad_settings_are_refused() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.invitations.validity_days, 14);
        assert_eq!(config.invitations.resend_cooldown_minutes, 10);
        assert_eq!(config.claims.tenant, "tenant_id");
        let bad = Config::from_lookup(|n| (n == "RSVP_RESEND_COOLDOWN_MINUTES").then(|| "-3".into()));
        assert!(bad.is_err());
        let url = Config::from_lookup(|n| (n == "RSVP_PUBLIC_URL").then(|| "https://x.example/".into())).unwrap();
        assert_eq!(url.public_url.as_deref(), Some("https://x.example"));
        let sign_in = |v: &str| Config::from_lookup(|n| (n == "RSVP_SIGN_IN_URL").then(|| v.to_owned()));
        assert_eq!(
            sign_in("https://app.example/in?x=1").unwrap().sign_in_url.as_deref(),
            Some("https://app.example/in?x=1")
        );
        assert!(sign_in("javascript:alert(1)").is_err() && sign_in("https://app.example/#/in").is_err());
        assert_eq!(sign_in("").unwrap().sign_in_url, None);
        let always = |v: &str| Config::from_lookup(|n| (n == "RSVP_EMAIL_ALWAYS_VERIFIED").then(|| v.to_owned()));
        assert!(always("true").unwrap().claims.email_always_verified);
        assert!(!always("false").unwrap().claims.email_always_verified);
        assert!(always("yes").is_err(), "a typo is refused, not read as false");
        assert_eq!(config.mail, MailBudget::default());
        assert_eq!(
            (
                config.mail.per_tenant_per_day,
                config.mail.per_recipient_per_day,
                config.mail.min_resend_cooldown_minutes
            ),
            (500, 3, 5)
        );
        let mail = |name: &str, v: &str| {
            let (name, v) = (name.to_owned(), v.to_owned());
            Config::from_lookup(move |n| (n == name).then(|| v.clone()))
        };
        assert_eq!(mail("RSVP_EMAILS_PER_TENANT_PER_DAY", "20").unwrap().mail.per_tenant_per_day, 20);
        assert_eq!(mail("RSVP_EMAILS_PER_RECIPIENT_PER_DAY", "9").unwrap().mail.per_recipient_per_day, 9);
        assert_eq!(mail("RSVP_MIN_RESEND_COOLDOWN_MINUTES", "15").unwrap().mail.min_resend_cooldown_minutes, 15);
        for name in
            ["RSVP_EMAILS_PER_TENANT_PER_DAY", "RSVP_EMAILS_PER_RECIPIENT_PER_DAY", "RSVP_MIN_RESEND_COOLDOWN_MINUTES"]
        {
            assert!(mail(name, "0").is_err() && mail(name, "many").is_err(), "{name} refuses 0 and words");
        }
    }
}
