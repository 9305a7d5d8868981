//! What a product may choose for one invitation of either emailed kind beyond the reference API's fields, kept on
//! the invitation as given and handed back on every read and event. Both kinds hold one [`InvitationOptions`],
//! flattened into their stored item, so each field is stored under its own name, as before the two shared it.

use serde::{Deserialize, Serialize};

use super::Metadata;

/// The options an invitation keeps. A lifetime chosen with `ExpiresInDays` is not here: it is part of the
/// invitation's life ([`super::Lifetime`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationOptions {
    /// The product's own data, as the create request gave it ([`Metadata`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Where the landing page sends the person once they answered, as the create request gave it, checked
    /// against the tenant's allowed origins ([`super::UserSettings::redirect`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The roles the invitee receives, as the request gave them ([`super::parse_roles`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Sent by nobody but its creator (`SendEmail: false`): rsvp sends it no email, the create answer carries its
    /// link, and a Resend only renews the link (each kind's `send_no_email`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_only: bool,
    /// The language its emails and landing page use, as the request gave it (`Locale`, a language tag); absent,
    /// or a language rsvp has no words for, the tenant's default is used ([`crate::i18n::Language::choose`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}
