//! The invitation's outbox: the email a change owes someone, kept on the invitation itself.
//!
//! A change that must send mail (create, Resend, Accept, Confirm) records a [`Delivery`] in the invitation it
//! writes, so the email intent is saved in the same conditional write as the state change: a change is never saved
//! without its email, and no email is sent for a change that was not saved. The stream consumer then claims the
//! delivery, sends it and writes the outcome back, every step conditional on the delivery's sequence number.
//!
//! ```text
//! pending --claim--> sending --sent--> sent
//!    ^                  |  \--failed--> failed --claim (a retry)--> sending
//!    |                  \--claim older than CLAIM_STALE_MINUTES (the sender died)--> sending
//! a newer delivery (seq + 1) replaces any of them
//! ```

use serde::{Deserialize, Serialize};

use super::{Email, Invitation, InvitationId, Timestamp, UserInvitation};

/// The invitation an email belongs to. Community and platform invitations keep their outbox the same way, in
/// different items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailItem {
    Community(InvitationId),
    Platform(InvitationId),
}

impl MailItem {
    pub fn id(self) -> InvitationId {
        match self {
            Self::Community(id) | Self::Platform(id) => id,
        }
    }
}

/// An invitation whose delivery was just claimed, as the consumer renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    Community(Invitation),
    Platform(UserInvitation),
}

impl Claimed {
    pub fn delivery(&self) -> Option<&Delivery> {
        match self {
            Self::Community(i) => i.delivery.as_ref(),
            Self::Platform(i) => i.delivery.as_ref(),
        }
    }

    pub fn item(&self) -> MailItem {
        match self {
            Self::Community(i) => MailItem::Community(i.id),
            Self::Platform(i) => MailItem::Platform(i.id),
        }
    }
}

/// A claim older than this is taken to belong to a consumer that died mid-send, and may be retaken. Long enough
/// that a slow but live send (SES answers within seconds) is never sent twice.
pub const CLAIM_STALE_MINUTES: i64 = 5;

/// How many times a delivery is tried before it is left `failed` for an operator (the stream's retries, and the
/// local server's re-drives, stop here).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 6;

/// Where a delivery stands. Stored in lower case; the stream filter matches `pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Written with the change; not yet claimed.
    Pending,
    /// Claimed by a consumer that is sending it.
    Sending,
    Sent,
    /// The last attempt failed; a retry of the stream record may claim it again.
    Failed,
    /// Withdrawn before it went out: the invitation was declined or deleted while its email waited, so the email
    /// would only carry a dead link. Never claimed again.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Which email a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailKind {
    /// To the recipient, with the landing link and its secret (create, Resend).
    Invitation,
    /// To the community (the inviting admin and the community's contact): the invitation was accepted.
    Accepted,
    /// To the invitee (the accepting user or the contact they gave): the community confirmed them.
    Confirmed,
}

/// One email an invitation owes, and how its sending went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// 1 for the invitation's first delivery, one more for each after it. Every consumer write is conditional on
    /// it, so an outcome can never land on a newer delivery.
    pub seq: u64,
    pub kind: MailKind,
    pub to: Vec<Email>,
    pub state: DeliveryState,
    /// The landing link without its secret (`<public url>/invite/<id>`), for mail that carries one.
    #[serde(default)]
    pub link: Option<String>,
    /// The link's secret sealed by a [`crate::seal::Sealer`] (never in clear), until the email is sent.
    #[serde(default)]
    pub sealed_secret: Option<String>,
    /// When the current claim was taken.
    #[serde(default)]
    pub claimed: Option<Timestamp>,
    /// Claims so far, the current one included.
    #[serde(default)]
    pub attempts: u32,
    /// The mail service's id for the message, once sent.
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub sent: Option<Timestamp>,
    /// Why the last attempt failed, as the mail service said it.
    #[serde(default)]
    pub failure: Option<String>,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent { message_id: String },
    Failed { reason: String },
}

impl Delivery {
    /// A new pending delivery following `previous` (if any).
    pub fn pending(previous: Option<&Delivery>, kind: MailKind, to: Vec<Email>, link: Option<String>) -> Self {
        Self {
            seq: previous.map_or(1, |d| d.seq + 1),
            kind,
            to,
            state: DeliveryState::Pending,
            link,
            sealed_secret: None,
            claimed: None,
            attempts: 0,
            message_id: None,
            sent: None,
            failure: None,
        }
    }

    /// Whether delivery `seq` may be claimed at `now`: it is this delivery, and it is pending, failed (a retry), or
    /// claimed so long ago that its sender must have died. Both stores apply exactly this rule atomically.
    pub fn claimable(&self, seq: u64, now: Timestamp) -> bool {
        self.seq == seq
            && match self.state {
                DeliveryState::Pending | DeliveryState::Failed => true,
                DeliveryState::Sending => self.claimed.is_some_and(|c| c < stale_before(now)),
                DeliveryState::Sent | DeliveryState::Cancelled => false,
            }
    }

    /// Whether delivery `seq` is claimed by a sender that may still be sending it at `now`: its claim is not stale.
    /// A consumer that meets such a claim must not count the delivery done: it reports the record as failed, so
    /// the stream retries it (and, if the claim never resolves, sends it to the dead-letter queue) instead of
    /// dropping the only notice of an email that may never leave.
    pub fn held_by_a_live_sender(&self, seq: u64, now: Timestamp) -> bool {
        self.seq == seq && self.state == DeliveryState::Sending && self.claimed.is_some_and(|c| c >= stale_before(now))
    }

    /// Whether this delivery is still owed at `now` and no live sender has it: pending, failed with tries left, or
    /// claimed by a sender that must have died. A sweep re-drives these, so an email whose stream record was lost
    /// or whose sender was killed mid-send still goes out, once.
    pub fn owed(&self, now: Timestamp) -> bool {
        match self.state {
            DeliveryState::Pending => true,
            DeliveryState::Failed => self.attempts < MAX_DELIVERY_ATTEMPTS,
            DeliveryState::Sending => self.claimed.is_some_and(|c| c < stale_before(now)),
            DeliveryState::Sent | DeliveryState::Cancelled => false,
        }
    }

    /// Withdraws a delivery that has not been claimed (pending, or failed and waiting for a retry), and drops its
    /// sealed secret. One being sent is left to finish: it may already be out.
    pub fn cancel(&mut self) {
        if matches!(self.state, DeliveryState::Pending | DeliveryState::Failed) {
            self.state = DeliveryState::Cancelled;
            self.sealed_secret = None;
        }
    }

    /// The delivery once claimed at `now`.
    pub fn claim(&mut self, now: Timestamp) {
        self.state = DeliveryState::Sending;
        self.claimed = Some(now);
        self.attempts += 1;
    }

    /// The delivery once `outcome` is known. A sent delivery no longer needs its sealed secret, so it is dropped.
    pub fn finish(&mut self, outcome: &DeliveryOutcome, now: Timestamp) {
        match outcome {
            DeliveryOutcome::Sent { message_id } => {
                self.state = DeliveryState::Sent;
                self.message_id = Some(message_id.clone());
                self.sent = Some(now);
                self.failure = None;
                self.sealed_secret = None;
            }
            DeliveryOutcome::Failed { reason } => {
                self.state = DeliveryState::Failed;
                self.failure = Some(reason.clone());
            }
        }
    }
}

/// Claims taken before this instant are stale at `now`.
pub fn stale_before(now: Timestamp) -> Timestamp {
    now.plus_minutes(-CLAIM_STALE_MINUTES)
}

/// Who to write to, in order, without repeats (addresses compared as mail systems do).
pub fn recipients(candidates: impl IntoIterator<Item = Option<Email>>) -> Vec<Email> {
    let mut out: Vec<Email> = Vec::new();
    for email in candidates.into_iter().flatten() {
        if !out.iter().any(|e| e.matches(&email)) {
            out.push(email);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn a_live_claim_is_held_and_a_dead_or_unfinished_one_is_owed() {
        let mut d = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], None);
        assert!(d.owed(T0) && !d.held_by_a_live_sender(d.seq, T0));
        d.claim(T0);
        assert!(d.held_by_a_live_sender(d.seq, T0.plus_minutes(4)), "a sender four minutes in may still be sending");
        assert!(!d.owed(T0.plus_minutes(4)));
        assert!(!d.held_by_a_live_sender(d.seq + 1, T0), "another delivery's claim is not this one's");
        let later = T0.plus_minutes(CLAIM_STALE_MINUTES + 1);
        assert!(d.owed(later) && !d.held_by_a_live_sender(d.seq, later), "a sender gone that long died");
        d.finish(&DeliveryOutcome::Failed { reason: "down".into() }, T0);
        assert!(d.owed(T0), "a failure with tries left is retried");
        for _ in 1..MAX_DELIVERY_ATTEMPTS {
            d.claim(T0);
        }
        d.finish(&DeliveryOutcome::Failed { reason: "down".into() }, T0);
        assert!(!d.owed(T0), "after {MAX_DELIVERY_ATTEMPTS} tries it is left for an operator");
        d.claim(T0);
        d.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, T0);
        assert!(!d.owed(later), "a sent email is never owed again");
    }

    #[test]
    fn a_delivery_is_claimed_once_until_it_fails_or_its_claim_goes_stale() {
        let mut d = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], None);
        assert_eq!(d.seq, 1);
        assert!(d.claimable(1, T0));
        assert!(!d.claimable(2, T0), "another sequence number is another delivery");
        d.claim(T0);
        assert_eq!((d.state, d.attempts), (DeliveryState::Sending, 1));
        assert!(!d.claimable(1, T0.plus_minutes(CLAIM_STALE_MINUTES)));
        assert!(d.claimable(1, T0.plus_minutes(CLAIM_STALE_MINUTES + 1)), "a stale claim is retaken");
        d.finish(&DeliveryOutcome::Failed { reason: "no".into() }, T0);
        assert!(d.claimable(1, T0), "a failed delivery may be retried");
        d.claim(T0);
        d.sealed_secret = Some("sealed".into());
        d.finish(&DeliveryOutcome::Sent { message_id: "m-1".into() }, T0);
        assert_eq!((d.state, d.attempts, d.sealed_secret.as_deref()), (DeliveryState::Sent, 2, None));
        assert!(!d.claimable(1, T0.plus_days(1)), "a sent delivery is never sent again");
        assert_eq!(Delivery::pending(Some(&d), MailKind::Accepted, vec![], None).seq, 2);
    }

    #[test]
    fn only_a_delivery_that_waits_can_be_cancelled_and_then_it_is_never_claimed() {
        let mut waiting = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], None);
        waiting.sealed_secret = Some("sealed".into());
        waiting.cancel();
        assert_eq!((waiting.state, waiting.sealed_secret.as_deref()), (DeliveryState::Cancelled, None));
        assert!(!waiting.claimable(1, T0.plus_days(1)));

        let mut sending = Delivery::pending(None, MailKind::Invitation, vec![], None);
        sending.claim(T0);
        sending.cancel();
        assert_eq!(sending.state, DeliveryState::Sending, "a send in flight may already be out");
        sending.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, T0);
        sending.cancel();
        assert_eq!(sending.state, DeliveryState::Sent);
    }

    #[test]
    fn recipients_are_not_repeated() {
        let to = recipients([Some(email("Ops@owner.com")), None, Some(email("ops@owner.com")), Some(email("a@b.com"))]);
        assert_eq!(to, vec![email("Ops@owner.com"), email("a@b.com")]);
    }
}
