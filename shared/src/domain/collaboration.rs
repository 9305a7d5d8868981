//! Portal-to-portal collaborations (the ArcGIS dialect): a host portal invites a guest portal into a collaboration
//! with a signed invitation file; the guest accepts it and answers with a signed response file; the host imports
//! the response, and the guest becomes a participant.
//!
//! ```text
//! host: inviteParticipant --> host_created --importInvitationResponse--> host_imported
//!                               |  \--invalidate--> host_invalidated
//!                               \--refresh (new nonce, new expiry: the old file dies)--> host_created
//! guest: acceptCollaborationInvitation --> accepted --exportInvitationResponse--> (the response file)
//! ```
//! Expired is derived from `expiration`.
//!
//! ## The files
//!
//! An invitation file is `{"invitationRequest": {...}, "signature": "<base64>"}`; the signature covers the exact
//! bytes of the request as written in the file (its JSON text between the braces, kept raw), made with the host's
//! key, whose public half travels in the request (`publicKey`, base64 DER SubjectPublicKeyInfo). The request also
//! carries a secret `nonce`: the guest's response echoes it, signed with the guest's key, so the host imports only
//! a response from whoever holds a live file it issued. Only the nonce's hash is kept to compare against; its
//! sealed copy is kept to rebuild the file (the request is rebuilt byte for byte from the stored fields, since
//! serde writes a struct's fields in order).
//!
//! Checking a signature is the caller's: this module is given a `verify(public_key, message, signature)` and
//! does no I/O. A signature shows only that the key in the file signed it; [`confirm_key`] decides, from what the
//! caller fetched and stored, whether that key is the named portal's (published by it, pinned, or confirmed by
//! the administrator's [`KeyFingerprint`]). Portal URLs in files must be https, and an invitation's expiry at most
//! what a host gives ([`MAX_EXPIRATION_HOURS`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Email, Secret, SecretHash, Timestamp, bounded_text};

/// The longest file accepted, in bytes: a request or response with the most workspaces is well below it.
pub const MAX_FILE_BYTES: usize = 32 * 1024;
/// The most workspaces a collaboration may have.
pub const MAX_WORKSPACES: usize = 20;
/// The longest name and description.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Default and longest invitation validity, in hours (the seed's `expiration`).
pub const DEFAULT_EXPIRATION_HOURS: i64 = 24;
pub const MAX_EXPIRATION_HOURS: i64 = 24 * 30;
/// `refresh` gives a live invitation this long again (the seed's 72 hours).
pub const REFRESH_HOURS: i64 = 72;
/// How far ahead of the guest's clock the host's may be when the guest caps a file's expiry.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Why a collaboration input, an invitation file or a response was refused. Each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollaborationError {
    #[error("{0}")]
    Invalid(String),
    #[error("The file is not a valid {0}: {1}")]
    BadFile(&'static str, String),
    #[error("The {0}'s signature does not verify: the file was changed or signed with another key.")]
    BadSignature(&'static str),
    #[error("The invitation expired at {0}.")]
    Expired(String),
    #[error("The invitation is for {intended}, not for this portal ({this}).")]
    OtherGuest { intended: String, this: String },
    #[error("The invitation is {0}; it cannot be used.")]
    NotLive(&'static str),
    #[error("The response does not answer a live invitation of this collaboration.")]
    UnknownResponse,
    /// The file's key is not the one its portal publishes: altered and re-signed, or forged.
    #[error(
        "The {what}'s key (fingerprint {file}) is not the key {portal} publishes (fingerprint {published}): the file \
         was not signed by that portal."
    )]
    NotPublishedKey { what: &'static str, portal: String, file: String, published: String },
    /// The other portal could not be asked for its key, and no fingerprint confirmed it.
    #[error(
        "The {what}'s key could not be confirmed: {why}. Ask that portal's administrator for the fingerprint of its \
         key (portals/self shows it as publicKeyFingerprint) and pass it as {parameter}; this file's key has \
         fingerprint {file}."
    )]
    Unconfirmed { what: &'static str, why: String, parameter: &'static str, file: String },
    /// The administrator's fingerprint is not the file's key's.
    #[error(
        "{parameter} {given} is not the fingerprint of the {what}'s key ({file}): the file was not signed by that key."
    )]
    FingerprintMismatch { what: &'static str, parameter: &'static str, given: String, file: String },
    /// This portal already knows another key for that portal, from an earlier collaboration.
    #[error(
        "{portal} was pinned with the key of fingerprint {pinned} when this portal first collaborated with it; the \
         {what} is signed with another key ({file}). Remove that portal from the collaborations that know it before \
         trusting a new key."
    )]
    KeyChanged { what: &'static str, portal: String, pinned: String, file: String },
}

fn invalid(message: impl Into<String>) -> CollaborationError {
    CollaborationError::Invalid(message.into())
}

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
    /// The same UUID as an [`super::InvitationId`], which is what a [`crate::seal::Sealer`] binds a seal to.
    pub fn as_invitation_id(self) -> super::InvitationId {
        super::InvitationId::from_uuid(self.0)
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

/// What a participant may do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessMode {
    Send,
    Receive,
    SendAndReceive,
}

impl AccessMode {
    pub fn parse(value: &str) -> Result<Self, CollaborationError> {
        match value {
            "send" => Ok(Self::Send),
            "receive" => Ok(Self::Receive),
            "sendAndReceive" => Ok(Self::SendAndReceive),
            other => {
                let shown: String = other.chars().take(40).collect();
                Err(invalid(format!("{shown:?} is not an access mode: use send, receive or sendAndReceive.")))
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Receive => "receive",
            Self::SendAndReceive => "sendAndReceive",
        }
    }
}

/// Someone to contact at a portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
}

impl Contact {
    pub fn parse(first: &str, last: &str, email: &str) -> Result<Self, CollaborationError> {
        let name =
            |field, value: &str| bounded_text(field, value, MAX_NAME_CHARS).map_err(|e| invalid(format!("{e}.")));
        Ok(Self {
            first_name: name("the contact's first name", first)?,
            last_name: name("the contact's last name", last)?,
            email: Email::parse(email).map_err(|e| invalid(format!("the contact's email address {e}.")))?,
        })
    }
}

/// A workspace of a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub description: String,
}

impl Workspace {
    pub fn create(name: &str, description: Option<&str>) -> Result<Self, CollaborationError> {
        Ok(Self {
            id: WorkspaceId::new(),
            name: name_text("workspaceName", name)?,
            description: description_text(description)?,
        })
    }
}

fn name_text(field: &'static str, value: &str) -> Result<String, CollaborationError> {
    bounded_text(field, value, MAX_NAME_CHARS).map_err(|e| invalid(format!("{e}.")))
}

fn description_text(value: Option<&str>) -> Result<String, CollaborationError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(String::new()),
        Some(v) => bounded_text("description", v, MAX_DESCRIPTION_CHARS).map_err(|e| invalid(format!("{e}."))),
    }
}

/// A portal as another knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portal {
    pub id: PortalId,
    pub url: PortalUrl,
    pub name: String,
}

/// Which side of a collaboration this portal is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    Host,
    Guest,
}

/// A collaboration as this portal keeps it: the host's own, or one it joined as a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collaboration {
    pub id: CollaborationId,
    pub name: String,
    pub description: String,
    pub side: Side,
    pub host: Portal,
    pub host_contact: Contact,
    pub workspaces: Vec<Workspace>,
    /// This portal's own contact, when it joined as a guest (its response file names it).
    #[serde(default)]
    pub guest_contact: Option<Contact>,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub version: u64,
}

impl Collaboration {
    /// The collaboration as a guest keeps it once it accepted `request`, with `contact` as its own contact.
    pub fn joined(request: &InvitationRequest, contact: Contact, now: Timestamp) -> Result<Self, CollaborationError> {
        Self::joining(request, Some(contact), now)
    }

    /// Whether `request` could be joined: every check [`Collaboration::joined`] makes of it, for validating a file
    /// without accepting it.
    pub fn check_joinable(request: &InvitationRequest, now: Timestamp) -> Result<(), CollaborationError> {
        Self::joining(request, None, now).map(|_| ())
    }

    fn joining(
        request: &InvitationRequest,
        contact: Option<Contact>,
        now: Timestamp,
    ) -> Result<Self, CollaborationError> {
        let host_contact =
            Contact::parse(&request.contact_firstname, &request.contact_lastname, &request.contact_email_address)?;
        Ok(Self {
            id: request.collaboration_id,
            name: name_text("collaborationName", &request.collaboration_name)?,
            description: request.collaboration_description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
            side: Side::Guest,
            host: Portal {
                id: request.host_portal_id.clone(),
                url: request.host_portal_url.clone(),
                name: request.host_portal_name.chars().take(MAX_NAME_CHARS).collect(),
            },
            host_contact,
            workspaces: request
                .collaboration_workspace_configs
                .access_mode
                .iter()
                .take(MAX_WORKSPACES)
                .map(|w| Workspace {
                    id: w.collaboration_workspace_id,
                    name: w.collaboration_workspace_name.chars().take(MAX_NAME_CHARS).collect(),
                    description: w.collaboration_workspace_description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
                })
                .collect(),
            guest_contact: contact,
            created: now,
            modified: now,
            version: 1,
        })
    }

    /// A new collaboration hosted by `host`, with its first workspace.
    pub fn create(
        host: Portal,
        name: &str,
        description: Option<&str>,
        workspace: Workspace,
        contact: Contact,
        now: Timestamp,
    ) -> Result<Self, CollaborationError> {
        Ok(Self {
            id: CollaborationId::new(),
            name: name_text("name", name)?,
            description: description_text(description)?,
            side: Side::Host,
            host,
            host_contact: contact,
            workspaces: vec![workspace],
            guest_contact: None,
            created: now,
            modified: now,
            version: 1,
        })
    }

    /// The collaboration with one more workspace (host only).
    pub fn add_workspace(&self, workspace: Workspace, now: Timestamp) -> Result<Self, CollaborationError> {
        if self.side != Side::Host {
            return Err(invalid("Only the collaboration's host can add a workspace."));
        }
        if self.workspaces.len() >= MAX_WORKSPACES {
            return Err(invalid(format!("A collaboration has at most {MAX_WORKSPACES} workspaces.")));
        }
        let mut next = self.clone();
        next.workspaces.push(workspace);
        next.modified = now;
        next.version += 1;
        Ok(next)
    }

    /// Checks a participant's access configuration (`[{workspaceId: mode}]`): every workspace is one of this
    /// collaboration's, named once, with a known mode, and at least one is named.
    pub fn access(&self, config: &[(String, String)]) -> Result<Vec<(WorkspaceId, AccessMode)>, CollaborationError> {
        if config.is_empty() {
            return Err(invalid("collaborationWorkspacesParticipantConfigJSON must name at least one workspace."));
        }
        let mut out: Vec<(WorkspaceId, AccessMode)> = Vec::new();
        for (workspace, mode) in config {
            let id = WorkspaceId::parse("a workspace id", workspace)?;
            if !self.workspaces.iter().any(|w| w.id == id) {
                return Err(invalid(format!("Workspace {id} is not a workspace of this collaboration.")));
            }
            if out.iter().any(|(w, _)| *w == id) {
                return Err(invalid(format!("Workspace {id} is named twice.")));
            }
            out.push((id, AccessMode::parse(mode)?));
        }
        Ok(out)
    }
}

/// Where a host's invitation stands, in the seed's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvitationStatus {
    #[serde(rename = "host_created")]
    Created,
    #[serde(rename = "host_invalidated")]
    Invalidated,
    #[serde(rename = "host_imported")]
    Imported,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "host_created",
            Self::Invalidated => "host_invalidated",
            Self::Imported => "host_imported",
        }
    }
}

/// The signed part of an invitation file, in the seed's field names and order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRequest {
    pub id: CollaborationInvitationId,
    pub collaboration_id: CollaborationId,
    pub collaboration_name: String,
    pub collaboration_description: String,
    pub collaboration_workspace_configs: WorkspaceConfigs,
    pub guest_portal_url: PortalUrl,
    pub guest_portal_id: String,
    pub host_portal_url: PortalUrl,
    pub host_portal_id: PortalId,
    pub host_portal_name: String,
    pub public_key: String,
    pub contact_firstname: String,
    pub contact_lastname: String,
    pub contact_email_address: String,
    pub created: i64,
    pub expiration: i64,
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceConfigs {
    pub access_mode: Vec<WorkspaceConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceConfig {
    pub collaboration_workspace_id: WorkspaceId,
    pub collaboration_workspace_name: String,
    pub collaboration_workspace_description: String,
    pub access_mode: AccessMode,
}

/// The signed part of a response file: which invitation it answers (with its nonce) and who the guest is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationResponse {
    pub invitation_id: CollaborationInvitationId,
    pub collaboration_id: CollaborationId,
    pub nonce: String,
    pub guest_portal_id: PortalId,
    pub guest_portal_url: PortalUrl,
    pub guest_portal_name: String,
    pub public_key: String,
    pub contact_firstname: String,
    pub contact_lastname: String,
    pub contact_email_address: String,
    pub created: i64,
}

/// Writes a signed file: `{"<field>": <the request's exact bytes>, "signature": "<base64>"}`.
pub fn signed_file(field: &str, payload: &str, signature_base64: &str) -> String {
    // The payload is our own serde output and the signature base64: neither needs escaping beyond what
    // serde_json gives the signature.
    let signature = serde_json::Value::String(signature_base64.to_owned());
    format!("{{\"{field}\":{payload},\"signature\":{signature}}}")
}

/// Reads a signed file's payload (its exact bytes) and signature (base64).
fn open_signed<'a>(what: &'static str, field: &str, file: &'a str) -> Result<(&'a str, String), CollaborationError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow, rename = "invitationRequest")]
        request: Option<&'a RawValue>,
        #[serde(borrow, rename = "invitationResponse")]
        response: Option<&'a RawValue>,
        signature: Option<String>,
    }
    if file.len() > MAX_FILE_BYTES {
        return Err(CollaborationError::BadFile(what, format!("it is larger than {} KiB", MAX_FILE_BYTES / 1024)));
    }
    let envelope: Envelope<'a> =
        serde_json::from_str(file.trim()).map_err(|e| CollaborationError::BadFile(what, e.to_string()))?;
    let payload = if field == "invitationRequest" { envelope.request } else { envelope.response };
    let payload = payload.ok_or_else(|| CollaborationError::BadFile(what, format!("it has no {field}")))?;
    let signature =
        envelope.signature.ok_or_else(|| CollaborationError::BadFile(what, "it has no signature".into()))?;
    Ok((payload.get(), signature))
}

/// Checks a signature: `verify(public_key_base64, message, signature_base64)`.
pub type Verify<'a> = &'a dyn Fn(&str, &[u8], &str) -> bool;

/// An invitation file as the guest reads it: signature, expiry and addressee checked, in that order.
pub fn open_invitation(
    file: &str,
    this_portal: &PortalUrl,
    now: Timestamp,
    verify: Verify<'_>,
) -> Result<InvitationRequest, CollaborationError> {
    let (payload, signature) = open_signed("invitation file", "invitationRequest", file)?;
    let request: InvitationRequest =
        serde_json::from_str(payload).map_err(|e| CollaborationError::BadFile("invitation file", e.to_string()))?;
    if !verify(&request.public_key, payload.as_bytes(), &signature) {
        return Err(CollaborationError::BadSignature("invitation file"));
    }
    if !request.host_portal_url.is_https() {
        return Err(invalid("The invitation file's hostPortalUrl must be an https:// URL."));
    }
    if now.millis() >= request.expiration {
        return Err(CollaborationError::Expired(Timestamp::from_millis(request.expiration).to_rfc3339()));
    }
    // The host never issues a file valid longer than its cap (a refresh gives less): a longer one is not its.
    let latest = now.plus_minutes(MAX_EXPIRATION_HOURS.max(REFRESH_HOURS) * 60 + CLOCK_SKEW_MINUTES);
    if request.expiration > latest.millis() {
        return Err(invalid(format!(
            "The invitation file expires at {}, more than the {MAX_EXPIRATION_HOURS} hours a host may give it.",
            Timestamp::from_millis(request.expiration).to_rfc3339()
        )));
    }
    if &request.guest_portal_url != this_portal {
        return Err(CollaborationError::OtherGuest {
            intended: request.guest_portal_url.to_string(),
            this: this_portal.to_string(),
        });
    }
    Ok(request)
}

/// A response file as the host reads it, before matching it to an invitation: its signature checked.
pub fn open_response(file: &str, verify: Verify<'_>) -> Result<InvitationResponse, CollaborationError> {
    let (payload, signature) = open_signed("response file", "invitationResponse", file)?;
    let response: InvitationResponse =
        serde_json::from_str(payload).map_err(|e| CollaborationError::BadFile("response file", e.to_string()))?;
    if !verify(&response.public_key, payload.as_bytes(), &signature) {
        return Err(CollaborationError::BadSignature("response file"));
    }
    if !response.guest_portal_url.is_https() {
        return Err(invalid("The response file's guestPortalUrl must be an https:// URL."));
    }
    Ok(response)
}

/// The SHA-256 of a portal's public key (its DER SubjectPublicKeyInfo), written as 64 lower-case hex digits: what
/// two administrators compare out of band when one portal cannot reach the other. Read leniently (upper case,
/// and `:` or space between digits, are accepted), written one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFingerprint(String);

impl KeyFingerprint {
    /// The fingerprint of a key as files and `portals/self` carry it (base64 DER); `None` when it is not base64.
    pub fn of_key(public_key_base64: &str) -> Option<Self> {
        use base64::Engine as _;
        use sha2::{Digest as _, Sha256};
        let der = base64::engine::general_purpose::STANDARD.decode(public_key_base64.trim()).ok()?;
        Some(Self(Sha256::digest(&der).iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// An administrator's `parameter`: 64 hex digits, optionally separated by `:` or spaces.
    pub fn parse(parameter: &str, value: &str) -> Result<Self, CollaborationError> {
        let digits: String = value.chars().filter(|c| *c != ':' && *c != ' ').collect();
        if value.len() > 200 || digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!(
                "{parameter} must be the SHA-256 of the portal's key: 64 hexadecimal digits (':' between pairs allowed)."
            )));
        }
        Ok(Self(digits.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is known of the key that signed a file (`what`) from the portal at `portal`, for [`confirm_key`].
pub struct KeyEvidence<'a> {
    pub what: &'static str,
    /// The parameter that carries the administrator's fingerprint (`hostKeyFingerprint`, `guestKeyFingerprint`).
    pub parameter: &'static str,
    pub portal: &'a PortalUrl,
    /// The key the file carries (its signature was checked with it).
    pub file_key: &'a str,
    /// The key that portal publishes, or why it could not be asked.
    pub published: Result<&'a str, &'a str>,
    /// The fingerprint the administrator passed, if any.
    pub fingerprint: Option<&'a KeyFingerprint>,
    /// The key this portal recorded for that portal when they first collaborated, if they did.
    pub pinned: Option<&'a str>,
}

/// Decides whether a file's key is its portal's: a fingerprint the administrator passed must be the file key's;
/// a key pinned earlier must be the same key; and the portal must publish that key, unless it could not be asked
/// and the fingerprint confirmed it. The file key's fingerprint, when it is.
pub fn confirm_key(evidence: &KeyEvidence<'_>) -> Result<KeyFingerprint, CollaborationError> {
    let KeyEvidence { what, parameter, portal, file_key, published, fingerprint, pinned } = *evidence;
    let file = KeyFingerprint::of_key(file_key)
        .ok_or_else(|| CollaborationError::BadFile(what, "its publicKey is not base64".into()))?;
    if let Some(given) = fingerprint.filter(|given| **given != file) {
        return Err(CollaborationError::FingerprintMismatch {
            what,
            parameter,
            given: given.to_string(),
            file: file.to_string(),
        });
    }
    // A pinned key that is not base64 (never written so) counts as another key.
    let pinned = pinned.map(|k| KeyFingerprint::of_key(k).unwrap_or(KeyFingerprint(String::new())));
    if let Some(pinned) = pinned.filter(|pinned| *pinned != file) {
        return Err(CollaborationError::KeyChanged {
            what,
            portal: portal.to_string(),
            pinned: pinned.to_string(),
            file: file.to_string(),
        });
    }
    match published {
        Ok(key) => match KeyFingerprint::of_key(key) {
            Some(published) if published == file => Ok(file),
            published => Err(CollaborationError::NotPublishedKey {
                what,
                portal: portal.to_string(),
                file: file.to_string(),
                published: published.map(|p| p.to_string()).unwrap_or_else(|| "none: not base64".into()),
            }),
        },
        Err(_) if fingerprint.is_some() => Ok(file),
        Err(why) => {
            Err(CollaborationError::Unconfirmed { what, why: why.to_owned(), parameter, file: file.to_string() })
        }
    }
}

/// A host's invitation of a guest portal into a collaboration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaborationInvitation {
    pub id: CollaborationInvitationId,
    pub collaboration_id: CollaborationId,
    pub guest_portal_url: PortalUrl,
    /// Known once the guest's response is imported.
    pub guest_portal_id: Option<PortalId>,
    pub access: Vec<(WorkspaceId, AccessMode)>,
    pub status: InvitationStatus,
    /// The request as signed, without its nonce (which is kept hashed, and sealed to rebuild the file).
    pub request: InvitationRequest,
    pub signature: String,
    pub nonce_hash: SecretHash,
    pub sealed_nonce: String,
    pub created: Timestamp,
    pub modified: Timestamp,
    pub expiration: Timestamp,
    pub version: u64,
}

impl CollaborationInvitation {
    /// The request a new invitation signs, with its fresh nonce; the caller signs it, seals the nonce and calls
    /// [`CollaborationInvitation::issued`].
    pub fn request(
        collaboration: &Collaboration,
        guest: PortalUrl,
        access: &[(WorkspaceId, AccessMode)],
        public_key: String,
        now: Timestamp,
        hours: i64,
    ) -> Result<(InvitationRequest, Secret), CollaborationError> {
        if collaboration.side != Side::Host {
            return Err(invalid("Only the collaboration's host can invite participants."));
        }
        if !(1..=MAX_EXPIRATION_HOURS).contains(&hours) {
            return Err(invalid(format!("expiration must be from 1 to {MAX_EXPIRATION_HOURS} hours.")));
        }
        let nonce = Secret::generate();
        let configs = access
            .iter()
            .filter_map(|(id, mode)| collaboration.workspaces.iter().find(|w| w.id == *id).map(|w| (w, *mode)))
            .map(|(w, mode)| WorkspaceConfig {
                collaboration_workspace_id: w.id,
                collaboration_workspace_name: w.name.clone(),
                collaboration_workspace_description: w.description.clone(),
                access_mode: mode,
            })
            .collect();
        let request = InvitationRequest {
            id: CollaborationInvitationId::new(),
            collaboration_id: collaboration.id,
            collaboration_name: collaboration.name.clone(),
            collaboration_description: collaboration.description.clone(),
            collaboration_workspace_configs: WorkspaceConfigs { access_mode: configs },
            guest_portal_url: guest,
            guest_portal_id: "unknown".into(),
            host_portal_url: collaboration.host.url.clone(),
            host_portal_id: collaboration.host.id.clone(),
            host_portal_name: collaboration.host.name.clone(),
            public_key,
            contact_firstname: collaboration.host_contact.first_name.clone(),
            contact_lastname: collaboration.host_contact.last_name.clone(),
            contact_email_address: collaboration.host_contact.email.to_string(),
            created: now.millis(),
            expiration: now.plus_minutes(hours * 60).millis(),
            nonce: nonce.expose().to_owned(),
        };
        Ok((request, nonce))
    }

    /// The invitation record of a signed `request`.
    pub fn issued(
        mut request: InvitationRequest,
        access: Vec<(WorkspaceId, AccessMode)>,
        signature: String,
        nonce: &Secret,
        sealed_nonce: String,
    ) -> Self {
        request.nonce = String::new();
        let at = Timestamp::from_millis(request.created);
        Self {
            id: request.id,
            collaboration_id: request.collaboration_id,
            guest_portal_url: request.guest_portal_url.clone(),
            guest_portal_id: None,
            access,
            status: InvitationStatus::Created,
            signature,
            nonce_hash: nonce.hash(),
            sealed_nonce,
            created: at,
            modified: at,
            expiration: Timestamp::from_millis(request.expiration),
            request,
            version: 1,
        }
    }

    /// The exact request bytes that were signed, given the unsealed nonce.
    pub fn signed_request(&self, nonce: &Secret) -> String {
        let mut request = self.request.clone();
        request.nonce = nonce.expose().to_owned();
        serde_json::to_string(&request).unwrap_or_default()
    }

    /// The invitation file, given the unsealed nonce.
    pub fn file(&self, nonce: &Secret) -> String {
        signed_file("invitationRequest", &self.signed_request(nonce), &self.signature)
    }

    /// `collaboration-<guest host>.invite`.
    pub fn file_name(&self) -> String {
        format!("collaboration-{}.invite", self.guest_portal_url.host())
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expiration
    }

    /// Whether a response may still be imported for it at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == InvitationStatus::Created && !self.is_expired(now)
    }

    /// The invitation invalidated: no response built from it will import.
    pub fn invalidate(&self, now: Timestamp) -> Result<Self, CollaborationError> {
        self.require(InvitationStatus::Created)?;
        let mut next = self.bumped(now);
        next.status = InvitationStatus::Invalidated;
        Ok(next)
    }

    /// A refreshed request to sign: a new nonce (so the old file and any response to it die) and 72 hours more,
    /// carrying `public_key`, the key that signs it now (which is not the first file's if the portal's key changed
    /// since: a file must carry the key that signed it).
    pub fn refresh_request(
        &self,
        public_key: String,
        now: Timestamp,
    ) -> Result<(InvitationRequest, Secret), CollaborationError> {
        self.require(InvitationStatus::Created)?;
        let nonce = Secret::generate();
        let mut request = self.request.clone();
        request.public_key = public_key;
        request.expiration = now.plus_minutes(REFRESH_HOURS * 60).millis();
        request.nonce = nonce.expose().to_owned();
        Ok((request, nonce))
    }

    /// The invitation once its refreshed request is signed.
    pub fn refreshed(
        &self,
        mut request: InvitationRequest,
        signature: String,
        nonce: &Secret,
        sealed: String,
        now: Timestamp,
    ) -> Self {
        let mut next = self.bumped(now);
        next.expiration = Timestamp::from_millis(request.expiration);
        request.nonce = String::new();
        next.request = request;
        next.signature = signature;
        next.nonce_hash = nonce.hash();
        next.sealed_nonce = sealed;
        next
    }

    /// Imports a verified response: it must answer this live invitation, with its current nonce, from the
    /// portal it was sent to. The invitation is then imported (once: a second import finds it so).
    pub fn import(&self, response: &InvitationResponse, now: Timestamp) -> Result<Self, CollaborationError> {
        let answers = response.invitation_id == self.id
            && response.collaboration_id == self.collaboration_id
            && self.nonce_hash.verifies(&Secret::presented(&response.nonce));
        if !answers {
            return Err(CollaborationError::UnknownResponse);
        }
        self.require(InvitationStatus::Created)?;
        if self.is_expired(now) {
            return Err(CollaborationError::Expired(self.expiration.to_rfc3339()));
        }
        if response.guest_portal_url != self.guest_portal_url {
            return Err(CollaborationError::OtherGuest {
                intended: self.guest_portal_url.to_string(),
                this: response.guest_portal_url.to_string(),
            });
        }
        let mut next = self.bumped(now);
        next.status = InvitationStatus::Imported;
        next.guest_portal_id = Some(response.guest_portal_id.clone());
        Ok(next)
    }

    fn require(&self, status: InvitationStatus) -> Result<(), CollaborationError> {
        if self.status == status { Ok(()) } else { Err(CollaborationError::NotLive(self.status.as_str())) }
    }

    fn bumped(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.modified = now;
        next.version += 1;
        next
    }
}

/// A portal taking part in a collaboration, as another portal records it: the guest on the host once its response
/// is imported, the host on the guest once the guest accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub collaboration_id: CollaborationId,
    pub portal: Portal,
    pub side: Side,
    pub public_key: String,
    pub contact: Contact,
    pub access: Vec<(WorkspaceId, AccessMode)>,
    /// The invitation that brought it in.
    pub invitation_id: CollaborationInvitationId,
    pub joined: Timestamp,
    /// On a guest: the host's invitation's nonce, sealed, which its response must echo.
    pub sealed_nonce: Option<String>,
    /// On a host: its own id, kept with each guest so the record alone says whose collaboration it is (the
    /// tenant of its events). Absent on records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_portal_id: Option<PortalId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    /// A stand-in for a signature scheme (a keyed hash), so the file logic is tested apart from the real signer,
    /// which `crate::sign` tests: any changed byte or other key gives another value.
    fn fake_sign(key: &str, message: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new().chain_update(key.as_bytes()).chain_update(message).finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn fake_verify(key: &str, message: &[u8], signature: &str) -> bool {
        fake_sign(key, message) == signature
    }

    fn url(s: &str) -> PortalUrl {
        PortalUrl::parse("url", s, false).unwrap()
    }

    fn collaboration() -> Collaboration {
        let host = Portal {
            id: PortalId::parse("id", "host-portal").unwrap(),
            url: url("https://host.example/portal"),
            name: "Host".into(),
        };
        let contact = Contact::parse("Ada", "Admin", "ada@host.example").unwrap();
        let c = Collaboration::create(host, "Flood data", None, Workspace::create("Maps", None).unwrap(), contact, T0)
            .unwrap();
        c.add_workspace(Workspace::create("Layers", Some("raw")).unwrap(), T0).unwrap()
    }

    fn invite(c: &Collaboration) -> (CollaborationInvitation, Secret, String) {
        let access = c
            .access(&[
                (c.workspaces[0].id.to_string(), "send".into()),
                (c.workspaces[1].id.to_string(), "sendAndReceive".into()),
            ])
            .unwrap();
        let (request, nonce) =
            CollaborationInvitation::request(c, url("https://guest.example"), &access, "host-key".into(), T0, 24)
                .unwrap();
        let payload = serde_json::to_string(&request).unwrap();
        let signature = fake_sign("host-key", payload.as_bytes());
        let invitation = CollaborationInvitation::issued(request, access, signature.clone(), &nonce, "sealed".into());
        let file = invitation.file(&nonce);
        (invitation, nonce, file)
    }

    #[test]
    fn urls_and_ids_are_checked() {
        assert_eq!(url("https://Guest.Example:7443/arcgis/").as_str(), "https://guest.example:7443/arcgis");
        assert_eq!(url("https://guest.example/arcgis").host(), "guest.example");
        for bad in
            ["http://guest.example", "ftp://x.example", "https://u:p@x.example", "https://x.example/?a=1", "nope"]
        {
            assert!(PortalUrl::parse("guestPortalUrl", bad, false).is_err(), "{bad}");
        }
        assert!(PortalUrl::parse("url", "http://127.0.0.1:3000", true).is_ok());
        let id = CollaborationId::new();
        assert_eq!(CollaborationId::parse("id", &id.to_string()).unwrap(), id);
        assert!(CollaborationId::parse("id", "3fa85f64-5717-4562-b3fc-2c963f66afa6").is_err());
        assert!(AccessMode::parse("write").is_err());
    }

    #[test]
    fn access_names_only_the_collaborations_workspaces() {
        let c = collaboration();
        assert!(c.access(&[]).is_err());
        assert!(c.access(&[(WorkspaceId::new().to_string(), "send".into())]).is_err());
        let w = c.workspaces[0].id.to_string();
        assert!(c.access(&[(w.clone(), "send".into()), (w.clone(), "receive".into())]).is_err());
        assert!(c.access(&[(w.clone(), "everything".into())]).is_err());
        assert_eq!(c.access(&[(w, "receive".into())]).unwrap()[0].1, AccessMode::Receive);
    }

    #[test]
    fn the_guest_accepts_only_an_intact_live_file_meant_for_it() {
        let c = collaboration();
        let (invitation, nonce, file) = invite(&c);
        let guest = url("https://guest.example");
        let request = open_invitation(&file, &guest, T0, &fake_verify).unwrap();
        assert_eq!((request.id, request.nonce.as_str()), (invitation.id, nonce.expose()));
        assert_eq!(
            invitation.signed_request(&nonce),
            serde_json::to_string(&request).unwrap(),
            "rebuilt byte for byte"
        );
        assert!(invitation.request.nonce.is_empty(), "the record keeps no nonce in clear");

        let tampered = file.replacen("Flood data", "Flood dat4", 1);
        assert_eq!(
            open_invitation(&tampered, &guest, T0, &fake_verify),
            Err(CollaborationError::BadSignature("invitation file"))
        );
        let other_key = file.replacen("\"publicKey\":\"host-key\"", "\"publicKey\":\"evil-key\"", 1);
        assert_eq!(
            open_invitation(&other_key, &guest, T0, &fake_verify),
            Err(CollaborationError::BadSignature("invitation file"))
        );
        assert!(matches!(
            open_invitation(&file, &url("https://other.example"), T0, &fake_verify),
            Err(CollaborationError::OtherGuest { .. })
        ));
        assert!(matches!(
            open_invitation(&file, &guest, T0.plus_minutes(24 * 60), &fake_verify),
            Err(CollaborationError::Expired(_))
        ));
        for garbage in ["", "{}", "[1]", "{\"invitationRequest\":{}}", &"x".repeat(MAX_FILE_BYTES + 1)] {
            assert!(
                matches!(open_invitation(garbage, &guest, T0, &fake_verify), Err(CollaborationError::BadFile(..))),
                "{garbage:.20}"
            );
        }
    }

    /// Signs `request` anew with `key`, as a forger who changed it would.
    fn resign(request: &InvitationRequest, key: &str) -> String {
        let mut request = request.clone();
        request.public_key = key.into();
        let payload = serde_json::to_string(&request).unwrap();
        signed_file("invitationRequest", &payload, &fake_sign(key, payload.as_bytes()))
    }

    #[test]
    fn the_guest_refuses_an_http_host_and_a_longer_expiry_than_a_host_gives() {
        let c = collaboration();
        let (_, _, file) = invite(&c);
        let guest = url("https://guest.example");
        let request = open_invitation(&file, &guest, T0, &fake_verify).unwrap();
        let mut http = request.clone();
        http.host_portal_url = PortalUrl::parse("url", "http://host.example", true).unwrap();
        let refused = open_invitation(&resign(&http, "forger"), &guest, T0, &fake_verify);
        assert!(matches!(&refused, Err(CollaborationError::Invalid(m)) if m.contains("https")), "{refused:?}");
        let mut long = request.clone();
        long.expiration = T0.plus_minutes(31 * 365 * 24 * 60).millis();
        let refused = open_invitation(&resign(&long, "forger"), &guest, T0, &fake_verify);
        assert!(matches!(&refused, Err(CollaborationError::Invalid(m)) if m.contains("hours")), "{refused:?}");
        let mut longest = request;
        longest.expiration = T0.plus_minutes(MAX_EXPIRATION_HOURS * 60).millis();
        assert!(open_invitation(&resign(&longest, "host-key"), &guest, T0, &fake_verify).is_ok(), "the cap itself");
    }

    #[test]
    fn a_key_is_confirmed_only_by_its_portal_or_its_fingerprint_and_never_changes_once_pinned() {
        let portal = url("https://host.example");
        let (key, other) = ("AAAA", "BBBB");
        let fingerprint = KeyFingerprint::of_key(key).unwrap();
        let wrong = KeyFingerprint::of_key(other).unwrap();
        let evidence = |published, fingerprint, pinned| KeyEvidence {
            what: "invitation file",
            parameter: "hostKeyFingerprint",
            portal: &portal,
            file_key: key,
            published,
            fingerprint,
            pinned,
        };
        assert_eq!(confirm_key(&evidence(Ok(key), None, None)), Ok(fingerprint.clone()));
        assert!(matches!(
            confirm_key(&evidence(Ok(other), None, None)),
            Err(CollaborationError::NotPublishedKey { .. })
        ));
        assert!(matches!(confirm_key(&evidence(Err("down"), None, None)), Err(CollaborationError::Unconfirmed { .. })));
        assert_eq!(confirm_key(&evidence(Err("down"), Some(&fingerprint), None)), Ok(fingerprint.clone()));
        for published in [Ok(key), Err("down")] {
            assert!(matches!(
                confirm_key(&evidence(published, Some(&wrong), None)),
                Err(CollaborationError::FingerprintMismatch { .. })
            ));
            assert!(matches!(
                confirm_key(&evidence(published, Some(&fingerprint), Some(other))),
                Err(CollaborationError::KeyChanged { .. })
            ));
        }
        assert_eq!(confirm_key(&evidence(Ok(key), None, Some(key))), Ok(fingerprint.clone()));
        let upper = fingerprint.as_str().to_ascii_uppercase();
        let spelled: Vec<&str> = (0..32).map(|i| &upper[i * 2..i * 2 + 2]).collect();
        assert_eq!(KeyFingerprint::parse("p", &spelled.join(":")), Ok(fingerprint));
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert!(KeyFingerprint::parse("p", bad).is_err(), "{bad}");
        }
    }

    fn response_to(request: &InvitationRequest, nonce: &str, from: &str) -> InvitationResponse {
        InvitationResponse {
            invitation_id: request.id,
            collaboration_id: request.collaboration_id,
            nonce: nonce.into(),
            guest_portal_id: PortalId::parse("id", "guest-portal").unwrap(),
            guest_portal_url: url(from),
            guest_portal_name: "Guest".into(),
            public_key: "guest-key".into(),
            contact_firstname: "Gil".into(),
            contact_lastname: "Guest".into(),
            contact_email_address: "gil@guest.example".into(),
            created: T0.millis(),
        }
    }

    #[test]
    fn the_host_imports_a_response_once_and_never_after_invalidate_refresh_or_expiry() {
        let c = collaboration();
        let (invitation, nonce, file) = invite(&c);
        let request = open_invitation(&file, &url("https://guest.example"), T0, &fake_verify).unwrap();
        let response = response_to(&request, nonce.expose(), "https://guest.example");
        let payload = serde_json::to_string(&response).unwrap();
        let response_file = signed_file("invitationResponse", &payload, &fake_sign("guest-key", payload.as_bytes()));
        let read = open_response(&response_file, &fake_verify).unwrap();
        let imported = invitation.import(&read, T0).unwrap();
        assert_eq!(
            (imported.status, imported.guest_portal_id.as_ref().map(PortalId::as_str)),
            (InvitationStatus::Imported, Some("guest-portal"))
        );
        assert_eq!(imported.import(&read, T0), Err(CollaborationError::NotLive("host_imported")), "only once");

        assert_eq!(
            invitation.invalidate(T0).unwrap().import(&read, T0),
            Err(CollaborationError::NotLive("host_invalidated"))
        );
        assert!(matches!(invitation.import(&read, invitation.expiration), Err(CollaborationError::Expired(_))));
        let (fresh, fresh_nonce) = invitation.refresh_request("host-key".into(), T0.plus_minutes(60)).unwrap();
        assert_eq!(fresh.expiration, T0.plus_minutes(60 + REFRESH_HOURS * 60).millis());
        let refreshed = invitation.refreshed(fresh, "sig".into(), &fresh_nonce, "sealed".into(), T0.plus_minutes(60));
        assert_eq!(
            refreshed.import(&read, T0.plus_minutes(61)),
            Err(CollaborationError::UnknownResponse),
            "the old file died"
        );

        let wrong_nonce = response_to(&request, "guess", "https://guest.example");
        assert_eq!(invitation.import(&wrong_nonce, T0), Err(CollaborationError::UnknownResponse));
        let elsewhere = response_to(&request, nonce.expose(), "https://elsewhere.example");
        assert!(matches!(invitation.import(&elsewhere, T0), Err(CollaborationError::OtherGuest { .. })));
        let tampered = response_file.replacen("Gil", "Eve", 1);
        assert_eq!(open_response(&tampered, &fake_verify), Err(CollaborationError::BadSignature("response file")));
    }
}
