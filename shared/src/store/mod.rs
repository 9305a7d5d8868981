//! Persistence behind one port per aggregate, with three adapters: [`dynamodb::DynamoStore`] (AWS, and DynamoDB
//! Local in tests), `sqlite::SqliteStore` (the local server's file, behind the `sqlite` feature) and
//! [`memory::MemoryStore`] (in-process tests). One contract test suite runs against all three, so they cannot
//! drift.
//!
//! Every method is one access pattern; none scans. Conditional writes make every state change safe under races:
//! a write based on a stale read fails with [`StoreError::Conflict`] and changes nothing.
//!
//! ## Ports
//!
//! | port | what it keeps |
//! |---|---|
//! | [`CommunityStore`] | communities, memberships, community invitations and the transitions applied to them |
//! | [`UserInvitationStore`] | a tenant's user settings, its daily counts, its platform (user) invitations |
//! | [`OutboxStore`] | the mail owed for either kind of invitation: claims, outcomes, what the sweep re-drives |
//! | [`SuppressionStore`] | the addresses a tenant's mail no longer goes to (a hard bounce, a complaint) |
//! | [`IdempotencyStore`] | idempotency keys: claim, answer, release |
//! | [`PortalStore`] | this portal's collaborations, their invitations and participants |
//!
//! [`Store`] is all five together, implemented for every type that implements them: operations take
//! `Arc<dyn Store>`, and calling a port's method on a concrete adapter needs that port in scope. Each adapter
//! implements each port in the module of that aggregate: `communities`, `platform` (user invitations and
//! idempotency), `outbox` and `portal`, beside the adapter's `mod.rs` (the store and the helpers its ports share;
//! DynamoDB's also has `keys` and `table`, SQLite's `rows`, `schema` and `import`). Shared by all: [`feed`] (the local mailer's feed of pending
//! deliveries) and the sort keys of the orders below.

pub mod dynamodb;
pub mod feed;
pub mod memory;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use feed::DeliveryFeed;

use async_trait::async_trait;

use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::domain::fate::{Fate, Suppression};
use crate::domain::{
    Claimed, Community, CommunityId, CommunityInvitation, DailyCounter, DeliveryOutcome, Email, IdempotencyRecord,
    InvitationId, MailItem, Membership, TenantId, Timestamp, Transition, UserId, UserInvitation, UserReadState,
    UserSettings, UserTransition,
};

/// One page of a list, and where the next page starts if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// A position in an ordered list: the sort value and id of the last item returned.
///
/// Stores rebuild their native position from it within the partition the caller is allowed to read, so a cursor
/// can never lead into another tenant's data; the HTTP layer makes it opaque.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The item's position in the order (zero-padded, so it sorts as text).
    #[serde(rename = "s")]
    pub sort: String,
}

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to pass over from `after` (or the start).
    pub skip: u32,
    pub count: u32,
    pub after: Option<Cursor>,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold: the item changed since it was read, or already exists.
    #[error("the item changed since it was read")]
    Conflict,
    /// The tenant is already in the community.
    #[error("the tenant is already in the community")]
    AlreadyMember,
    /// Another live invitation holds the (community, recipient) lock.
    #[error("invitation {0} is already pending for this recipient")]
    PendingInvitation(InvitationId),
    /// These recipients already have a live invitation from the tenant (their (tenant, recipient) lock is held).
    #[error("{} recipient(s) already have a pending invitation", .0.len())]
    PendingRecipients(Vec<Email>),
    /// A daily count of the tenant's would go over its limit; `used` are already counted.
    #[error("a daily limit would be exceeded ({used} used)")]
    LimitReached { used: u32 },
    /// A continuation cursor that does not denote a position in the list asked for.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The store could not be reached, throttled, or answered with an error; the message is for the log, not the
    /// caller, who is told to retry (503).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The table or an index is missing, or the function's role may not use it ([`crate::fault`]): the
    /// deployment's fault (500, "misconfigured"), which no retry mends.
    #[error("store misconfigured: {0}")]
    Misconfigured(String),
    /// An item that does not decode, or a value that does not encode: a bug of ours (500), not an outage.
    #[error("store data fault: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The whole store: every aggregate's port. Operations take `Arc<dyn Store>`; every type that implements the five
/// ports is one.
pub trait Store:
    CommunityStore + UserInvitationStore + OutboxStore + SuppressionStore + IdempotencyStore + PortalStore
{
}

impl<T: CommunityStore + UserInvitationStore + OutboxStore + SuppressionStore + IdempotencyStore + PortalStore> Store
    for T
{
}

/// The addresses each tenant's mail no longer goes to ([`Suppression`]): a hard bounce or a complaint puts one
/// there, an administrator takes it off. Keyed by the address's hash, as the per-recipient counts are.
#[async_trait]
pub trait SuppressionStore: Send + Sync {
    /// Suppresses `suppression.address` for `suppression.tenant` (a later one replaces an earlier one).
    async fn suppress(&self, suppression: &Suppression) -> StoreResult<()>;

    /// The suppressions of `tenant` among `addresses` (at most [`MAX_BATCH_READ`]), in no particular order.
    async fn suppressions(&self, tenant: &TenantId, addresses: &[&Email]) -> StoreResult<Vec<Suppression>>;

    /// Lifts the suppression of `address` for `tenant`; `false` if there was none.
    async fn lift_suppression(&self, tenant: &TenantId, address: &Email) -> StoreResult<bool>;

    /// What a send on `tenant`'s behalf reads before it counts an email: the tenant's saved settings and version
    /// ([`UserInvitationStore::get_user_settings`]) and its suppressions among `addresses` (as
    /// [`SuppressionStore::suppressions`]), in one read (one `BatchGetItem` in DynamoDB: both live under the
    /// tenant's key).
    async fn settings_and_suppressions(
        &self,
        tenant: &TenantId,
        addresses: &[&Email],
    ) -> StoreResult<(Option<(UserSettings, u64)>, Vec<Suppression>)>;
}

/// Communities, their memberships, and community invitations with the changes applied to them.
#[async_trait]
pub trait CommunityStore: Send + Sync {
    /// Writes a new community and its owner's membership together.
    async fn create_community(&self, community: &Community, owner: &Membership) -> StoreResult<()>;

    async fn get_community(&self, id: CommunityId) -> StoreResult<Option<Community>>;

    /// The communities of `ids` that exist (at most [`MAX_BATCH_READ`] ids), in no particular order: what a list
    /// of memberships shows, since a community's name and description can change after its members joined.
    async fn get_communities(&self, ids: &[CommunityId]) -> StoreResult<Vec<Community>>;

    /// Saves the community's name, description, contact email and acceptance rule (`accept_from`); nothing else of it
    /// changes. [`StoreError::Conflict`] if it is not there (deleted meanwhile).
    async fn update_community(&self, community: &Community) -> StoreResult<()>;

    /// Deletes the community with its owner's membership, all or nothing, only if at that moment its counters say
    /// it has no other tenant and no open invitation: a racing invite or accept (which moves them in its own
    /// transaction) either lands first and the delete fails with [`StoreError::Conflict`], or finds the community
    /// gone and fails itself. Its finished invitations stay, for audit, and read as missing.
    async fn delete_community(&self, community: &Community) -> StoreResult<()>;

    async fn get_membership(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<Option<Membership>>;

    /// The tenant's membership of `community` and the community, read together at one point in time (one
    /// request in DynamoDB): what every community-scoped operation checks before it acts.
    async fn get_membership_and_community(
        &self,
        community: CommunityId,
        tenant: &TenantId,
    ) -> StoreResult<(Option<Membership>, Option<Community>)>;

    /// The tenant's membership of `community` and an invitation, read together at one point in time (one request
    /// in DynamoDB). The invitation is returned as stored, whichever community it belongs to: callers check.
    async fn get_membership_and_invitation(
        &self,
        community: CommunityId,
        tenant: &TenantId,
        invitation: InvitationId,
    ) -> StoreResult<(Option<Membership>, Option<CommunityInvitation>)>;

    /// The community and the first `count` of its tenants (as [`CommunityStore::list_members`] pages them), read
    /// together (one request in DynamoDB, where they share a partition).
    async fn get_community_with_members(
        &self,
        community: CommunityId,
        count: u32,
    ) -> StoreResult<(Option<Community>, Page<Membership>)>;

    /// A community's tenants (owner included), ordered by tenant id.
    async fn list_members(&self, community: CommunityId, page: &PageRequest) -> StoreResult<Page<Membership>>;

    /// The communities `tenant` is an Active member of, newest membership first.
    async fn list_tenant_communities(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Membership>>;

    /// Removes an Active, non-owner tenant, counting one member less on the community in the same write.
    /// [`StoreError::Conflict`] if it is not there, is the owner, or still awaits confirmation (it leaves through its
    /// invitation's Decline, so that invitation cannot be left stuck in Accepted).
    async fn remove_member(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<()>;

    /// Writes a new invitation and takes its (community, recipient) lock, atomically, counting one more open
    /// invitation on the community. [`StoreError::PendingInvitation`] names the live invitation that holds the lock;
    /// [`StoreError::Conflict`] if the community is gone.
    async fn create_invitation(&self, invitation: &CommunityInvitation, now: Timestamp) -> StoreResult<()>;

    /// The invitation as stored (deleted ones included; callers decide what to show).
    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<CommunityInvitation>>;

    /// A community's invitations, newest first (deleted ones excluded).
    async fn list_community_invitations(
        &self,
        community: CommunityId,
        page: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>>;

    /// Invitations accepted by `tenant` and not yet confirmed or declined, newest first.
    async fn list_accepted_invitations(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>>;

    /// Applies a decided change with its lock and membership effects and its move of the community's counters
    /// ([`Transition::counts`]), all or nothing. [`StoreError::Conflict`] if the invitation changed (or expired)
    /// since it was read, or the counters must move and the community is gone.
    async fn apply(&self, transition: &Transition) -> StoreResult<()>;
}

/// The mail owed for invitations (community and platform ones alike): claiming a delivery, recording how it ended,
/// and what the sweep should re-drive.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims delivery `seq` of invitation `item` for sending at `now`, if [`Delivery::claimable`] says it may be:
    /// the invitation as claimed (version bumped), or `None` if it is not there, was sent, was replaced by a newer
    /// delivery or is being sent by someone else. Of two racing claims exactly one gets the invitation.
    ///
    /// [`Delivery::claimable`]: crate::domain::Delivery::claimable
    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>>;

    /// Records how claimed delivery `seq` ended. [`StoreError::Conflict`] if it is no longer that delivery in the
    /// `sending` state (a stale claim was retaken, or it was dropped: an invitation email a newer one replaced).
    /// Delivery `seq` may be the invitation's latest or one of its earlier ones ([`Claimed::delivery`]).
    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Records what the mail service learned of delivery `seq`, sent as `message_id` ([`Claimed::learn`]): the
    /// invitation as written, or `None` (nothing written) if it is gone, that delivery was not sent as that
    /// message, or the fate is no news.
    async fn learn_fate(&self, item: MailItem, seq: u64, message_id: &str, fate: &Fate)
    -> StoreResult<Option<Claimed>>;

    /// The deliveries the sweep should re-drive at `now` ([`Claimed::due`]: owed, and left by the stream or by a
    /// sender that died), for at most `limit` invitations, those due longest first. The DynamoDB adapter reads
    /// them from a sparse index of invitations that owe mail, never by a Scan.
    async fn owed_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(MailItem, u64)>>;

    /// The invitations whose expiry is due to be recorded at `now` ([`Claimed::expiry_due`]), at most `limit`,
    /// longest due first. The DynamoDB adapter reads them from the same sparse index as the owed mail.
    async fn expiries_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<MailItem>>;

    /// Records `item`'s expiry if it is due at `now` ([`Claimed::expire`]): the invitation as written, or `None`
    /// (nothing written) if it is gone, answered, or its expiry is recorded already.
    async fn record_expiry(&self, item: MailItem, now: Timestamp) -> StoreResult<Option<Claimed>>;
}

/// A tenant's user settings, its daily counts, and its platform (user) invitations.
#[async_trait]
pub trait UserInvitationStore: Send + Sync {
    /// The tenant's user settings and their version, if it ever saved any.
    async fn get_user_settings(&self, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>>;

    /// Saves the tenant's settings as version `expected + 1` (1 when `expected` is `None`: none saved yet).
    /// [`StoreError::Conflict`] if the stored version is not `expected`.
    async fn put_user_settings(
        &self,
        tenant: &TenantId,
        settings: &UserSettings,
        expected: Option<u64>,
    ) -> StoreResult<()>;

    /// Counts `count` more on the tenant's `counter` for UTC `day`, atomically and only if the day's total stays
    /// at most `max`; [`StoreError::LimitReached`] otherwise, counting nothing. The count lives until `until`.
    /// One conditional add per call, so racing requests can never pass `max` together.
    async fn reserve_count(
        &self,
        tenant: &TenantId,
        counter: &DailyCounter,
        day: &str,
        count: u32,
        max: u32,
        until: Timestamp,
    ) -> StoreResult<()>;

    /// Gives back `count` reserved but unused of `day` on the tenant's `counter`.
    async fn release_count(&self, tenant: &TenantId, counter: &DailyCounter, day: &str, count: u32) -> StoreResult<()>;

    /// Writes new platform invitations (at most 50) with their (tenant, recipient) locks, all or nothing.
    /// [`StoreError::PendingRecipients`] names the recipients whose lock a live invitation holds.
    async fn create_user_invitations(&self, invitations: &[UserInvitation], now: Timestamp) -> StoreResult<()>;

    async fn get_user_invitation(&self, id: InvitationId) -> StoreResult<Option<UserInvitation>>;

    /// A tenant's platform invitations, newest first: all of them, or those `filter` selects.
    async fn list_user_invitations(
        &self,
        tenant: &TenantId,
        filter: &UserInvitationFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<UserInvitation>>;

    /// Applies a decided change of a platform invitation with its lock effect, all or nothing.
    /// [`StoreError::Conflict`] if the invitation changed (or expired) since it was read.
    async fn apply_user_invitation(&self, transition: &UserTransition) -> StoreResult<()>;
}

/// Idempotency keys: a request claims its key, then stores its answer over the claim or releases it.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims an idempotency key: `None` if `record` is now stored (the key was free, expired, or held by a
    /// request that died), else the record that holds it.
    async fn claim_idempotency(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>>;

    /// Stores `record` (with its answer) over the claim made with the same `claimed` time.
    /// [`StoreError::Conflict`] if another request took the key over meanwhile.
    async fn answer_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()>;

    /// Drops a claim that got no answer (the request failed), so the key may be used again.
    async fn release_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()>;
}

/// This portal's collaborations, their invitations and their participants.
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// Saves a collaboration: new when `expected` is `None` ([`StoreError::Conflict`] if it exists), else only over
    /// that version.
    async fn put_collaboration(&self, collaboration: &Collaboration, expected: Option<u64>) -> StoreResult<()>;

    async fn get_collaboration(&self, id: CollaborationId) -> StoreResult<Option<Collaboration>>;

    /// This portal's collaborations (hosted and joined), oldest first, at most [`MAX_PORTAL_LIST`].
    async fn list_collaborations(&self) -> StoreResult<Vec<Collaboration>>;

    /// Writes a new invitation of a collaboration.
    async fn create_collaboration_invitation(&self, invitation: &CollaborationInvitation) -> StoreResult<()>;

    async fn get_collaboration_invitation(
        &self,
        collaboration: CollaborationId,
        id: CollaborationInvitationId,
    ) -> StoreResult<Option<CollaborationInvitation>>;

    /// A collaboration's invitations, oldest first, at most [`MAX_PORTAL_LIST`].
    async fn list_collaboration_invitations(
        &self,
        collaboration: CollaborationId,
    ) -> StoreResult<Vec<CollaborationInvitation>>;

    /// Saves a changed invitation over version `expected` ([`StoreError::Conflict`] otherwise); with `joins`, the
    /// participant its imported response brings is added in the same write ([`StoreError::AlreadyMember`] if that
    /// portal already takes part).
    async fn update_collaboration_invitation(
        &self,
        invitation: &CollaborationInvitation,
        expected: u64,
        joins: Option<&Participant>,
    ) -> StoreResult<()>;

    /// A guest joins: the collaboration as it keeps it and the host as its participant, together.
    /// [`StoreError::Conflict`] if this portal already has the collaboration.
    async fn join_collaboration(&self, collaboration: &Collaboration, host: &Participant) -> StoreResult<()>;

    /// A collaboration's participants as this portal knows them, at most [`MAX_PORTAL_LIST`].
    async fn list_participants(&self, collaboration: CollaborationId) -> StoreResult<Vec<Participant>>;

    /// Removes a participant at `now` (the time its event tells); [`StoreError::Conflict`] if it is not there.
    async fn remove_participant(
        &self,
        collaboration: CollaborationId,
        portal: &PortalId,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// A guest leaves at `now`: its copy of the collaboration and the participants it knew go together.
    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// The most ids [`CommunityStore::get_communities`] takes: one page of a list.
pub const MAX_BATCH_READ: usize = 1_000;

/// The most collaborations, invitations of one collaboration, or participants a portal lists: portals collaborate
/// with a handful of others, so these lists are read whole and paged by the operation.
pub const MAX_PORTAL_LIST: usize = 1_000;

/// Which platform invitations a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInvitationFilter {
    /// Only those this user sent.
    pub inviter: Option<UserId>,
    /// Only those in this state at `now` (expiry is derived, so the filter needs the time).
    pub state: Option<UserReadState>,
    pub now: Timestamp,
}

impl UserInvitationFilter {
    pub fn keeps(&self, invitation: &UserInvitation) -> bool {
        self.inviter.as_ref().is_none_or(|u| u == &invitation.inviter)
            && self.state.is_none_or(|s| invitation.read_state(self.now) == s)
    }
}

/// Sort keys for the orders above, shared by both adapters so they order identically.
pub(crate) mod order {
    use crate::domain::{CommunityInvitation, Membership, Timestamp, UserInvitation};

    /// Zero-padded milliseconds then the id: sorts by time as text, ties broken by id.
    pub fn by_time(t: Timestamp, id: &str) -> String {
        format!("{:015}#{id}", t.millis().max(0))
    }

    pub fn invitation(i: &CommunityInvitation) -> String {
        by_time(i.issued, &i.id.to_string())
    }

    pub fn user_invitation(i: &UserInvitation) -> String {
        by_time(i.issued, &i.id.to_string())
    }

    pub fn membership_of_tenant(m: &Membership) -> String {
        by_time(m.joined, &m.community_id.to_string())
    }

    pub fn member_of_community(m: &Membership) -> String {
        m.tenant.as_str().to_owned()
    }

    /// Splits a time-ordered sort value into its milliseconds and id, if it is one.
    pub fn parse_time_id(sort: &str) -> Option<(i64, &str)> {
        let (millis, id) = sort.split_once('#')?;
        if millis.len() != 15 || !millis.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
            return None;
        }
        Some((millis.parse().ok()?, id))
    }
}
