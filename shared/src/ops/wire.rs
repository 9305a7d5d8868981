//! The JSON shapes both emailed dialects share (PascalCase): the options an invitation takes and shows, a
//! link-only Resend's answer, and the state of its latest email. Each dialect's own shapes are in its `wire`.

use serde::{Deserialize, Serialize};

use crate::domain::fate::Fate;
use crate::domain::{DeliveryState, InvitationOptions, Metadata, parse_roles};
use crate::http::ApiError;

/// What both invitation kinds take beside their reference API fields: `Metadata`, `ExpiresInDays`, `RedirectUrl`,
/// `Roles`, `SendEmail` and `Locale`. Flattened into each create request.
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

impl Options {
    /// What the invitation keeps of these options, its redirect already checked against the tenant's allowed
    /// origins (`None` until it is). Link-only is not set here: the invitation's `send_no_email` also drops the
    /// email it would owe.
    pub fn kept(&self, redirect_url: Option<String>) -> InvitationOptions {
        InvitationOptions {
            metadata: self.metadata.clone(),
            redirect_url,
            roles: self.roles.clone(),
            link_only: false,
            locale: self.locale.clone(),
        }
    }
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

impl OptionsBody {
    pub fn of(kept: &InvitationOptions) -> Self {
        Self {
            metadata: kept.metadata.as_ref().map(Metadata::to_value),
            redirect_url: kept.redirect_url.clone(),
            roles: kept.roles.clone(),
            send_email: kept.link_only.then_some(false),
            locale: kept.locale.clone(),
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
