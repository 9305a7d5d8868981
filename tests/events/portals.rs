//! The portal world: two deployments of rsvp configured as portals, each with its own fixture signing key. The
//! owner's portal hosts collaboration `eefa7ebb…` ("Flood Response", one workspace) and invites the guest's
//! portal; the guest's portal accepts and answers with its response file, which the host imports. Each portal
//! event is sent to one of the two at a [`PortalMoment`]; [`invitation_file`] and [`response_file`] are the files
//! in the events, byte for byte, and [`send_portal`] runs a portal route's sample event.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Response};
use rsvp::app::{App, Config};
use rsvp::domain::collaboration::{
    AccessMode, Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Contact,
    InvitationRequest, InvitationResponse, Participant, Portal, PortalId, PortalUrl, Side, Workspace, WorkspaceId,
    signed_file,
};
use rsvp::domain::{FixedClock, Secret};
use rsvp::routes::Route;
use rsvp::sign::{LOCAL_KEY_FILE, LocalSigner, PublicKey, Signer};
use rsvp::store::PortalStore;
use rsvp::store::memory::MemoryStore;

use crate::sample::{NOW, request};

/// The owner's portal (`RSVP_PORTAL_*`), which hosts the collaboration.
pub(crate) const HOST_PORTAL: &str = "owner-portal";
pub(crate) const HOST_URL: &str = "https://portal.owner.example";
pub(crate) const HOST_NAME: &str = "Owner Corp portal";
/// The guest's portal, which the host invites.
pub(crate) const GUEST_PORTAL: &str = "guest-portal";
pub(crate) const GUEST_URL: &str = "https://portal.guest.example";
pub(crate) const GUEST_NAME: &str = "Guest Ltd portal";
/// The collaboration, its workspace and the host's invitation of the guest portal (ArcGIS ids: 32 hex digits).
pub(crate) const COLLABORATION: &str = "eefa7ebb30aa435382cc9b27ffa95e3e";
pub(crate) const WORKSPACE: &str = "b2f1c6d84e0a4f3b9c7d5e1a0f2b4c68";
pub(crate) const COLLABORATION_INVITATION: &str = "4c2d9e7f1b8a4e6d9f0c3b5a7d1e2f48";
/// The secret nonce in the host's invitation file, which the guest's response echoes.
pub(crate) const NONCE: &str = "Tq8Vn2Lx5Rk9Wb3Hm7Zc1Fp4Jd6Gs0Ya8Ue2Oi5Kt7Q";
/// The portals' signing keys (PKCS#8 DER, base64): fixture keys made for these events only, which signed the files
/// in them (a deployed portal's key never leaves KMS). The local signer's ECDSA is deterministic (RFC 6979), so a
/// file signed again with them is byte for byte the one in the event.
pub(crate) const HOST_SIGNING_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbthWSC3ryzgVKb7vgRKah/+g8woMCh0uttY1Vol4iwihRANCAASpTzAwPeBr3b/oEidAFs1L28pY0jo6ZXWF+ivaPN/EVaB5OmJlueDF/dGmGjZ4A2p35dGPgKvKKhR6k4FgZxM4";
pub(crate) const GUEST_SIGNING_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkd+n9sw50os/r7S3Y7B1yrk7jEQDjjB9jRSHK/1Q/gShRANCAARiu7G9TUlclU22GY7AjfnI5oO8ayykNNjN3SZl+5FaHVV6G3or7ng3eq8R8n7qKTrqEMSe6H98cCVBHDi8Lm2d";

/// How far the portals' story has got when a portal event is sent, and to which portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortalMoment {
    /// The host portal, which hosts nothing yet.
    HostEmpty,
    /// The host portal hosts the collaboration and has invited no one.
    HostCollaboration,
    /// ...and has invited the guest portal an hour ago, for 24 hours: the invitation is live.
    HostInvited,
    /// ...and has imported the guest's response: the guest portal takes part.
    HostJoined,
    /// The guest portal, holding the host's invitation file; it keeps nothing yet.
    GuestInvited,
    /// The guest portal, which accepted the invitation half an hour ago.
    GuestJoined,
}

pub(crate) fn portal_url(url: &str) -> PortalUrl {
    PortalUrl::parse("url", url, false).unwrap()
}

pub(crate) fn host_portal() -> Portal {
    Portal { id: PortalId::parse("id", HOST_PORTAL).unwrap(), url: portal_url(HOST_URL), name: HOST_NAME.into() }
}

pub(crate) fn guest_portal() -> Portal {
    Portal { id: PortalId::parse("id", GUEST_PORTAL).unwrap(), url: portal_url(GUEST_URL), name: GUEST_NAME.into() }
}

pub(crate) fn collaboration_id() -> CollaborationId {
    CollaborationId::parse("collaborationId", COLLABORATION).unwrap()
}

pub(crate) fn workspace_id() -> WorkspaceId {
    WorkspaceId::parse("workspace", WORKSPACE).unwrap()
}

pub(crate) fn collaboration_invitation_id() -> CollaborationInvitationId {
    CollaborationInvitationId::parse("invitationId", COLLABORATION_INVITATION).unwrap()
}

/// A portal's signer with its fixture key, loaded as the local server loads its key file.
fn signer(pkcs8: &str) -> LocalSigner {
    let dir = std::env::temp_dir().join(format!("rsvp-events-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(LOCAL_KEY_FILE), STANDARD.decode(pkcs8).unwrap()).unwrap();
    let signer = LocalSigner::load_or_create(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    signer
}

pub(crate) async fn public_key(pkcs8: &str) -> String {
    signer(pkcs8).public_key().await.unwrap().to_base64()
}

/// Whether `signature` (base64) is `key`'s (base64 SubjectPublicKeyInfo) over `message`, as a portal checks a file.
pub(crate) fn verifies(key: &str, message: &[u8], signature: &str) -> bool {
    let (Ok(key), Ok(signature)) = (PublicKey::from_base64(key), STANDARD.decode(signature)) else { return false };
    key.verify(message, &signature)
}

pub(crate) fn host_contact() -> Contact {
    Contact::parse("Olivia", "Owner", "admin@owner.example").unwrap()
}

pub(crate) fn guest_contact() -> Contact {
    Contact::parse("Bob", "Guest", "bob@guest.example").unwrap()
}

/// The collaboration as its host made it a week ago, with one workspace.
fn host_collaboration() -> Collaboration {
    let mut workspace = Workspace::create("Incident maps", Some("Flood extents and road closures.")).unwrap();
    workspace.id = workspace_id();
    let description = Some("Maps shared with partner portals during floods.");
    let created = NOW.plus_days(-7);
    let mut c = Collaboration::create(host_portal(), "Flood Response", description, workspace, host_contact(), created)
        .unwrap();
    c.id = collaboration_id();
    c
}

/// The guest portal's access: send and receive in the one workspace.
pub(crate) fn guest_access() -> Vec<(WorkspaceId, AccessMode)> {
    vec![(workspace_id(), AccessMode::SendAndReceive)]
}

/// The host's invitation of the guest portal, made an hour ago for 24 hours, as `inviteParticipant` signs it (with
/// the events' id and nonce): the request, its signature and the file the guest was sent.
pub(crate) async fn invitation_file() -> (InvitationRequest, String, String) {
    let host = signer(HOST_SIGNING_KEY);
    let key = host.public_key().await.unwrap().to_base64();
    let (mut request, _) = CollaborationInvitation::request(
        &host_collaboration(),
        portal_url(GUEST_URL),
        &guest_access(),
        key,
        NOW.plus_minutes(-60),
        24,
    )
    .unwrap();
    request.id = collaboration_invitation_id();
    request.nonce = NONCE.to_owned();
    let payload = serde_json::to_string(&request).unwrap();
    let signature = STANDARD.encode(host.sign(payload.as_bytes()).await.unwrap());
    let file = signed_file("invitationRequest", &payload, &signature);
    (request, signature, file)
}

/// The guest's response, as `exportInvitationResponse` writes it at [`NOW`], and the signed file.
pub(crate) async fn response_file() -> (InvitationResponse, String) {
    let guest = signer(GUEST_SIGNING_KEY);
    let contact = guest_contact();
    let response = InvitationResponse {
        invitation_id: collaboration_invitation_id(),
        collaboration_id: collaboration_id(),
        nonce: NONCE.to_owned(),
        guest_portal_id: guest_portal().id,
        guest_portal_url: guest_portal().url,
        guest_portal_name: GUEST_NAME.to_owned(),
        public_key: guest.public_key().await.unwrap().to_base64(),
        contact_firstname: contact.first_name,
        contact_lastname: contact.last_name,
        contact_email_address: contact.email.to_string(),
        created: NOW.millis(),
    };
    let payload = serde_json::to_string(&response).unwrap();
    let signature = STANDARD.encode(guest.sign(payload.as_bytes()).await.unwrap());
    (response, signed_file("invitationResponse", &payload, &signature))
}

/// A fresh store holding the portal world at `moment`, and the app of the portal it is (with that portal's key).
async fn portal_world(moment: PortalMoment) -> (Arc<App>, Arc<MemoryStore>) {
    use PortalMoment::*;
    let store = Arc::new(MemoryStore::new());
    let on_host = matches!(moment, HostEmpty | HostCollaboration | HostInvited | HostJoined);
    let (this, key) = if on_host { (host_portal(), HOST_SIGNING_KEY) } else { (guest_portal(), GUEST_SIGNING_KEY) };
    let config = Config { portal: Some(this), ..Config::default() };
    let app =
        App::new(store.clone(), config).with_clock(Arc::new(FixedClock::at(NOW))).with_signer(Arc::new(signer(key)));
    let nonce = Secret::presented(NONCE);
    let sealed = app.sealer.seal(collaboration_invitation_id().as_invitation_id(), &nonce).await.unwrap();
    let (request, signature, _) = invitation_file().await;
    match moment {
        HostEmpty | GuestInvited => {}
        HostCollaboration | HostInvited | HostJoined => {
            store.put_collaboration(&host_collaboration(), None).await.unwrap();
            if moment != HostCollaboration {
                let invitation = CollaborationInvitation::issued(request, guest_access(), signature, &nonce, sealed);
                store.create_collaboration_invitation(&invitation).await.unwrap();
                if moment == HostJoined {
                    let (response, _) = response_file().await;
                    let imported = invitation.import(&response, NOW).unwrap();
                    let guest = Participant {
                        collaboration_id: collaboration_id(),
                        portal: guest_portal(),
                        side: Side::Guest,
                        public_key: response.public_key.clone(),
                        contact: guest_contact(),
                        access: guest_access(),
                        invitation_id: invitation.id,
                        joined: NOW,
                        sealed_nonce: None,
                        host_portal_id: Some(host_portal().id),
                    };
                    store.update_collaboration_invitation(&imported, invitation.version, Some(&guest)).await.unwrap();
                }
            }
        }
        GuestJoined => {
            let at = NOW.plus_minutes(-30);
            let joined = Collaboration::joined(&request, guest_contact(), at).unwrap();
            let host = Participant {
                collaboration_id: collaboration_id(),
                portal: host_portal(),
                side: Side::Host,
                public_key: request.public_key.clone(),
                contact: host_contact(),
                access: guest_access(),
                invitation_id: collaboration_invitation_id(),
                joined: at,
                sealed_nonce: Some(sealed),
                host_portal_id: None,
            };
            store.join_collaboration(&joined, &host).await.unwrap();
        }
    }
    (Arc::new(app), store)
}

/// Runs a portal route on its sample event against the portal world at `moment`.
pub(crate) async fn send_portal(route: &Route, moment: PortalMoment) -> (Response<Body>, Arc<App>, Arc<MemoryStore>) {
    let request = request(route);
    let (app, store) = portal_world(moment).await;
    (route.call(app.clone(), request).await, app, store)
}
