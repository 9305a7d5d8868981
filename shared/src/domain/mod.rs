//! Pure types and rules (communities and their invitations, platform invitations and their tenant settings, portal
//! collaborations, the events every change raises, an email's fate, an invitation's metadata and roles, idempotent
//! creates). Nothing here does I/O or knows about AWS or HTTP, so every rule is unit-tested with an
//! injected [`Clock`] and no components.

mod branding;
pub mod collaboration;
mod community;
mod community_invitation;
mod email;
pub mod event;
pub mod fate;
mod idempotency;
mod ids;
mod lifetime;
mod metadata;
mod options;
pub mod outbox;
mod principal;
mod roles;
mod secret;
mod settings;
mod time;
mod user_invitation;

pub use branding::{Branding, BrandingInput};
pub use community::{AcceptFrom, Community, CommunityInput, CountChange, MemberStatus, Membership, StillInUse};
pub use community_invitation::{
    Action, Actor, CommunityInvitation, CommunityInvitationError, InvitationPolicy, LockEffect, MembershipEffect,
    ReadState, StoredState, Transition,
};
pub use email::{Email, EmailError};
pub use idempotency::{
    CLAIM_STALE_SECONDS as IDEMPOTENCY_CLAIM_STALE_SECONDS, Claim, IdempotencyRecord, KeyError, StoredAnswer,
};
pub use ids::{CommunityId, IdError, InvitationId, TenantId, UserId};
pub use lifetime::{ExpiryError, HistoryEntry, Life, Lifetime};
pub use metadata::{MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEYS, Metadata, MetadataError};
pub use options::InvitationOptions;
pub use outbox::{
    CLAIM_STALE_MINUTES, Claimed, Delivery, DeliveryOutcome, DeliveryState, Earlier, MAX_DELIVERY_ATTEMPTS,
    MAX_EARLIER_DELIVERIES, MailItem, MailKind, Outbox, expiry_order, recipients, stale_before, sweep_order,
};
pub use principal::{Principal, Role};
pub use roles::{MAX_ROLE_CHARS, MAX_ROLES, RolesError, may_grant, parse_roles};
pub use secret::{Secret, SecretHash};
pub use settings::{
    BudgetError, DailyCounter, MailBudget, RecipientHash, RedirectError, SettingsChange, SettingsError, UserSettings,
    next_day, seconds_to_next_day, utc_day,
};
pub use time::{Clock, FixedClock, SystemClock, Timestamp};
pub use user_invitation::{
    BadAddress, InviteError, InviteRequest, MAX_NAME_CHARS, UserInvitation, UserInvitationError, UserInvitationState,
    UserReadState, UserTransition, code_invitation,
};

/// A text field that must be present, trimmed, and not longer than `max` characters; line breaks and tabs are its
/// only control characters, and it carries no character that reorders or hides text ([`is_deceptive`]).
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
    if trimmed.chars().any(is_deceptive) {
        return Err(TextError::Deceptive(field));
    }
    Ok(trimmed.to_owned())
}

/// Like [`bounded_text`], on one line: no line break or tab either (a name shown in a list or a mail header).
pub fn one_line_text(field: &'static str, value: &str, max: usize) -> Result<String, TextError> {
    let text = bounded_text(field, value, max)?;
    if text.contains(['\n', '\t']) {
        return Err(TextError::Control(field));
    }
    Ok(text)
}

/// Characters that make text read otherwise than it is stored: the bidirectional overrides, embeddings and
/// isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E, U+200F, U+061C), which can turn `txt.exe` into
/// what looks like `exe.txt` in an email, and the invisible zero-width space, word joiner and friends (U+200B,
/// U+2060–U+2064, U+FEFF, U+180E, U+00AD), which make two different strings look alike. Zero-width (non-)joiners
/// (U+200C, U+200D) stay allowed: Persian, Indic scripts and emoji need them.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}'
    )
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
    #[error("{0} must not contain invisible or text-direction characters (such as U+200B or U+202E)")]
    Deceptive(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reads_otherwise_than_it_is_stored_is_refused() {
        for bad in [
            "invoice\u{202E}txt.exe",
            "a\u{2066}b\u{2069}",
            "pay\u{200B}pal",
            "\u{FEFF}Acme",
            "x\u{200F}y",
            "so\u{00AD}ft",
        ] {
            assert_eq!(bounded_text("Name", bad, 100), Err(TextError::Deceptive("Name")), "{bad:?}");
        }
        // Scripts and emoji that need joiners, and ordinary right-to-left text, are text.
        for good in ["می\u{200C}خواهم", "👩\u{200D}💻 team", "שלום", "Ünïcödé – fine"] {
            assert_eq!(bounded_text("Name", good, 100).as_deref(), Ok(good), "{good:?}");
        }
        assert_eq!(bounded_text("Message", "line one\nline two", 100).as_deref(), Ok("line one\nline two"));
        assert_eq!(one_line_text("Name", "line one\nline two", 100), Err(TextError::Control("Name")));
        assert_eq!(one_line_text("Name", "Acme\r\nBcc: x", 100), Err(TextError::Control("Name")));
    }
}
