//! The portal-to-portal collaboration operations (the ArcGIS dialect), under `/sharing/rest/portals/{portalId}`.
//! Each is its own module; this module holds what they share: this portal's identity, the caller's role,
//! parameters and format, reading a collaboration, checking signatures, pinning the other portal's key, and the
//! dialect's paging.
//!
//! ## Whose key signed a file
//!
//! A file carries the key that signed it, so its signature alone shows only that someone holding *a* key wrote
//! it. `confirm_signer` ties that key to the portal the file names: the guest asks the host's `portals/self`
//! (at the file's `hostPortalUrl`), the host asks the guest's (at the URL it invited), through
//! [`crate::portal_keys`], and the key must be the published one. A portal that cannot be reached leaves the key
//! unconfirmed (a 400) unless the administrator passes its SHA-256 fingerprint, learnt out of band
//! (`hostKeyFingerprint`, `guestKeyFingerprint`); a fingerprint that is not the file key's is refused even when the
//! portal answers. The key is then pinned: the participant records it, and any later file from that portal URL
//! signed with another key is refused (a 409), even if the portal now publishes that other key.
//!
//! One deployment is one portal ([`crate::app::Config::portal`]); `{portalId}` is its id or `self`. Every
//! operation but the portal's own description needs a `PortalAdministrator`.

pub mod accept_collaboration_invitation;
pub mod add_workspace;
pub mod create_collaboration;
pub mod export_invitation_response;
pub mod get_collaboration;
pub mod get_collaboration_invitation;
pub mod get_participant;
pub mod get_portal_admin;
pub mod get_portal_info;
pub mod get_portal_root;
pub mod get_portal_self;
pub mod get_portal_user;
pub mod get_workspace;
pub mod import_invitation_response;
pub mod invalidate_collaboration_invitation;
pub mod invite_participant;
pub mod list_collaboration_invitations;
pub mod list_collaborations;
pub mod list_participants;
pub mod list_workspaces;
pub mod portal_not_found;
pub mod refresh_collaboration_invitation;
pub mod remove_participant;
pub mod remove_participation;
pub mod validate_collaboration_invitation;
pub mod validate_invitation_response;
mod wire;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use serde::Serialize;

use crate::app::App;
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, KeyEvidence, KeyFingerprint,
    Portal, PortalUrl, Side, confirm_key,
};
use crate::domain::{Principal, Role, Secret};
use crate::http::arcgis::{self, Format, Params};
use crate::http::{ApiError, request};
use crate::sign::PublicKey;

/// A portal request, read: this portal, the parameters and the answer's format.
pub(crate) struct PortalRequest<'a> {
    pub portal: &'a Portal,
    pub params: Params,
    pub format: Format,
}

/// This deployment's portal, or a 404 when it is not configured as one.
fn this_portal(app: &App) -> Result<&Portal, ApiError> {
    app.config
        .portal
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("This deployment is not configured as a portal.".into()))
}

/// Reads a request to a portal resource outside `portals/{portalId}` (`/sharing/rest`, `info`, `community/...`):
/// the deployment must be a portal; then the parameters and `f`.
pub(crate) async fn read_unscoped<'a>(app: &'a App, req: &Request) -> Result<PortalRequest<'a>, ApiError> {
    let portal = this_portal(app)?;
    let params = arcgis::params(req).await?;
    let format = Format::of(&params)?;
    Ok(PortalRequest { portal, params, format })
}

/// Reads a portal request: the deployment must be a portal and `{portalId}` this one (or `self`); then the
/// parameters and `f`.
pub(crate) async fn read<'a>(app: &'a App, req: &Request) -> Result<PortalRequest<'a>, ApiError> {
    let portal = this_portal(app)?;
    let named = request::path(req, "portalId", |_, v| Ok::<_, ApiError>(v.to_owned()))?;
    if named != "self" && named != portal.id.as_str() {
        let shown: String = named.chars().take(64).collect();
        return Err(ApiError::NotFound(format!("Portal {shown} was not found.")));
    }
    let params = arcgis::params(req).await?;
    let format = Format::of(&params)?;
    Ok(PortalRequest { portal, params, format })
}

/// As [`read`], for a `PortalAdministrator` only.
pub(crate) async fn read_as_admin<'a>(app: &'a App, req: &Request) -> Result<PortalRequest<'a>, ApiError> {
    let caller: Principal = request::principal(req, &app.config.claims)?;
    if !caller.has(Role::PortalAdministrator) {
        return Err(ApiError::Forbidden("This needs the PortalAdministrator role.".into()));
    }
    read(app, req).await
}

/// The portal's version, as `currentVersion` gives it: rsvp's own, not an ArcGIS Enterprise release it is not.
pub(crate) const CURRENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The signed-in caller as a portal user (`community/users/{username}`, and `user` in `portals/self`): the token's
/// subject is the username. A `PortalAdministrator` holds the one administrative privilege rsvp implements,
/// managing collaborations; anyone else holds none. rsvp keeps no profile, so no name, groups or dates.
pub(crate) fn user_body(portal: &Portal, caller: &Principal) -> serde_json::Value {
    let admin = caller.has(Role::PortalAdministrator);
    let privileges: &[&str] = if admin { &["portal:admin:manageCollaborations"] } else { &[] };
    let mut body = serde_json::json!({
        "username": caller.user.as_str(),
        "orgId": portal.id.as_str(),
        "role": if admin { "org_admin" } else { "org_user" },
        "privileges": privileges,
    });
    if let Some(email) = &caller.email {
        body["email"] = serde_json::Value::String(email.to_string());
    }
    body
}

/// The collaboration named in the path.
pub(crate) async fn collaboration(app: &App, req: &Request) -> Result<Collaboration, ApiError> {
    let id = request::path(req, "collaborationId", CollaborationId::parse)?;
    app.store
        .get_collaboration(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Collaboration {id} was not found.")))
}

/// The collaboration named in the path, if this portal hosts it.
pub(crate) async fn hosted(app: &App, req: &Request) -> Result<Collaboration, ApiError> {
    let c = collaboration(app, req).await?;
    if c.side != Side::Host {
        return Err(ApiError::Conflict(format!("This portal is a guest of collaboration {}, not its host.", c.id)));
    }
    Ok(c)
}

/// The collaboration named in the path, if this portal joined it as a guest.
pub(crate) async fn joined(app: &App, req: &Request) -> Result<Collaboration, ApiError> {
    let c = collaboration(app, req).await?;
    if c.side != Side::Guest {
        return Err(ApiError::Conflict(format!("This portal hosts collaboration {}; it is not a guest of it.", c.id)));
    }
    Ok(c)
}

/// The invitation named in the path, of a collaboration this portal hosts.
pub(crate) async fn hosted_invitation(
    app: &App,
    req: &Request,
) -> Result<(Collaboration, CollaborationInvitation), ApiError> {
    let c = hosted(app, req).await?;
    let id = request::path(req, "invitationId", CollaborationInvitationId::parse)?;
    let invitation = app
        .store
        .get_collaboration_invitation(c.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Invitation {id} was not found.")))?;
    Ok((c, invitation))
}

/// Signs `payload` with this portal's key: the signature, base64. A payload over what a signature may cover is the
/// caller's to shorten (a 400), not a fault of the service.
pub(crate) async fn sign(app: &App, payload: &str) -> Result<String, ApiError> {
    if payload.len() > crate::sign::MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!(
            "The invitation would be {} bytes, more than the {} a signature covers: invite the participant to fewer \
             workspaces, or shorten the collaboration's and workspaces' descriptions.",
            payload.len(),
            crate::sign::MAX_MESSAGE_BYTES
        )));
    }
    Ok(STANDARD.encode(app.signer.sign(payload.as_bytes()).await?))
}

/// Whether `signature` (base64) is `public_key`'s (base64 SPKI) over `message`: the check the files' readers use.
pub(crate) fn verifies(public_key: &str, message: &[u8], signature: &str) -> bool {
    let Ok(key) = PublicKey::from_base64(public_key) else { return false };
    let Ok(signature) = STANDARD.decode(signature.trim()) else { return false };
    key.verify(message, &signature)
}

/// The key this portal recorded for the portal at `url` when they first collaborated: the `public_key` of a
/// participant with that URL in any of its collaborations (the host on a guest, the guests on a host).
async fn pinned_key(app: &App, url: &PortalUrl) -> Result<Option<String>, ApiError> {
    for collaboration in app.store.list_collaborations().await? {
        let participants = app.store.list_participants(collaboration.id).await?;
        if let Some(known) = participants.into_iter().find(|p| &p.portal.url == url) {
            return Ok(Some(known.public_key));
        }
    }
    Ok(None)
}

/// Confirms that `file_key`, which signed the `what` (its signature already checked), is the key of the portal at
/// `portal`: the administrator's fingerprint (`parameter`, if given), the key pinned for that portal (if any) and
/// the key it publishes must all agree (see the module's doc). The key's fingerprint, when they do.
pub(crate) async fn confirm_signer(
    app: &App,
    params: &Params,
    what: &'static str,
    parameter: &'static str,
    portal: &PortalUrl,
    file_key: &str,
) -> Result<KeyFingerprint, ApiError> {
    let fingerprint = params.get(parameter).map(|v| KeyFingerprint::parse(parameter, v)).transpose()?;
    let pinned = pinned_key(app, portal).await?;
    let published = app.portal_keys.published_key(portal).await;
    let evidence = KeyEvidence {
        what,
        parameter,
        portal,
        file_key,
        published: published.as_deref().map_err(|e| e.0.as_str()),
        fingerprint: fingerprint.as_ref(),
        pinned: pinned.as_deref(),
    };
    Ok(confirm_key(&evidence)?)
}

/// The invitation's nonce, unsealed.
pub(crate) async fn nonce_of(app: &App, id: CollaborationInvitationId, sealed: &str) -> Result<Secret, ApiError> {
    Ok(app.sealer.unseal(id.as_invitation_id(), sealed).await?)
}

/// The dialect's paging: `start` (1-based, default 1) and `num` (1 to 100, default 10); the page of `items` with
/// `total`, `start`, `num` and `nextStart` (-1 on the last page) around it under `key`.
pub(crate) fn page<T: Serialize>(params: &Params, key: &str, items: Vec<T>) -> Result<serde_json::Value, ApiError> {
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a whole number from 1 to {max}."))),
        }
    };
    let start = number("start", 1, 100_000)?;
    let num = number("num", 10, 100)?;
    let total = items.len();
    let shown: Vec<T> = items.into_iter().skip(start - 1).take(num).collect();
    let next = if start - 1 + shown.len() < total { (start + shown.len()) as i64 } else { -1 };
    let mut body = serde_json::json!({"total": total, "start": start, "num": num, "nextStart": next});
    body[key] = serde_json::to_value(shown).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(body)
}

/// A file parameter given as an upload or as JSON text: `file` or `json` (e.g. `invitationFile` or
/// `invitationJSON`).
pub(crate) fn file_param<'p>(params: &'p Params, file: &str, json: &str) -> Result<&'p str, ApiError> {
    params
        .get(file)
        .or_else(|| params.get(json))
        .ok_or_else(|| ApiError::bad_request(format!("{file} or {json} is required.")))
}
