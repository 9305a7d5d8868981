//! What each portal route's sample event must get: the portal and [`PortalMoment`] it is written for, its status,
//! and what the answer (a document, a signed file) or the portal's store afterwards must show.

use lambda_http::http::StatusCode;
use rsvp::domain::Secret;
use rsvp::domain::collaboration::{
    AccessMode, CollaborationId, InvitationRequest, InvitationResponse, InvitationStatus, PortalId, Side,
};
use rsvp::routes::Route;
use rsvp::store::PortalStore;
use serde_json::Value;

use crate::portals::{
    COLLABORATION, COLLABORATION_INVITATION, GUEST_NAME, GUEST_PORTAL, GUEST_SIGNING_KEY, GUEST_URL, HOST_NAME,
    HOST_PORTAL, HOST_SIGNING_KEY, HOST_URL, NONCE, PortalMoment, WORKSPACE, collaboration_id,
    collaboration_invitation_id, guest_access, guest_contact, guest_portal, host_contact, host_portal, invitation_file,
    portal_url, public_key, response_file, send_portal, verifies, workspace_id,
};
use crate::sample::{NOW, body_text, download, event_form, form_value, json, signed_parts};

/// As [`crate::api_answers::check`], for the portal routes: the portal and moment each event is written for, and
/// what it must show.
pub(crate) async fn check_portal(route: &Route) {
    use PortalMoment::*;
    let op = route.operation;
    let moment = match op {
        "get_portal_self"
        | "create_collaboration"
        | "get_portal_root"
        | "get_portal_info"
        | "get_portal_user"
        | "get_portal_admin"
        | "portal_not_found" => HostEmpty,
        "list_collaborations" | "get_collaboration" | "add_workspace" | "invite_participant" => HostCollaboration,
        "list_participants" | "remove_participant" | "list_workspaces" | "get_workspace" | "get_participant" => {
            HostJoined
        }
        "validate_collaboration_invitation" | "accept_collaboration_invitation" => GuestInvited,
        "export_invitation_response" | "remove_participation" => GuestJoined,
        _ => HostInvited,
    };
    let (response, app, store) = send_portal(route, moment).await;
    let status = response.status();
    let body_text = body_text(&response);
    // The one event whose answer is a refusal: a path no portal resource has.
    let wanted = if op == "portal_not_found" { StatusCode::NOT_FOUND } else { StatusCode::OK };
    assert_eq!(status, wanted, "{op}: unexpected status; body: {body_text}");
    let collaboration = collaboration_id();
    let (_, _, invitation_file) = invitation_file().await;
    let (_, response_file) = response_file().await;
    match op {
        "get_portal_self" => {
            // Public: other portals read the key that checks this portal's files.
            let body = json(&response);
            assert_eq!(body["id"], HOST_PORTAL);
            assert_eq!(body["name"], HOST_NAME);
            assert_eq!(body["url"], HOST_URL);
            assert_eq!(body["publicKey"], public_key(HOST_SIGNING_KEY).await);
            let (payload, _) = signed_parts(&invitation_file, "invitationRequest");
            let request: Value = serde_json::from_str(&payload).unwrap();
            assert_eq!(body["publicKey"], request["publicKey"], "the key in the host's invitation file");
            assert_eq!(body["portalName"], HOST_NAME);
            assert!(body.get("user").is_none(), "an anonymous caller is named nowhere");
        }
        "create_collaboration" => {
            let body = json(&response);
            assert_eq!(body["success"], true);
            let c = &body["collaboration"];
            assert_eq!(c["name"], "Wildfire Watch");
            assert_eq!(c["participantType"], "host");
            assert_eq!(c["collaborationHostPortalId"], HOST_PORTAL);
            assert_eq!(c["workspaces"][0]["name"], "Fire perimeters");
            assert_eq!(c["created"], NOW.millis());
            let id = CollaborationId::parse("id", c["id"].as_str().unwrap()).unwrap();
            let stored = store.get_collaboration(id).await.unwrap().expect("the collaboration was stored");
            assert_eq!(stored.host_contact, host_contact());
            assert_eq!(stored.side, Side::Host);
        }
        "list_collaborations" => {
            let body = json(&response);
            assert_eq!(
                (body["total"].as_u64(), body["start"].as_u64(), body["nextStart"].as_i64()),
                (Some(1), Some(1), Some(-1))
            );
            assert_eq!(body["collaborations"][0]["id"], COLLABORATION);
            assert_eq!(body["collaborations"][0]["name"], "Flood Response");
        }
        "get_collaboration" => {
            let body = json(&response);
            assert_eq!(body["id"], COLLABORATION);
            assert_eq!(body["participantType"], "host");
            assert_eq!(body["workspaces"][0]["id"], WORKSPACE);
            assert_eq!(body["workspaces"][0]["name"], "Incident maps");
        }
        "add_workspace" => {
            let body = json(&response);
            assert_eq!(body["workspace"]["name"], "Shelters");
            let stored = store.get_collaboration(collaboration).await.unwrap().unwrap();
            let names: Vec<_> = stored.workspaces.iter().map(|w| w.name.as_str()).collect();
            assert_eq!(names, ["Incident maps", "Shelters"]);
            assert_eq!(stored.version, 2);
        }
        "invite_participant" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.invite");
            let (payload, signature) = signed_parts(&file, "invitationRequest");
            let request: InvitationRequest = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&request.public_key, payload.as_bytes(), &signature), "signed with its own key");
            assert_eq!(request.public_key, public_key(HOST_SIGNING_KEY).await, "by the host portal");
            assert_eq!(request.guest_portal_url, portal_url(GUEST_URL));
            assert_eq!(request.collaboration_id, collaboration);
            assert_eq!(request.expiration, NOW.plus_minutes(24 * 60).millis());
            let access = &request.collaboration_workspace_configs.access_mode;
            assert_eq!((access.len(), access[0].collaboration_workspace_id), (1, workspace_id()));
            assert_eq!(access[0].access_mode, AccessMode::SendAndReceive);
            let stored = store.list_collaboration_invitations(collaboration).await.unwrap();
            assert_eq!(stored.len(), 1);
            assert_eq!(stored[0].id, request.id);
            assert!(
                stored[0].nonce_hash.verifies(&Secret::presented(&request.nonce)),
                "the file's nonce is kept hashed"
            );
            assert!(stored[0].request.nonce.is_empty(), "and not in clear");
        }
        "list_collaboration_invitations" => {
            let body = json(&response);
            assert_eq!(body["total"], 1);
            let invitation = &body["collaborationInvitations"][0];
            assert_eq!(invitation["id"], COLLABORATION_INVITATION);
            assert_eq!(invitation["status"], "host_created");
            assert_eq!(invitation["guestPortalUrl"], GUEST_URL);
            assert!(invitation.get("invitationString").is_none() && !body_text.contains(NONCE), "lists carry no file");
        }
        "get_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["id"], COLLABORATION_INVITATION);
            assert_eq!(body["status"], "host_created");
            assert_eq!(body["config"]["invitationRequestFilename"], "collaboration-portal.guest.example.invite");
            // Rebuilt byte for byte: the very file the guest portal's accept event carries.
            let accepted = event_form(&rsvp::routes::ACCEPT_COLLABORATION_INVITATION);
            assert_eq!(body["invitationString"], form_value(&accepted, "invitationJSON"));
            assert_eq!(body["invitationString"], invitation_file.as_str());
        }
        "invalidate_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["success"], true);
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Invalidated);
        }
        "refresh_collaboration_invitation" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.invite");
            let (payload, signature) = signed_parts(&file, "invitationRequest");
            let request: InvitationRequest = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&public_key(HOST_SIGNING_KEY).await, payload.as_bytes(), &signature));
            assert_eq!(request.id, collaboration_invitation_id(), "the same invitation");
            assert_eq!(request.expiration, NOW.plus_minutes(72 * 60).millis(), "72 hours from now");
            assert_ne!(request.nonce, NONCE, "a new nonce");
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert!(stored.nonce_hash.verifies(&Secret::presented(&request.nonce)));
            assert!(!stored.nonce_hash.verifies(&Secret::presented(NONCE)), "the old file, and its response, died");
            assert_eq!(stored.expiration, NOW.plus_minutes(72 * 60));
        }
        "validate_collaboration_invitation" => {
            // The guest portal checks the host's file (signature, expiry, addressee, and the key by the fingerprint
            // its administrator passed: the host is not reachable from here) and keeps nothing.
            let fingerprint =
                form_value(&event_form(&rsvp::routes::VALIDATE_COLLABORATION_INVITATION), "hostKeyFingerprint");
            assert_eq!(json(&response), serde_json::json!({"success": true, "hostKeyFingerprint": fingerprint}));
            assert!(store.list_collaborations().await.unwrap().is_empty());
        }
        "accept_collaboration_invitation" => {
            let body = json(&response);
            assert_eq!(body["collaborationId"], COLLABORATION);
            let joined = store.get_collaboration(collaboration).await.unwrap().expect("the guest keeps it");
            assert_eq!(joined.side, Side::Guest);
            assert_eq!(joined.host, host_portal());
            assert_eq!(joined.guest_contact, Some(guest_contact()));
            let participants = store.list_participants(collaboration).await.unwrap();
            assert_eq!(participants.len(), 1);
            let host = &participants[0];
            assert_eq!((host.portal.id.as_str(), host.side), (HOST_PORTAL, Side::Host));
            assert_eq!(host.public_key, public_key(HOST_SIGNING_KEY).await);
            let sealed = host.sealed_nonce.as_deref().expect("the nonce, sealed for the response");
            assert!(!sealed.contains(NONCE));
            let opened = app.sealer.unseal(collaboration_invitation_id().as_invitation_id(), sealed).await.unwrap();
            assert_eq!(opened.expose(), NONCE);
        }
        "export_invitation_response" => {
            let (name, file) = download(&response);
            assert_eq!(name, "collaboration-portal.guest.example.response");
            let (payload, signature) = signed_parts(&file, "invitationResponse");
            let exported: InvitationResponse = serde_json::from_str(&payload).unwrap();
            assert!(verifies(&public_key(GUEST_SIGNING_KEY).await, payload.as_bytes(), &signature));
            assert_eq!((exported.invitation_id, exported.nonce.as_str()), (collaboration_invitation_id(), NONCE));
            assert_eq!(exported.guest_portal_id.as_str(), GUEST_PORTAL);
            // The very response the host portal's import event carries.
            let imported = event_form(&rsvp::routes::IMPORT_INVITATION_RESPONSE);
            let (wanted, _) = signed_parts(&form_value(&imported, "invitationResponseJSON"), "invitationResponse");
            assert_eq!(payload, wanted);
            assert_eq!(file, response_file);
        }
        "validate_invitation_response" => {
            let fingerprint =
                form_value(&event_form(&rsvp::routes::VALIDATE_INVITATION_RESPONSE), "guestKeyFingerprint");
            assert_eq!(json(&response), serde_json::json!({"success": true, "guestKeyFingerprint": fingerprint}));
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Created, "validating imports nothing");
            assert!(store.list_participants(collaboration).await.unwrap().is_empty());
        }
        "import_invitation_response" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            let stored = store
                .get_collaboration_invitation(collaboration, collaboration_invitation_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, InvitationStatus::Imported);
            assert_eq!(stored.guest_portal_id.as_ref().map(PortalId::as_str), Some(GUEST_PORTAL));
            let participants = store.list_participants(collaboration).await.unwrap();
            assert_eq!(participants.len(), 1);
            assert_eq!((participants[0].portal.clone(), participants[0].side), (guest_portal(), Side::Guest));
            assert_eq!(participants[0].contact, guest_contact());
            assert_eq!(participants[0].access, guest_access());
        }
        "list_participants" => {
            let body = json(&response);
            assert_eq!(body["total"], 2, "the host itself and its guest");
            let host = &body["participants"][0];
            assert_eq!(host["portalInfo"]["id"], HOST_PORTAL);
            assert_eq!(host["collaborationRole"], "Host");
            assert_eq!(host["config"]["contactEmailAddress"], "admin@owner.example");
            let guest = &body["participants"][1];
            assert_eq!(guest["collaborationId"], COLLABORATION);
            assert_eq!(guest["portalInfo"]["id"], GUEST_PORTAL);
            assert_eq!(guest["portalInfo"]["url"], GUEST_URL);
            assert_eq!(guest["portalInfo"]["name"], GUEST_NAME);
            assert_eq!(guest["collaborationRole"], "Guest");
            assert_eq!(guest["status"], "active");
            assert_eq!(guest["config"]["contactEmailAddress"], "bob@guest.example");
            assert_eq!(guest["config"]["contactFirstname"], "Bob");
            assert_eq!(guest["created"], NOW.millis());
        }
        "get_participant" => {
            let body = json(&response);
            assert_eq!(body["portalInfo"]["id"], GUEST_PORTAL);
            assert_eq!(body["collaborationRole"], "Guest");
            assert_eq!(body["config"]["contactLastname"], "Guest");
        }
        "list_workspaces" | "get_workspace" => {
            let body = json(&response);
            let workspace = if op == "list_workspaces" {
                assert_eq!((body["total"].as_u64(), body["nextStart"].as_i64()), (Some(1), Some(-1)));
                body["workspaces"][0].clone()
            } else {
                body
            };
            assert_eq!(workspace["id"], WORKSPACE);
            assert_eq!(workspace["name"], "Incident maps");
            assert_eq!(workspace["collaborationId"], COLLABORATION);
            assert_eq!(
                workspace["participantsWithoutGroupLinks"],
                serde_json::json!([{"portalId": GUEST_PORTAL, "accessMode": "sendAndReceive"}])
            );
        }
        "get_portal_admin" => assert_eq!(json(&response)["resources"], serde_json::json!([])),
        "get_portal_root" => assert_eq!(json(&response)["currentVersion"], env!("CARGO_PKG_VERSION")),
        "get_portal_info" => {
            let body = json(&response);
            assert_eq!(body["authInfo"]["isTokenBasedSecurity"], true);
            assert_eq!(body["owningSystemUrl"], HOST_URL);
        }
        "get_portal_user" => {
            let body = json(&response);
            assert_eq!(body["username"], "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80");
            assert_eq!(body["email"], "admin@owner.example");
            assert_eq!(body["role"], "org_admin");
            assert_eq!(body["privileges"], serde_json::json!(["portal:admin:manageCollaborations"]));
            assert_eq!(body["orgId"], HOST_PORTAL);
        }
        "portal_not_found" => {
            let body = json(&response);
            assert_eq!(body["error"]["code"], 404);
            assert!(body["error"]["message"].as_str().unwrap().contains("/sharing/rest/content/items/"));
            assert!(body["error"]["details"].is_array());
        }
        "remove_participant" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            assert!(store.list_participants(collaboration).await.unwrap().is_empty());
            assert!(store.get_collaboration(collaboration).await.unwrap().is_some(), "the collaboration stays");
        }
        "remove_participation" => {
            assert_eq!(json(&response), serde_json::json!({"success": true}));
            assert!(store.get_collaboration(collaboration).await.unwrap().is_none(), "the guest forgot it");
            assert!(store.list_participants(collaboration).await.unwrap().is_empty(), "and its host");
        }
        other => panic!("{other} has no expectation here: add its sample event's expected answer"),
    }
}
