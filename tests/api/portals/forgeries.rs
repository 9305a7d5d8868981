//! Files altered, re-signed, forged, misaddressed or expired: each refused with its clear 4xx, and nothing changes.

use reqwest::StatusCode;
use rsvp::domain::collaboration::{
    CollaborationId, CollaborationInvitationId, InvitationRequest, InvitationResponse, KeyFingerprint,
};
use rsvp::sign::{LocalSigner, Signer};
use serde_json::json;

use super::{Pair, dynamodb, memory, sign_invitation, sign_response, signed_part};

rsvp_tests::against_both_stores!(
    tampered_foreign_misaddressed_and_expired_files_are_refused,
    altered_resigned_and_forged_invitations_are_refused,
    a_response_signed_by_an_unrelated_key_is_refused,
);

async fn tampered_foreign_misaddressed_and_expired_files_are_refused(Pair { host, guest, more }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;

    let one_byte = file.replacen("Flood response", "Flood responsf", 1);
    let validated = guest.upload("/validateCollaborationInvitation", "invitationFile", &one_byte, &[]).await;
    validated.assert_portal_error(StatusCode::BAD_REQUEST, "signature does not verify");
    guest.accept(&one_byte).await.assert_portal_error(StatusCode::BAD_REQUEST, "signature does not verify");

    // The guest's own key in place of the host's: the signature was made by another key.
    let guest_key = guest.described().await.body["publicKey"].as_str().unwrap().to_owned();
    let host_key = host.described().await.body["publicKey"].as_str().unwrap().to_owned();
    let foreign = file.replacen(&host_key, &guest_key, 1);
    guest.accept(&foreign).await.assert_portal_error(StatusCode::BAD_REQUEST, "signature does not verify");

    let elsewhere = more.start_at(Some("https://elsewhere.test")).await;
    elsewhere.accept(&file).await.assert_portal_error(StatusCode::BAD_REQUEST, &format!("is for {}", guest.portal_url));

    guest.clock.advance_minutes(24 * 60);
    guest.accept(&file).await.assert_portal_error(StatusCode::BAD_REQUEST, "expired");
    for garbage in ["", "not json", "{\"invitationRequest\": {}}", "{\"signature\": \"x\"}"] {
        let answer = guest.accept(garbage).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{garbage:?}: {}", answer.text);
    }
    assert!(guest.collaborations().await.is_empty(), "nothing was accepted");
}

/// A real invitation altered in transit (every workspace `sendAndReceive`, another host name) and re-signed with a
/// forger's key; a file forged from scratch with an `http://` host; one valid 31 years: each refused at validate
/// and at accept. The real file validates, shows the host's fingerprint, and is then refused as already joined.
async fn altered_resigned_and_forged_invitations_are_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    let forger = LocalSigner::ephemeral();

    let mut altered: InvitationRequest = signed_part(&file, "invitationRequest");
    for workspace in &mut altered.collaboration_workspace_configs.access_mode {
        workspace.access_mode = rsvp::domain::collaboration::AccessMode::SendAndReceive;
    }
    altered.host_portal_name = "Trusted Host".into();
    let altered = sign_invitation(altered, &forger).await;
    guest.refuses(&altered, &[], StatusCode::BAD_REQUEST, "is not the key").await;
    // The forger's own fingerprint does not help: the host publishes another key.
    let forger_key = forger.public_key().await.expect("a key").to_base64();
    let forger_fingerprint = KeyFingerprint::of_key(&forger_key).expect("a fingerprint").to_string();
    let with_forgers = [("hostKeyFingerprint", forger_fingerprint.as_str())];
    guest.refuses(&altered, &with_forgers, StatusCode::BAD_REQUEST, "is not the key").await;

    // Forged from scratch, even signed with the host's real key: an http:// host, or 31 years of validity.
    let host_key = host.signer.current();
    let mut scratch: InvitationRequest = signed_part(&file, "invitationRequest");
    scratch.id = CollaborationInvitationId::new();
    scratch.collaboration_id = CollaborationId::new();
    scratch.host_portal_url = serde_json::from_value(json!(host.url.replacen("https://", "http://", 1))).unwrap();
    let http_host = sign_invitation(scratch.clone(), &host_key).await;
    guest.refuses(&http_host, &[], StatusCode::BAD_REQUEST, "hostPortalUrl must be an https:// URL").await;
    let mut long: InvitationRequest = signed_part(&file, "invitationRequest");
    long.collaboration_id = CollaborationId::new();
    long.expiration = rsvp::domain::Clock::now(&*guest.clock).millis() + 31 * 365 * 24 * 3_600_000;
    let long = sign_invitation(long, &host_key).await;
    guest.refuses(&long, &[], StatusCode::BAD_REQUEST, "more than the 720 hours").await;
    let bad_parameter = [("hostKeyFingerprint", "not-a-fingerprint")];
    guest.refuses(&file, &bad_parameter, StatusCode::BAD_REQUEST, "64 hexadecimal digits").await;
    let wrong = [("hostKeyFingerprint", forger_fingerprint.as_str())];
    guest.refuses(&file, &wrong, StatusCode::BAD_REQUEST, "is not the fingerprint").await;

    // The real file: valid, with the fingerprint the host publishes; then accepted, then refused by both.
    let valid = guest.validate(&file, &[]).await;
    valid.assert_success();
    assert_eq!(valid.body["hostKeyFingerprint"], json!(host.fingerprint().await), "{}", valid.text);
    let bad_contact = [
        ("guestContactFirstname", "Gil"),
        ("guestContactLastname", "Guest"),
        ("guestContactEmailAddress", "not an address"),
    ];
    guest.validate(&file, &bad_contact).await.assert_portal_error(StatusCode::BAD_REQUEST, "email address");
    let fingerprint = host.fingerprint().await;
    guest.accept_with(&file, &[("hostKeyFingerprint", &fingerprint)]).await.assert_success();
    let on_guest = guest.participants(&collaboration).await;
    assert_eq!(on_guest[0]["portalInfo"]["name"], host.described().await.body["name"]);
    guest.validate(&file, &[]).await.assert_portal_error(StatusCode::CONFLICT, "already takes part");
    guest.accept(&file).await.assert_portal_error(StatusCode::CONFLICT, "already takes part");
}

/// A response signed with a key unrelated to the guest (the real nonce, another contact) is refused at validate
/// and at import, and no participant is added; the real one then imports.
async fn a_response_signed_by_an_unrelated_key_is_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    let mut forged: InvitationResponse = signed_part(&response, "invitationResponse");
    forged.contact_firstname = "Eve".into();
    forged.contact_email_address = "eve@forger.example".into();
    let forged = sign_response(forged, &LocalSigner::ephemeral()).await;
    host.refuses_response(&collaboration, &forged, &[], StatusCode::BAD_REQUEST, "is not the key").await;

    let valid = host.validate_response(&collaboration, &response, &[]).await;
    valid.assert_success();
    assert_eq!(valid.body["guestKeyFingerprint"], json!(guest.fingerprint().await), "{}", valid.text);
    host.import(&collaboration, &response).await.assert_success();
    let guests = host.guests(&collaboration).await;
    assert_eq!((guests.len(), &guests[0]["config"]["contactFirstname"]), (1, &json!("Gil")));
}
