use serde::{Deserialize, Serialize};

use super::{CommunityId, Email, TenantId, TextError, Timestamp, bounded_text};

/// A group of tenants that share data; the tenant that creates it owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub description: String,
    pub contact_email: Option<Email>,
    pub owner: TenantId,
    pub created: Timestamp,
}

/// What a caller may set when creating a community, already validated.
pub struct CommunityInput {
    pub name: String,
    pub description: String,
    pub contact_email: Option<Email>,
}

impl CommunityInput {
    pub const MAX_NAME: usize = 200;
    pub const MAX_DESCRIPTION: usize = 2_000;

    pub fn new(name: &str, description: Option<&str>, contact_email: Option<Email>) -> Result<Self, TextError> {
        let name = bounded_text("Name", name, Self::MAX_NAME)?;
        let description = match description.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => bounded_text("Description", d, Self::MAX_DESCRIPTION)?,
            None => String::new(),
        };
        Ok(Self { name, description, contact_email })
    }
}

impl Community {
    /// A new community owned by `owner`, together with the owner's own membership (Active from the start).
    pub fn create(input: CommunityInput, owner: TenantId, now: Timestamp) -> (Self, Membership) {
        let community = Self {
            id: CommunityId::new(),
            name: input.name,
            description: input.description,
            contact_email: input.contact_email,
            owner,
            created: now,
        };
        let membership = Membership::new(
            &community,
            community.owner.clone(),
            MemberStatus::Active,
            community.contact_email.clone(),
            now,
        );
        (community, membership)
    }
}

/// Whether a tenant is a full member or still waits for the community's administrator to confirm it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberStatus {
    AwaitingConfirmation,
    Active,
}

/// A tenant's place in a community.
///
/// It repeats the community's name, description and creation time so that "the communities my tenant belongs to"
/// is one query over memberships, with no second read per community (a community's name never changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub community_id: CommunityId,
    pub tenant: TenantId,
    pub status: MemberStatus,
    pub is_owner: bool,
    pub contact_email: Option<Email>,
    pub joined: Timestamp,
    pub community_name: String,
    pub community_description: String,
    pub community_created: Timestamp,
}

impl Membership {
    pub fn new(
        community: &Community,
        tenant: TenantId,
        status: MemberStatus,
        contact_email: Option<Email>,
        now: Timestamp,
    ) -> Self {
        Self {
            community_id: community.id,
            is_owner: tenant == community.owner,
            tenant,
            status,
            contact_email,
            joined: now,
            community_name: community.name.clone(),
            community_description: community.description.clone(),
            community_created: community.created,
        }
    }

    /// Only Active members see the community; a tenant awaiting confirmation sees its accepted invitation instead.
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creator_owns_the_community_and_is_an_active_member() {
        let owner = TenantId::parse("t", "owner").unwrap();
        let input = CommunityInput::new("  Shared Ops ", None, None).unwrap();
        let (community, membership) = Community::create(input, owner.clone(), Timestamp::from_millis(5));
        assert_eq!(community.name, "Shared Ops");
        assert_eq!(community.owner, owner);
        assert!(membership.is_owner && membership.is_active());
        assert_eq!(membership.community_id, community.id);
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(CommunityInput::new("  ", None, None).err(), Some(TextError::Empty("Name")));
        assert!(CommunityInput::new(&"n".repeat(201), None, None).is_err());
        assert!(CommunityInput::new("ok", Some(&"d".repeat(2_001)), None).is_err());
    }
}
