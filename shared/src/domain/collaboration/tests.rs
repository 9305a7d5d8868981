//! The collaboration rules and files, each with an injected clock and a stand-in verifier.

use super::*;
use crate::domain::Secret;

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
    let c =
        Collaboration::create(host, "Flood data", None, Workspace::create("Maps", None).unwrap(), contact, T0).unwrap();
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
        CollaborationInvitation::request(c, url("https://guest.example"), &access, "host-key".into(), T0, 24).unwrap();
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
    for bad in ["http://guest.example", "ftp://x.example", "https://u:p@x.example", "https://x.example/?a=1", "nope"] {
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
    assert_eq!(invitation.signed_request(&nonce), serde_json::to_string(&request).unwrap(), "rebuilt byte for byte");
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
    assert!(matches!(confirm_key(&evidence(Ok(other), None, None)), Err(CollaborationError::NotPublishedKey { .. })));
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
