//! How long finished records stay: [`Retention`], read from `RSVP_AUDIT_RETENTION_DAYS`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::n;
use crate::domain::Timestamp;

/// How long DynamoDB keeps the record of an invitation that can no longer be used — withdrawn, declined, revoked,
/// expired unanswered, or a collaboration invitation past its expiry — counted from when it ended; then its `ttl`
/// lets DynamoDB delete it. Accepted and completed invitations are the record of a membership and stay for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Days(u32),
    Forever,
}

impl Retention {
    /// The default: a year, so that a withdrawn or declined invitation is still there for an audit of the year.
    pub const DEFAULT: Self = Self::Days(365);

    /// The setting that sets it.
    pub const SETTING: &'static str = "RSVP_AUDIT_RETENTION_DAYS";

    /// Reads [`Self::SETTING`] through `get` (the environment, in Lambda): unset or empty is the default.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        match get(Self::SETTING).filter(|v| !v.is_empty()) {
            Some(days) => Self::parse_days(&days).map_err(|e| format!("{}: {e}", Self::SETTING)),
            None => Ok(Self::DEFAULT),
        }
    }

    /// Reads a number of days as [`Self::SETTING`] gives it: 0 keeps records for ever.
    pub fn parse_days(value: &str) -> Result<Self, String> {
        match value.trim().parse::<u32>() {
            Ok(0) => Ok(Self::Forever),
            Ok(days) if days <= 36_500 => Ok(Self::Days(days)),
            _ => Err(format!("{value:?} is not a number of days from 0 (for ever) to 36500")),
        }
    }

    /// The `ttl` (epoch seconds) of a record that ended at `ended`, if it is ever to go.
    pub(super) fn ttl(self, ended: Timestamp) -> Option<AttributeValue> {
        match self {
            Self::Days(days) => Some(n(ended.plus_days(i64::from(days)).epoch_seconds())),
            Self::Forever => None,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}
