//! The dialect's identifiers: ArcGIS ids (32 hex digits), a portal's id and its normalised URL.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CollaborationError, invalid};

macro_rules! arcgis_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// Parses the ArcGIS form: 32 hex digits without dashes.
            pub fn parse(what: &str, value: &str) -> Result<Self, CollaborationError> {
                let ok = value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit());
                ok.then(|| uuid::Uuid::try_parse(value).ok()).flatten().map(Self).ok_or_else(|| {
                    invalid(format!("{what} is not a valid id: expected 32 hexadecimal digits."))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.simple().fmt(f)
            }
        }

        impl TryFrom<String> for $name {
            type Error = CollaborationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(stringify!($name), &value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

arcgis_id!(
    /// Identifies a collaboration (the same id on the host and on every guest).
    CollaborationId
);
arcgis_id!(
    /// Identifies a workspace of a collaboration.
    WorkspaceId
);
arcgis_id!(
    /// Identifies an invitation to a collaboration.
    CollaborationInvitationId
);

impl CollaborationInvitationId {
    /// The same UUID as an [`crate::domain::InvitationId`], which is what a [`crate::seal::Sealer`] binds a seal to.
    pub fn as_invitation_id(self) -> crate::domain::InvitationId {
        crate::domain::InvitationId::from_uuid(self.0)
    }
}

/// Identifies a portal (one deployment): configured, or made on a local server's first start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortalId(String);

impl PortalId {
    pub fn parse(what: &str, value: &str) -> Result<Self, CollaborationError> {
        let ok = (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(value.to_owned())).ok_or_else(|| {
            invalid(format!("{what} is not a valid portal id: use 1 to 64 letters, digits, '-' or '_'."))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PortalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PortalId {
    type Error = CollaborationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("portal id", &value)
    }
}

impl From<PortalId> for String {
    fn from(id: PortalId) -> String {
        id.0
    }
}

/// A portal's URL: `https://host[:port][/path]`, normalised (lower-case host, no trailing slash), so two spellings
/// of one portal compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortalUrl(String);

impl PortalUrl {
    /// Parses a portal URL; `allow_http` is for local servers only, which have no certificate (the invitation's
    /// `guestPortalUrl` is always https).
    pub fn parse(what: &str, value: &str, allow_http: bool) -> Result<Self, CollaborationError> {
        let bad = |why: &str| invalid(format!("{what} {why}"));
        if value.len() > 512 {
            return Err(bad("is longer than 512 characters."));
        }
        let url = url::Url::parse(value.trim()).map_err(|_| bad("is not a URL."))?;
        let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
        if !scheme_ok {
            return Err(bad("must be an https:// URL."));
        }
        if url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must name a host, without a user name or password."));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or a fragment."));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is an `https://` URL: every portal URL in a file must be, whatever a local server allows.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The host name, as the invitation file's name uses it (`collaboration-<host>.invite`).
    pub fn host(&self) -> String {
        url::Url::parse(&self.0).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
    }
}

impl fmt::Display for PortalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PortalUrl {
    type Error = CollaborationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("portal URL", &value, true)
    }
}

impl From<PortalUrl> for String {
    fn from(url: PortalUrl) -> String {
        url.0
    }
}
