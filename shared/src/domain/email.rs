use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address that has been normalised and validated; the only way to get one is [`Email::parse`].
///
/// Normalisation trims surrounding space and lower-cases the domain (domains are case-insensitive); the local part
/// keeps its case, as RFC 5321 says it may matter. Comparisons for "is this the recipient" use
/// [`Email::matches`], which ignores case throughout, because real mail systems do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is empty")]
    Empty,
    #[error("is longer than 254 characters")]
    TooLong,
    #[error("has no '@' between a name and a domain")]
    Shape,
    #[error("has a name part that is empty, longer than 64 characters or contains characters not allowed here")]
    LocalPart,
    #[error("has a domain that is not a valid host name with a dot")]
    Domain,
}

impl Email {
    pub fn parse(value: &str) -> Result<Self, EmailError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(EmailError::Empty);
        }
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailError::Shape)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        if !local_ok {
            return Err(EmailError::LocalPart);
        }
        let domain = domain.to_ascii_lowercase();
        let labels_ok = domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !labels_ok || !domain.contains('.') {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two addresses reach the same mailbox, ignoring case.
    pub fn matches(&self, other: &Email) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The domain, lower-case (as [`Email::parse`] leaves it).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// The form used as a uniqueness key: one pending invitation per lower-cased address.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases_the_domain_only() {
        assert_eq!(Email::parse("  Ada.L@Example.COM ").unwrap().as_str(), "Ada.L@example.com");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in ["", "plain", "@x.com", "a@", "a@localhost", "a b@x.com", "a@x..com", "a@-x.com", "a\r\n@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Email::parse(&format!("{}@x.com", "a".repeat(65))), Err(EmailError::LocalPart));
        assert_eq!(Email::parse(&format!("a@{}.com", "b".repeat(250))), Err(EmailError::TooLong));
    }

    #[test]
    fn matching_ignores_case() {
        let a = Email::parse("Ada@X.com").unwrap();
        let b = Email::parse("ada@x.com").unwrap();
        assert!(a.matches(&b));
        assert_eq!(a.key(), b.key());
    }
}
