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
    /// Invitations of the community that are not finished: Created (live or expired, which Resend revives) or
    /// Accepted. Kept by every write that opens or closes one, in the same transaction, so that deleting the
    /// community can be conditional on there being none (its invitation list is an index, which may lag).
    #[serde(default)]
    pub open_invitations: u32,
    /// Tenants in the community, the owner and those awaiting confirmation included; kept like `open_invitations`.
    #[serde(default)]
    pub members: u32,
    /// Who may accept the community's invitations, unless an invitation says otherwise when it is sent. Items
    /// written before the setting existed read as [`AcceptFrom::Recipient`], the strict default.
    #[serde(default)]
    pub accept_from: AcceptFrom,
}

/// Whose verified address may accept a community invitation.
///
/// A link can be forwarded or stolen, and a token's `tenant_name` is whatever its tenant calls itself, so neither
/// says who is accepting. The verified address does: by default it must be the recipient's own. An owner who
/// invites an organisation rather than a person ("anyone at guest.example may answer for it") chooses
/// `RecipientDomain` explicitly, for the community or for one invitation; with a shared mail provider's domain that
/// admits everyone who has an address there, so it is never the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcceptFrom {
    /// A TenantAdministrator whose verified address is the invitation's recipient (letter case aside).
    #[default]
    Recipient,
    /// A TenantAdministrator whose verified address is in the recipient's domain: the same domain exactly, not a
    /// subdomain or a parent. Such a caller is not the recipient, so it also presents the link's secret.
    RecipientDomain,
}

impl AcceptFrom {
    pub const NAMES: &'static str = "Recipient or RecipientDomain";

    /// The wire name (`Recipient`, `RecipientDomain`); anything else, letter case included, is not one.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Recipient" => Some(Self::Recipient),
            "RecipientDomain" => Some(Self::RecipientDomain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recipient => "Recipient",
            Self::RecipientDomain => "RecipientDomain",
        }
    }

    /// Whether a caller whose verified address is `caller` may accept an invitation sent to `recipient`.
    pub fn admits(self, caller: &Email, recipient: &Email) -> bool {
        match self {
            Self::Recipient => caller.matches(recipient),
            Self::RecipientDomain => caller.domain().eq_ignore_ascii_case(recipient.domain()),
        }
    }
}

/// How a change moves a community's counters, in the same write as the change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountChange {
    pub open_invitations: i64,
    pub members: i64,
}

impl CountChange {
    pub fn is_none(self) -> bool {
        self == Self::default()
    }
}

/// Why a community cannot be deleted now: the tenants other than the owner, and the unfinished invitations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct StillInUse {
    pub tenants: Vec<TenantId>,
    /// Unfinished invitations by id, with the state they read as.
    pub invitations: Vec<(String, &'static str)>,
    /// Unfinished invitations the counter knows of that the (lagging) list did not show yet.
    pub unlisted: u32,
}

impl StillInUse {
    /// At most this many of each are named; the rest are counted.
    const NAMED: usize = 10;

    fn sentence(&self) -> String {
        let mut parts = Vec::new();
        if !self.tenants.is_empty() {
            let names: Vec<_> = self.tenants.iter().take(Self::NAMED).map(ToString::to_string).collect();
            let more = self.tenants.len().saturating_sub(Self::NAMED);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            parts.push(format!("other tenants are members ({}{more}): remove them first", names.join(", ")));
        }
        if !self.invitations.is_empty() || self.unlisted > 0 {
            let names: Vec<_> =
                self.invitations.iter().take(Self::NAMED).map(|(id, state)| format!("{id} ({state})")).collect();
            let more = self.invitations.len().saturating_sub(Self::NAMED) + self.unlisted as usize;
            let listed = if names.is_empty() { String::new() } else { names.join(", ") };
            let more = match (listed.is_empty(), more) {
                (_, 0) => String::new(),
                (true, n) => format!("{n} not listed yet"),
                (false, n) => format!(" and {n} more"),
            };
            parts.push(format!(
                "invitations are not finished ({listed}{more}): delete them, or let them be declined or confirmed, first"
            ));
        }
        if parts.is_empty() {
            parts.push("other requests are changing its tenants or invitations: read it again".to_owned());
        }
        format!("The community cannot be deleted while {}.", parts.join("; and while "))
    }
}

/// What a caller may set when creating a community, already validated.
pub struct CommunityInput {
    pub name: String,
    pub description: String,
    pub contact_email: Option<Email>,
    pub accept_from: AcceptFrom,
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
        Ok(Self { name, description, contact_email, accept_from: AcceptFrom::default() })
    }

    /// The input with who may accept the community's invitations (the default is [`AcceptFrom::Recipient`]).
    pub fn accepting_from(self, accept_from: AcceptFrom) -> Self {
        Self { accept_from, ..self }
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
            open_invitations: 0,
            members: 1,
            accept_from: input.accept_from,
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

    /// The community with the caller's new name, description, contact and acceptance rule; its id, owner, creation
    /// and counters stay. Its members' and invitations' copies of the name are theirs as of joining and sending, and
    /// each invitation keeps the acceptance rule it was sent with.
    pub fn updated(&self, input: CommunityInput) -> Self {
        Self {
            name: input.name,
            description: input.description,
            contact_email: input.contact_email,
            accept_from: input.accept_from,
            ..self.clone()
        }
    }

    /// Whether the community may be deleted, judged from its counters and from the members and unfinished
    /// invitations read with it (`tenants` and `invitations`); the store deletes it only if the counters still
    /// say so when it writes.
    pub fn check_deletable(
        &self,
        tenants: &[Membership],
        invitations: Vec<(String, &'static str)>,
    ) -> Result<(), StillInUse> {
        let tenants: Vec<TenantId> =
            tenants.iter().filter(|m| m.tenant != self.owner).map(|m| m.tenant.clone()).collect();
        let unlisted = self.open_invitations.saturating_sub(u32::try_from(invitations.len()).unwrap_or(u32::MAX));
        if tenants.is_empty() && invitations.is_empty() && unlisted == 0 && self.members <= 1 {
            return Ok(());
        }
        // The counter saw a member the list did not: name what is known, count the rest.
        Err(StillInUse { tenants, invitations, unlisted })
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
/// It repeats the community's name, description and creation time as they were when the tenant joined; answers
/// read them from the community itself, whose name and description can change.
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
    /// The tenant's name as the token of whoever brought it in (the creator, or the admin who accepted) named it.
    #[serde(default)]
    pub tenant_name: Option<String>,
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
            tenant_name: None,
        }
    }

    /// The membership, naming its tenant as the token of whoever brought it in did.
    pub fn with_tenant_name(self, tenant_name: Option<String>) -> Self {
        Self { tenant_name, ..self }
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
    fn an_update_changes_only_the_name_description_and_contact() {
        let owner = TenantId::parse("t", "owner").unwrap();
        let (mut community, _) =
            Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner, Timestamp::from_millis(5));
        community.open_invitations = 2;
        let contact = Some(Email::parse("ops@owner.example").unwrap());
        let updated = community.updated(CommunityInput::new("Ops 2", Some("More"), contact.clone()).unwrap());
        assert_eq!(
            (updated.name.as_str(), updated.description.as_str(), &updated.contact_email),
            ("Ops 2", "More", &contact)
        );
        assert_eq!((updated.id, &updated.owner, updated.created), (community.id, &community.owner, community.created));
        assert_eq!((updated.open_invitations, updated.members), (2, 1));
        let opened = community
            .updated(CommunityInput::new("Ops", None, None).unwrap().accepting_from(AcceptFrom::RecipientDomain));
        assert_eq!(opened.accept_from, AcceptFrom::RecipientDomain);
    }

    #[test]
    fn a_community_is_deletable_only_with_no_other_tenant_and_no_open_invitation() {
        let owner = TenantId::parse("t", "owner").unwrap();
        let now = Timestamp::from_millis(5);
        let (mut community, owner_membership) =
            Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner, now);
        assert_eq!(community.check_deletable(std::slice::from_ref(&owner_membership), vec![]), Ok(()));
        let guest =
            Membership::new(&community, TenantId::parse("t", "guest").unwrap(), MemberStatus::Active, None, now);
        community.members = 2;
        community.open_invitations = 2;
        let err = community
            .check_deletable(&[guest, owner_membership.clone()], vec![("inv-1".into(), "InvitationAccepted")])
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("guest") && !text.contains("(owner"), "{text}");
        assert!(text.contains("inv-1 (InvitationAccepted) and 1 more"), "{text}");
        // The counters catch what a lagging list does not show.
        community.members = 1;
        let err = community.check_deletable(std::slice::from_ref(&owner_membership), vec![]).unwrap_err();
        assert!(err.to_string().contains("2 not listed yet"), "{err}");
    }

    #[test]
    fn the_recipient_alone_accepts_unless_its_whole_domain_was_chosen() {
        let at = |e: &str| Email::parse(e).unwrap();
        let recipient = at("Bob@Guest.example");
        assert_eq!(AcceptFrom::default(), AcceptFrom::Recipient, "the strict rule is the default");
        assert!(AcceptFrom::Recipient.admits(&at("bob@GUEST.example"), &recipient), "letter case aside");
        for other in ["it@guest.example", "bob@other.example", "bob@guest.example.evil.example"] {
            assert!(!AcceptFrom::Recipient.admits(&at(other), &recipient), "{other}");
        }
        assert!(AcceptFrom::RecipientDomain.admits(&at("it@guest.example"), &recipient));
        for other in ["it@sub.guest.example", "it@example", "it@guest.example.evil.example", "it@xguest.example"] {
            let other = Email::parse(other);
            assert!(other.is_err() || !AcceptFrom::RecipientDomain.admits(&other.unwrap(), &recipient));
        }
        assert_eq!(AcceptFrom::parse("RecipientDomain"), Some(AcceptFrom::RecipientDomain));
        assert_eq!(AcceptFrom::parse("recipientdomain"), None);
        assert_eq!(AcceptFrom::parse(AcceptFrom::Recipient.as_str()), Some(AcceptFrom::Recipient));
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(CommunityInput::new("  ", None, None).err(), Some(TextError::Empty("Name")));
        assert!(CommunityInput::new(&"n".repeat(201), None, None).is_err());
        assert!(CommunityInput::new("ok", Some(&"d".repeat(2_001)), None).is_err());
    }
}
