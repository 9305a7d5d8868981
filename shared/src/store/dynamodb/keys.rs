//! Item keys (partition, sort and index keys, as the table in the module docs lists them), the encoding of
//! items, and the item builders every write of an item goes through.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Item, Retention};
use crate::domain::Lifetime as _;
use crate::domain::collaboration::{Collaboration, CollaborationId, CollaborationInvitation, Participant, PortalId};
use crate::domain::outbox::sweep_due;
use crate::domain::{
    CommunityId, CommunityInvitation, DailyCounter, InvitationId, MemberStatus, Membership, StoredState, TenantId,
    Timestamp, UserInvitation, UserInvitationState,
};
use crate::store::{Cursor, StoreError, StoreResult, order};

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn decode<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("undecodable item: {e}")))
}

/// The item of `value` with `keys` added. Absent values (`None`) are left out rather than written as `NULL`
/// attributes, in nested maps too: an invitation carries a dozen that are empty most of its life, and each costs
/// its name's bytes. Under 1 KB an item's every write, and every write of its index entries, costs one unit rather
/// than two. Reading an absent attribute back gives `None` as `NULL` did.
pub(super) fn encode<T: Serialize>(value: &T, keys: &[(&str, String)]) -> StoreResult<Item> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(format!("unencodable item: {e}")))?;
    drop_nulls(&mut item);
    for (name, value) in keys {
        item.insert((*name).to_owned(), s(value.clone()));
    }
    Ok(item)
}

/// Removes `NULL` attributes from `map` and the maps inside it. Lists keep theirs: there a position means something.
fn drop_nulls(map: &mut Item) {
    map.retain(|_, value| !matches!(value, AttributeValue::Null(_)));
    for value in map.values_mut() {
        drop_nulls_in(value);
    }
}

fn drop_nulls_in(value: &mut AttributeValue) {
    match value {
        AttributeValue::M(map) => drop_nulls(map),
        AttributeValue::L(list) => list.iter_mut().for_each(drop_nulls_in),
        _ => {}
    }
}

pub(super) fn community_pk(id: CommunityId) -> String {
    format!("COMMUNITY#{id}")
}

pub(super) fn member_sk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub(super) fn invitation_pk(id: InvitationId) -> String {
    format!("INVITATION#{id}")
}

pub(super) fn lock_pk(invitation: &CommunityInvitation) -> String {
    format!("LOCK#{}#{}", invitation.community_id, invitation.recipient.key())
}

pub(super) fn user_invitation_pk(id: InvitationId) -> String {
    format!("USERINVITATION#{id}")
}

pub(super) fn user_lock_pk(invitation: &UserInvitation) -> String {
    format!("USERLOCK#{}#{}", invitation.tenant, invitation.recipient.key())
}

pub(super) fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

/// The sort key of a daily count under the tenant: its emails keep the key the day's invitation count always had,
/// so a deployment keeps the day's count across the upgrade; an address is only ever its hash.
pub(super) fn count_sk(counter: &DailyCounter, day: &str) -> String {
    match counter {
        DailyCounter::Emails => format!("INVITECOUNT#{day}"),
        DailyCounter::Recipient(hash) => format!("RECIPIENTCOUNT#{day}#{}", hash.as_str()),
    }
}

pub(super) fn tenant_user_invitations(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#USERINVITATIONS")
}

/// The user id comes last: the prefix before it is fixed, so no user id can make two partitions collide.
pub(super) fn sender_user_invitations(tenant: &TenantId, user: &crate::domain::UserId) -> String {
    format!("TENANT#{tenant}#USERINVITATIONS#BY#{user}", user = user.as_str())
}

pub(super) fn idempotency_pk(scope: &str) -> String {
    format!("IDEMPOTENCY#{scope}")
}

pub(super) fn collaboration_pk(id: CollaborationId) -> String {
    format!("COLLABORATION#{id}")
}

pub(super) fn participant_sk(portal: &PortalId) -> String {
    format!("PARTICIPANT#{portal}")
}

pub(super) fn collaboration_item(c: &Collaboration) -> StoreResult<Item> {
    encode(
        c,
        &[
            ("PK", collaboration_pk(c.id)),
            ("SK", "#COLLABORATION".to_owned()),
            ("GSI1PK", "PORTAL#COLLABORATIONS".to_owned()),
            ("GSI1SK", order::by_time(c.created, &c.id.to_string())),
        ],
    )
}

pub(super) fn collaboration_invitation_item(i: &CollaborationInvitation, retention: Retention) -> StoreResult<Item> {
    let mut item = encode(i, &[("PK", collaboration_pk(i.collaboration_id)), ("SK", format!("INVITATION#{}", i.id))])?;
    // Kept for the retention after it can no longer be used, then DynamoDB may drop it.
    if let Some(ttl) = retention.ttl(i.expiration) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

pub(super) fn participant_item(p: &Participant) -> StoreResult<Item> {
    encode(p, &[("PK", collaboration_pk(p.collaboration_id)), ("SK", participant_sk(&p.portal.id))])
}

pub(super) fn user_invitation_item(i: &UserInvitation, retention: Retention) -> StoreResult<Item> {
    let sort = order::user_invitation(i);
    let keys = vec![
        ("PK", user_invitation_pk(i.id)),
        ("SK", "#USERINVITATION".to_owned()),
        ("GSI1PK", tenant_user_invitations(&i.tenant)),
        ("GSI1SK", sort.clone()),
        ("GSI2PK", sender_user_invitations(&i.tenant, &i.inviter)),
        ("GSI2SK", sort),
    ];
    let mut keys = keys;
    keys.extend(owed_keys(sweep_due(&i.delivery, &i.earlier_deliveries), i.expiry_due(), i.id));
    let mut item = encode(i, &keys)?;
    // Pending ones go the retention after they expire, declined or revoked ones the retention after that; accepted
    // ones are the record of how a user joined and stay.
    let ended = match i.state {
        UserInvitationState::Pending => Some(i.expires),
        UserInvitationState::Declined | UserInvitationState::Revoked => i.history.last().map(|h| h.at),
        UserInvitationState::Accepted => None,
    };
    if let Some(ttl) = ended.and_then(|at| retention.ttl(at)) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

pub(super) fn tenant_communities(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#COMMUNITIES")
}

pub(super) fn community_invitations(community: CommunityId) -> String {
    format!("COMMUNITY#{community}#INVITATIONS")
}

pub(super) fn tenant_accepted(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#ACCEPTED")
}

pub(super) fn membership_item(m: &Membership) -> StoreResult<Item> {
    let mut keys = vec![
        ("PK", community_pk(m.community_id)),
        ("SK", member_sk(&m.tenant)),
        ("GSI1SK", order::membership_of_tenant(m)),
    ];
    if m.is_active() {
        keys.push(("GSI1PK", tenant_communities(&m.tenant)));
    }
    encode(m, &keys)
}

pub(super) fn invitation_item(i: &CommunityInvitation, retention: Retention) -> StoreResult<Item> {
    let sort = order::invitation(i);
    let mut keys = vec![("PK", invitation_pk(i.id)), ("SK", "#INVITATION".to_owned())];
    if !i.is_deleted() {
        keys.push(("GSI1PK", community_invitations(i.community_id)));
        keys.push(("GSI1SK", sort.clone()));
    }
    if let (StoredState::Accepted, Some(tenant)) = (i.state, &i.invited_tenant) {
        keys.push(("GSI2PK", tenant_accepted(tenant)));
        keys.push(("GSI2SK", sort));
    }
    keys.extend(owed_keys(sweep_due(&i.delivery, &i.earlier_deliveries), i.expiry_due(), i.id));
    let mut item = encode(i, &keys)?;
    // Pending invitations go the retention after they expire; withdrawn and declined ones the retention after they
    // ended. Accepted and completed ones are the record of a membership and stay.
    let ended = match i.state {
        StoredState::Created => Some(i.expires),
        StoredState::Declined | StoredState::Deleted => i.history.last().map(|h| h.at),
        StoredState::Accepted | StoredState::Completed => None,
    };
    if let Some(ttl) = ended.and_then(|at| retention.ttl(at)) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

/// The key of the community invitation a time-ordered cursor points at, or `InvalidCursor` if it names none.
pub(super) fn invitation_start(cursor: &Cursor, index: &str, partition: String) -> StoreResult<Item> {
    time_start(cursor, index, partition, invitation_pk, "#INVITATION")
}

/// The key of the item (`pk` of the id, `sk`) a time-ordered cursor points at, or `InvalidCursor`.
pub(super) fn time_start(
    cursor: &Cursor,
    index: &str,
    partition: String,
    pk: fn(InvitationId) -> String,
    sk: &str,
) -> StoreResult<Item> {
    let (_, id) = order::parse_time_id(&cursor.sort).ok_or(StoreError::InvalidCursor)?;
    let id = InvitationId::parse("cursor", id).map_err(|_| StoreError::InvalidCursor)?;
    Ok(HashMap::from([
        ("PK".to_owned(), s(pk(id))),
        ("SK".to_owned(), s(sk)),
        (format!("{index}PK"), s(partition)),
        (format!("{index}SK"), s(cursor.sort.clone())),
    ]))
}

/// GSI3's one partition: the invitations the sweep has something to do for (owe mail, or have an expiry to
/// record). Named for its first use, owed mail; kept so items written since keep their place.
pub(super) const OWED_PARTITION: &str = "OUTBOX#OWED";

/// The sweep index keys of an invitation, due for the sweep at the earlier of its owed mail (`mail`:
/// [`sweep_due`]) and its expiry to record (`expiry`: [`crate::domain::Lifetime::expiry_due`]); none if neither.
pub(super) fn owed_keys(
    mail: Option<Timestamp>,
    expiry: Option<Timestamp>,
    id: InvitationId,
) -> Vec<(&'static str, String)> {
    mail.into_iter()
        .chain(expiry)
        .min()
        .map(|due| vec![("GSI3PK", OWED_PARTITION.to_owned()), ("GSI3SK", order::by_time(due, &id.to_string()))])
        .unwrap_or_default()
}

pub(super) fn status(status: MemberStatus) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(status).map_err(|e| StoreError::Corrupt(e.to_string()))
}
