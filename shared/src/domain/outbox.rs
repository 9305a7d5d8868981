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
//! a newer delivery (seq + 1) takes the invitation's `delivery` place; an unsent notice it displaces waits in
//! `earlier_deliveries`, where it is sent, and stays (the oldest go beyond MAX_EARLIER_DELIVERIES) for its fate
//! ```
//!
//! An invitation keeps its latest delivery in `delivery` (what the API shows and the stream filter matches) and the
//! earlier ones still owed in a short map beside it ([`Earlier`], by sequence number), so an Accepted notice is not
//! lost when Confirm follows before it went out: both go, each once ([`Outbox::owe`]). An unsent *invitation*
//! email is not kept: every later change (Accept, Resend) makes its link dead or replaces it.
//!
//! The sweep ([`crate::mail::sweep`]) re-drives what nobody is sending: [`Delivery::sweep_due`] says from when a
//! delivery is the sweep's, and the DynamoDB adapter keys its sparse outbox index on the earliest such instant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fate::Fate;
use super::{CommunityInvitation, Email, InvitationId, Lifetime as _, Timestamp, UserInvitation};

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
    Community(CommunityInvitation),
    Platform(UserInvitation),
}

impl Claimed {
    /// The tenant whose email it is: the community's owner, or the platform invitation's tenant. Its settings
    /// decide the email's branding and default language.
    pub fn tenant(&self) -> &super::TenantId {
        match self {
            Self::Community(i) => &i.issuing_tenant,
            Self::Platform(i) => &i.tenant,
        }
    }

    /// The language tag the invitation asked for, if any.
    pub fn locale(&self) -> Option<&str> {
        match self {
            Self::Community(i) => i.options.locale.as_deref(),
            Self::Platform(i) => i.options.locale.as_deref(),
        }
    }

    /// Delivery `seq` of the invitation, latest or earlier.
    pub fn delivery(&self, seq: u64) -> Option<&Delivery> {
        let (latest, earlier) = self.parts();
        find(latest, earlier, seq)
    }

    /// Every delivery the invitation holds: the latest, then the earlier ones still kept.
    pub fn deliveries(&self) -> impl Iterator<Item = &Delivery> {
        let (latest, earlier) = self.parts();
        latest.iter().chain(earlier.values())
    }

    /// The sequence numbers of the deliveries the sweep should take at `now` ([`Delivery::is_due`]), oldest first.
    pub fn due(&self, now: Timestamp) -> Vec<u64> {
        let mut due: Vec<u64> = self.deliveries().filter(|d| d.is_due(now)).map(|d| d.seq).collect();
        due.sort_unstable();
        due
    }

    /// The earliest instant at which one of its deliveries becomes the sweep's, if any is still owed.
    pub fn sweep_due(&self) -> Option<Timestamp> {
        let (latest, earlier) = self.parts();
        sweep_due(latest, earlier)
    }

    /// When the invitation's expiry is due to be recorded ([`super::Lifetime::expiry_due`]).
    pub fn expiry_due(&self) -> Option<Timestamp> {
        match self {
            Self::Community(i) => i.expiry_due(),
            Self::Platform(i) => i.expiry_due(),
        }
    }

    /// Records the invitation's expiry if due at `now` ([`super::Lifetime::expire`]); whether it did.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        let expired = match self {
            Self::Community(i) => i.expire(now).map(Self::Community),
            Self::Platform(i) => i.expire(now).map(Self::Platform),
        };
        expired.map(|next| *self = next).is_some()
    }

    pub fn version(&self) -> u64 {
        match self {
            Self::Community(i) => i.version,
            Self::Platform(i) => i.version,
        }
    }

    /// Claims delivery `seq` at `now` if [`Delivery::claimable`] allows it, bumping the invitation's version (a
    /// claim is a change: a write based on an older read conflicts). Both stores apply exactly this.
    pub fn claim(&mut self, seq: u64, now: Timestamp) -> bool {
        let claimed = self.outbox().claim(seq, now);
        if claimed {
            self.bump();
        }
        claimed
    }

    /// Records how claimed delivery `seq` ended; `false` (nothing changed) if it is not that delivery being sent.
    pub fn finish(&mut self, seq: u64, outcome: &DeliveryOutcome, now: Timestamp) -> bool {
        let finished = self.outbox().finish(seq, outcome, now);
        if finished {
            self.bump();
        }
        finished
    }

    /// Records every delivery it is sending as failed, for a store just opened by the only process that sends from
    /// it: that claim was a previous run's, killed mid-send, so the sweep may retry at once rather than after
    /// [`CLAIM_STALE_MINUTES`]. Answers how many there were.
    pub fn fail_interrupted(&mut self, now: Timestamp) -> usize {
        let sending: Vec<u64> =
            self.deliveries().filter(|d| d.state == DeliveryState::Sending).map(|d| d.seq).collect();
        let interrupted = DeliveryOutcome::Failed { reason: "interrupted: the sender stopped mid-send".into() };
        sending.iter().filter(|seq| self.finish(**seq, &interrupted, now)).count()
    }

    /// Records what the mail service learned of delivery `seq` (latest or earlier) by [`Delivery::learn`]; the
    /// invitation's version moves only if it did.
    pub fn learn(&mut self, seq: u64, message_id: &str, fate: Fate) -> bool {
        let learned = self.outbox().get_mut(seq).is_some_and(|d| d.learn(message_id, fate));
        if learned {
            self.bump();
        }
        learned
    }

    fn bump(&mut self) {
        match self {
            Self::Community(i) => i.version += 1,
            Self::Platform(i) => i.version += 1,
        }
    }

    fn outbox(&mut self) -> Outbox<'_> {
        match self {
            Self::Community(i) => Outbox { latest: &mut i.delivery, earlier: &mut i.earlier_deliveries },
            Self::Platform(i) => Outbox { latest: &mut i.delivery, earlier: &mut i.earlier_deliveries },
        }
    }

    fn parts(&self) -> (&Option<Delivery>, &Earlier) {
        match self {
            Self::Community(i) => (&i.delivery, &i.earlier_deliveries),
            Self::Platform(i) => (&i.delivery, &i.earlier_deliveries),
        }
    }

    pub fn item(&self) -> MailItem {
        match self {
            Self::Community(i) => MailItem::Community(i.id),
            Self::Platform(i) => MailItem::Platform(i.id),
        }
    }
}

/// What a sweep at `now` takes of `invitations`: the due deliveries ([`Claimed::due`]) of at most `limit`
/// invitations, those due longest first. One rule for every store, whatever it reads the invitations from.
pub fn sweep_order(
    invitations: impl IntoIterator<Item = Claimed>,
    now: Timestamp,
    limit: usize,
) -> Vec<(MailItem, u64)> {
    let mut due: Vec<(Timestamp, Claimed)> =
        invitations.into_iter().filter_map(|c| c.sweep_due().filter(|at| *at < now).map(|at| (at, c))).collect();
    due.sort_by_key(|(at, c)| (*at, c.item().id()));
    due.truncate(limit);
    due.into_iter()
        .flat_map(|(_, c)| {
            let item = c.item();
            c.due(now).into_iter().map(move |seq| (item, seq))
        })
        .collect()
}

/// What a sweep at `now` records of `invitations`' expiries: at most `limit` of those due ([`Claimed::expiry_due`]),
/// longest due first. One rule for every store, as [`sweep_order`].
pub fn expiry_order(invitations: impl IntoIterator<Item = Claimed>, now: Timestamp, limit: usize) -> Vec<MailItem> {
    let mut due: Vec<(Timestamp, MailItem)> = invitations
        .into_iter()
        .filter_map(|c| c.expiry_due().filter(|at| *at <= now).map(|at| (at, c.item())))
        .collect();
    due.sort_by_key(|(at, item)| (*at, item.id()));
    due.into_iter().take(limit).map(|(_, item)| item).collect()
}

/// A claim older than this is taken to belong to a consumer that died mid-send, and may be retaken. Long enough
/// that a slow but live send (SES answers within seconds) is never sent twice.
pub const CLAIM_STALE_MINUTES: i64 = 5;

/// The most earlier deliveries an invitation keeps beside its latest. The handshake owes at most one notice beyond
/// the latest (an Accepted notice unsent when Confirm owes its own), so this is never reached by it; it bounds the
/// item should a future change owe more, by dropping the oldest.
pub const MAX_EARLIER_DELIVERIES: usize = 4;

/// The earlier deliveries an invitation still owes (or failed for good), keyed by their sequence number in decimal.
/// A map, not a list, so that a store can address one by its number.
pub type Earlier = BTreeMap<String, Delivery>;

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
    /// When the change that owes it was made; the sweep leaves it to the stream for [`CLAIM_STALE_MINUTES`] after.
    /// `None` on deliveries stored before it was recorded: the sweep may take those at once.
    #[serde(default)]
    pub owed_since: Option<Timestamp>,
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
    /// What the mail service learned of it once sent ([`super::fate`]): delivered, bounced, a complaint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fate: Option<Fate>,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent { message_id: String },
    Failed { reason: String },
}

impl Delivery {
    /// A new pending delivery following `previous` (if any), owed since `at`.
    pub fn pending(previous: Option<&Delivery>, kind: MailKind, to: Vec<Email>, at: Timestamp) -> Self {
        Self {
            seq: previous.map_or(1, |d| d.seq + 1),
            kind,
            to,
            state: DeliveryState::Pending,
            link: None,
            sealed_secret: None,
            owed_since: Some(at),
            claimed: None,
            attempts: 0,
            message_id: None,
            sent: None,
            failure: None,
            fate: None,
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

    /// From when the sweep may take this delivery, if it is still owed: [`CLAIM_STALE_MINUTES`] after it was owed
    /// (pending: the stream's consumer normally has it within seconds) or after its last claim (sending: the sender
    /// is then taken for dead; failed with tries left: the stream's own retries have had their turn). `None` once
    /// sent, withdrawn or failed [`MAX_DELIVERY_ATTEMPTS`] times.
    pub fn sweep_due(&self) -> Option<Timestamp> {
        let since = match self.state {
            DeliveryState::Pending => self.owed_since,
            DeliveryState::Sending => self.claimed,
            DeliveryState::Failed if self.attempts < MAX_DELIVERY_ATTEMPTS => self.claimed,
            DeliveryState::Failed | DeliveryState::Sent | DeliveryState::Cancelled => return None,
        };
        Some(since.unwrap_or(Timestamp::from_millis(0)).plus_minutes(CLAIM_STALE_MINUTES))
    }

    /// Whether the sweep should take this delivery at `now` (strictly after [`Delivery::sweep_due`], the instant a
    /// claim turns stale, so the sweep never takes a claim [`Delivery::claimable`] would refuse).
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.sweep_due().is_some_and(|due| due < now)
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

/// The earliest instant at which one of an invitation's deliveries (`latest`, `earlier`) becomes the sweep's, if any
/// is still owed ([`Delivery::sweep_due`]).
pub fn sweep_due(latest: &Option<Delivery>, earlier: &Earlier) -> Option<Timestamp> {
    latest.iter().chain(earlier.values()).filter_map(Delivery::sweep_due).min()
}

/// Delivery `seq` among an invitation's latest and earlier ones.
fn find<'a>(latest: &'a Option<Delivery>, earlier: &'a Earlier, seq: u64) -> Option<&'a Delivery> {
    latest.as_ref().filter(|d| d.seq == seq).or_else(|| earlier.get(&seq.to_string()).filter(|d| d.seq == seq))
}

/// An invitation's outbox, borrowed from either kind of invitation: its latest delivery and the earlier ones.
pub struct Outbox<'a> {
    pub latest: &'a mut Option<Delivery>,
    pub earlier: &'a mut Earlier,
}

impl Outbox<'_> {
    /// Owes a new email of `kind` to `to`, decided at `at`: it becomes the latest delivery. The one it displaces is
    /// kept among the earlier ones if it is a notice that has not been sent (pending, being sent, or failed), so it
    /// still goes out, once; an unsent invitation email is dropped instead (its link is dead or replaced now).
    pub fn owe(&mut self, kind: MailKind, to: Vec<Email>, at: Timestamp) {
        let next = Delivery::pending(self.latest.as_ref(), kind, to, at);
        let Some(previous) = self.latest.replace(next) else { return };
        let unsent = matches!(previous.state, DeliveryState::Pending | DeliveryState::Sending | DeliveryState::Failed);
        if unsent && previous.kind != MailKind::Invitation {
            self.earlier.insert(previous.seq.to_string(), previous);
        }
        while self.earlier.len() > MAX_EARLIER_DELIVERIES {
            let Some(oldest) = self.earlier.values().map(|d| d.seq).min() else { break };
            self.earlier.remove(&oldest.to_string());
        }
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Delivery> {
        match self.latest.as_mut() {
            Some(d) if d.seq == seq => Some(d),
            _ => self.earlier.get_mut(&seq.to_string()).filter(|d| d.seq == seq),
        }
    }

    /// Claims delivery `seq` at `now` if it is claimable.
    pub fn claim(&mut self, seq: u64, now: Timestamp) -> bool {
        match self.get_mut(seq) {
            Some(d) if d.claimable(seq, now) => {
                d.claim(now);
                true
            }
            _ => false,
        }
    }

    /// Records how claimed delivery `seq` ended, if it is that delivery being sent. An earlier delivery once sent
    /// is dropped: there is nothing left to do or show for it.
    pub fn finish(&mut self, seq: u64, outcome: &DeliveryOutcome, now: Timestamp) -> bool {
        let Some(d) = self.get_mut(seq).filter(|d| d.state == DeliveryState::Sending) else { return false };
        // A sent earlier notice stays (within MAX_EARLIER_DELIVERIES) so that what the change raised (its
        // `email.sent`) can be told from it, and what the mail service learns of it later has a delivery to land on.
        d.finish(outcome, now);
        true
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
mod tests;
