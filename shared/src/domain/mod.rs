//! Pure types and rules (communities and their invitations, platform invitations and their tenant settings,
//! idempotent creates). Nothing here does I/O or knows about AWS or HTTP, so every rule is unit-tested with an
//! injected [`Clock`] and no components.

pub mod collaboration;
mod community;
mod email;
mod idempotency;
mod ids;
mod invitation;
mod outbox;
mod principal;
mod secret;
mod settings;
mod time;
mod user_invitation;

pub use community::{Community, CommunityInput, CountChange, MemberStatus, Membership, StillInUse};
pub use email::{Email, EmailError};
pub use idempotency::{
    CLAIM_STALE_SECONDS as IDEMPOTENCY_CLAIM_STALE_SECONDS, Claim, IdempotencyRecord, KeyError, StoredAnswer,
};
pub use ids::{CommunityId, IdError, InvitationId, TenantId, UserId};
pub use invitation::{
    Action, Actor, HistoryEntry, Invitation, InvitationError, InvitationPolicy, LockEffect, MembershipEffect,
    ReadState, StoredState, Transition,
};
pub use outbox::{
    CLAIM_STALE_MINUTES, Claimed, Delivery, DeliveryOutcome, DeliveryState, MailItem, MailKind, recipients,
    stale_before,
};
pub use principal::{Principal, Role};
pub use secret::{Secret, SecretHash};
pub use settings::{SettingsChange, SettingsError, UserSettings, next_day, seconds_to_next_day, utc_day};
pub use time::{Clock, FixedClock, SystemClock, Timestamp};
pub use user_invitation::{
    BadAddress, InviteError, InviteRequest, MAX_NAME_CHARS, UserInvitation, UserInvitationError, UserInvitationState,
    UserReadState, UserTransition, code_invitation,
};

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
