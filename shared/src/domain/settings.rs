//! A tenant's invitation policy for platform users (the seed's `BusinessUserSettings`, and ours beside it).
//!
//! Stored once per tenant; a tenant that never saved any has [`UserSettings::default`], under which nobody may
//! invite (the seed's default). The same cooldown also paces Resend of the tenant's community invitations.

use serde::{Deserialize, Serialize};

use super::{Email, Timestamp};

/// The invitation policy of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    /// Whether signed-in users may invite people who are not registered (`InviteUnregisteredUsers`).
    pub invite_unregistered_users: bool,
    /// How long a platform invitation stays valid.
    pub invited_user_valid_days: i64,
    /// Lower-case domains that may be invited; empty means any.
    pub allowed_email_domains: Vec<String>,
    /// Invitations the tenant may send per UTC day, counted atomically across all its users.
    pub max_invitations_per_day: u32,
    /// The least time between two sends of one invitation (Resend), here and in the Communities API.
    pub resend_cooldown_minutes: i64,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            invite_unregistered_users: false,
            invited_user_valid_days: 7,
            allowed_email_domains: Vec::new(),
            max_invitations_per_day: 50,
            resend_cooldown_minutes: 10,
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
        if faults.is_empty() { Ok(next) } else { Err(SettingsError(faults)) }
    }

    /// Whether `email` is in a domain the tenant allows (any, when the list is empty).
    pub fn allows(&self, email: &Email) -> bool {
        self.allowed_email_domains.is_empty() || self.allowed_email_domains.iter().any(|d| d == email.domain())
    }
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
    fn defaults_forbid_inviting_and_follow_the_seed() {
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
    fn the_day_is_the_utc_day() {
        let t = Timestamp::from_millis(1_700_000_000_000); // 2023-11-14T22:13:20Z
        assert_eq!(utc_day(t), "2023-11-14");
        assert_eq!(seconds_to_next_day(t), 6_400);
        assert_eq!(utc_day(next_day(t)), "2023-11-15");
        assert_eq!(utc_day(next_day(t).plus_minutes(-1)), "2023-11-14");
    }
}
