use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0} is not a valid identifier: expected a GUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6")]
    NotAGuid(&'static str),
    #[error("{0} is not a valid tenant identifier: use 1 to 64 letters, digits, '-' or '_'")]
    BadTenant(&'static str),
    #[error("{0} is not a valid user identifier: use 1 to 256 printable characters")]
    BadUser(&'static str),
}

macro_rules! guid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// The identifier of this UUID.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Parses the hyphenated GUID form the Communities API uses; `what` names the input in the error.
            pub fn parse(what: &'static str, value: &str) -> Result<Self, IdError> {
                Uuid::try_parse(value).map(Self).map_err(|_| IdError::NotAGuid(what))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

guid_id!(
    /// Identifies a community.
    CommunityId
);
guid_id!(
    /// Identifies an invitation. Public: it appears in lists and links, so it grants nothing by itself.
    InvitationId
);

/// Identifies a tenant, as the identity provider's `tenant_id` claim names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(what: &'static str, value: &str) -> Result<Self, IdError> {
        let ok = (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(Self(value.to_owned())) } else { Err(IdError::BadTenant(what)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies a user, as the identity provider's `sub` claim names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn parse(what: &'static str, value: &str) -> Result<Self, IdError> {
        let ok = (1..=256).contains(&value.len()) && !value.chars().any(char::is_control);
        if ok { Ok(Self(value.to_owned())) } else { Err(IdError::BadUser(what)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_round_trip_in_hyphenated_lower_case() {
        let id = CommunityId::parse("communityId", "3FA85F64-5717-4562-B3FC-2C963F66AFA6").unwrap();
        assert_eq!(id.to_string(), "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    }

    #[test]
    fn malformed_guids_name_the_input() {
        let err = InvitationId::parse("invitationId", "not-a-guid").unwrap_err();
        assert!(err.to_string().starts_with("invitationId is not a valid identifier"));
    }

    #[test]
    fn tenant_ids_are_restricted_to_a_safe_alphabet() {
        assert!(TenantId::parse("tenantId", "tenant-A_1").is_ok());
        assert!(TenantId::parse("tenantId", "").is_err());
        assert!(TenantId::parse("tenantId", "a#b").is_err());
        assert!(TenantId::parse("tenantId", &"x".repeat(65)).is_err());
    }
}
