//! The signed files portals exchange: an invitation file (the host's request, signed with its key) and a response
//! file (the guest's answer, echoing the request's nonce, signed with the guest's key), and deciding whether the key
//! that signed one is its portal's ([`confirm_key`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{
    AccessMode, CLOCK_SKEW_MINUTES, CollaborationError, CollaborationId, CollaborationInvitationId,
    MAX_EXPIRATION_HOURS, MAX_FILE_BYTES, PortalId, PortalUrl, REFRESH_HOURS, WorkspaceId, invalid,
};
use crate::domain::Timestamp;

/// The signed part of an invitation file, in the reference API's field names and order.
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
