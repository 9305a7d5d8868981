//! Pure types and rules. Nothing here does I/O or knows about AWS or HTTP, so every rule is unit-tested with an
//! injected [`Clock`] and no components.

mod community;
mod email;
mod ids;
mod invitation;
mod outbox;
mod principal;
mod secret;
mod time;

pub use community::{Community, CommunityInput, MemberStatus, Membership};
pub use email::{Email, EmailError};
pub use ids::{CommunityId, IdError, InvitationId, TenantId, UserId};
pub use invitation::{
    Action, Actor, HistoryEntry, Invitation, InvitationError, InvitationPolicy, LockEffect, MembershipEffect,
    ReadState, StoredState, Transition,
};
pub use outbox::{CLAIM_STALE_MINUTES, Delivery, DeliveryOutcome, DeliveryState, MailKind, recipients, stale_before};
pub use principal::{Principal, Role};
pub use secret::{Secret, SecretHash};
pub use time::{Clock, FixedClock, SystemClock, Timestamp};

/// A text field that must be present, trimmed, and not longer than `max` characters.
pub fn bounded_text(field: &'static str, value: &str, max: usize) -> Result<String, TextError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty(field));
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong(field, max));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(TextError::Control(field));
    }
    Ok(trimmed.to_owned())
}

/// Why a free-text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{0} must be at most {1} characters long")]
    TooLong(&'static str, usize),
    #[error("{0} must not contain control characters")]
    Control(&'static str),
}
