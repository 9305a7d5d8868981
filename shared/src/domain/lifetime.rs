//! What every invitation kind shares of its life, so its rules are written once: a lifetime chosen within bounds
//! and the recording of its expiry ([`Lifetime`]), a bounded audit trail ([`HistoryEntry`]), and what happens to its
//! invitation email when it is answered or its link is renewed.

use serde::{Deserialize, Serialize};

use super::outbox::{Delivery, DeliveryState, MailKind};
use super::{Principal, TenantId, Timestamp, UserId};

/// One line of an invitation's audit trail: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub action: String,
    /// The signed-in user and their tenant. Both are absent when whoever held the invitation link acted without
    /// signing in (Decline on the landing page): the secret was the only credential, so there is no one to name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
}

/// The oldest history lines are dropped beyond this, so an item cannot grow without bound through resends.
pub(super) const MAX_HISTORY: usize = 100;

/// A requested lifetime outside its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ExpiresInDays must be from 1 to {most} (the longest this deployment or tenant lets an invitation live); it was {days}."
)]
pub struct ExpiryError {
    pub days: i64,
    pub most: i64,
}

/// What both invitation kinds share of their lifetime, so its rules are written once: a chosen life
/// ([`Lifetime::live_for`]) and the recording of its expiry ([`Lifetime::expire`]).
pub trait Lifetime: Clone {
    /// Whether it still waits for an answer: only then does it expire.
    fn waits(&self) -> bool;

    /// Its lifetime's fields.
    fn life(&mut self) -> Life<'_>;

    /// Its history, newest last.
    fn history(&self) -> &[HistoryEntry];

    fn expires(&self) -> Timestamp;

    /// The invitation, just created, living `days` (from 1 to `most`, the deployment's or the tenant's bound)
    /// instead of the default; a Resend gives it as many again.
    fn live_for(&mut self, days: i64, most: i64) -> Result<(), ExpiryError> {
        if !(1..=most).contains(&days) {
            return Err(ExpiryError { days, most });
        }
        let life = self.life();
        *life.valid_days = Some(days);
        *life.expires = life.issued.plus_days(days);
        Ok(())
    }

    /// When its running out of time is due to be recorded ([`Lifetime::expire`]): its expiry, while it waits for
    /// an answer and that expiry is not recorded since its link or code was last issued.
    fn expiry_due(&self) -> Option<Timestamp> {
        (self.waits() && !since_issued(self.history()).any(|e| e.action == "Expire")).then(|| self.expires())
    }

    /// The invitation with its expiry recorded (an `Expire` history line at the instant it expired, raising its
    /// `expired` event), if that is due at `now`. Expiry itself is decided from the time whenever the invitation
    /// is read; this only writes down that it happened, once per link (a Resend gives a new expiry to record).
    fn expire(&self, now: Timestamp) -> Option<Self> {
        let at = self.expiry_due().filter(|at| *at <= now)?;
        let mut next = self.clone();
        let life = next.life();
        *life.version += 1;
        push_history(life.history, at, "Expire", None);
        Some(next)
    }
}

/// Implements [`Lifetime`] for an invitation kind whose lifetime fields have the same names (`issued`, `expires`,
/// `valid_days`, `version`, `history`), waiting for an answer while its `state` is the one given.
macro_rules! lifetime_of {
    ($kind:ty, waits while $waiting:expr) => {
        impl $crate::domain::Lifetime for $kind {
            fn waits(&self) -> bool {
                self.state == $waiting
            }

            fn life(&mut self) -> $crate::domain::Life<'_> {
                $crate::domain::Life {
                    issued: self.issued,
                    expires: &mut self.expires,
                    valid_days: &mut self.valid_days,
                    version: &mut self.version,
                    history: &mut self.history,
                }
            }

            fn history(&self) -> &[$crate::domain::HistoryEntry] {
                &self.history
            }

            fn expires(&self) -> $crate::domain::Timestamp {
                self.expires
            }
        }
    };
}
pub(super) use lifetime_of;

/// The fields of an invitation's lifetime, borrowed for [`Lifetime`]'s rules.
pub struct Life<'a> {
    pub issued: Timestamp,
    pub expires: &'a mut Timestamp,
    pub valid_days: &'a mut Option<i64>,
    pub version: &'a mut u64,
    pub history: &'a mut Vec<HistoryEntry>,
}

/// An invitation's own lifetime if it chose one (never past the bound in force now), else the default.
pub(super) fn valid_days(chosen: Option<i64>, default: i64) -> i64 {
    chosen.map_or(default, |days| days.min(default))
}

/// The history since the current code or link was issued (its newest `Create` or `Resend`), newest first.
pub(super) fn since_issued(history: &[HistoryEntry]) -> impl Iterator<Item = &HistoryEntry> {
    history.iter().rev().take_while(|e| !matches!(e.action.as_str(), "Create" | "Resend"))
}

/// Adds a line to an audit trail, keeping it bounded: beyond [`MAX_HISTORY`] lines the oldest after the creation
/// line goes, so an item cannot grow without bound through resends.
pub(super) fn push_history(history: &mut Vec<HistoryEntry>, now: Timestamp, action: &str, by: Option<&Principal>) {
    history.push(HistoryEntry::new(now, action, by));
    if history.len() > MAX_HISTORY {
        history.remove(1);
    }
}

/// An invitation email that has not gone out yet is withdrawn (see [`Delivery::cancel`]); other mail is left.
pub(super) fn withdraw_invitation_email(delivery: &mut Option<Delivery>) {
    if let Some(d) = delivery.as_mut().filter(|d| d.kind == MailKind::Invitation) {
        d.cancel();
    }
}

/// Puts the landing link and the sealed secret on a pending invitation email; anything else is left as it is.
pub(super) fn attach_link(delivery: &mut Option<Delivery>, link: String, sealed_secret: String) {
    if let Some(d) = delivery.as_mut().filter(|d| d.kind == MailKind::Invitation && d.state == DeliveryState::Pending) {
        d.link = Some(link);
        d.sealed_secret = Some(sealed_secret);
    }
}

impl HistoryEntry {
    pub(super) fn new(at: Timestamp, action: &str, by: Option<&Principal>) -> Self {
        Self { at, action: action.to_owned(), user: by.map(|p| p.user.clone()), tenant: by.map(|p| p.tenant.clone()) }
    }

    /// Whether this was done by someone holding the invitation link, not signed in.
    pub fn by_link_holder(&self) -> bool {
        self.user.is_none()
    }
}
