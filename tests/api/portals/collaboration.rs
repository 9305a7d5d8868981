//! The whole flow between two portals, once, and what must happen only once in it: an import.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use rsvp::domain::collaboration::{CollaborationInvitationId, InvitationResponse, signed_file};
use rsvp::sign::{LocalSigner, Signer};
use rsvp_tests::Answer;
use rsvp_tests::harness::portal::TestPortal;
use serde_json::{Value, json};

use super::{Pair, dynamodb, memory};

rsvp_tests::against_both_stores!(
    two_portals_collaborate,
    concurrent_imports_of_one_response_import_it_once,
    a_response_imports_once_and_never_after_invalidate_or_refresh,
);

async fn maps_of(portal: &TestPortal, collaboration: &str) -> String {
    portal.get(&format!("/collaborations/{collaboration}")).await.body["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn layers_of(portal: &TestPortal, collaboration: &str) -> String {
    portal.get(&format!("/collaborations/{collaboration}")).await.body["workspaces"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The whole flow: the guest ends up an active participant on the host, and the host on the guest.
async fn two_portals_collaborate(Pair { host, guest, .. }: Pair) {
    let described = host.send(host.http.get(format!("{}?f=pjson", host.base))).await;
    assert_eq!(described.status, StatusCode::OK, "anyone may read a portal's description");
    assert_eq!(described.body["url"], host.portal_url);
    assert!(described.body["publicKey"].as_str().is_some_and(|k| k.len() > 80));
    assert!(described.text.contains("\n  \""), "pjson is indented");
    let guest_id = guest.described().await.body["id"].as_str().unwrap().to_owned();

    let (collaboration, maps, layers) = host.collaboration().await;
    let invited = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
    assert_eq!(invited.file_name(), Some("collaboration-127.0.0.1.invite"));
    let file = invited.text;
    assert!(file.starts_with("{\"invitationRequest\":{") && file.contains("\"signature\":"), "{file}");

    let listed = host.get(&format!("/collaborations/{collaboration}/invitations")).await;
    assert_eq!((listed.body["total"].clone(), listed.body["nextStart"].clone()), (json!(1), json!(-1)));
    let invitation = listed.body["collaborationInvitations"][0].clone();
    assert_eq!(invitation["status"], "host_created");
    assert!(invitation.get("invitationString").is_none(), "a list never shows the file's secret nonce");
    let one =
        host.get(&format!("/collaborations/{collaboration}/invitations/{}", invitation["id"].as_str().unwrap())).await;
    assert_eq!(one.body["invitationString"].as_str(), Some(file.as_str()), "the file, rebuilt byte for byte");
    assert_eq!(one.body["config"]["invitationRequestFilename"], "collaboration-127.0.0.1.invite");

    guest.upload("/validateCollaborationInvitation", "invitationFile", &file, &[]).await.assert_success();
    guest.accept(&file).await.assert_success();
    guest.accept(&file).await.assert_portal_error(StatusCode::CONFLICT, "already takes part");
    let response = guest.export(&collaboration).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.file_name(), Some("collaboration-127.0.0.1.response"));

    let validate = format!("/collaborations/{collaboration}/validateInvitationResponse");
    host.upload(&validate, "invitationResponseFile", &response.text, &[]).await.assert_success();
    host.import(&collaboration, &response.text).await.assert_success();

    let host_id = described.body["id"].as_str().unwrap().to_owned();
    let on_host = host.participants(&collaboration).await;
    let roles: Vec<_> =
        on_host.iter().map(|p| (p["portalInfo"]["id"].clone(), p["collaborationRole"].clone())).collect();
    assert_eq!(roles, [(json!(host_id), json!("Host")), (json!(guest_id), json!("Guest"))], "the host lists itself");
    assert_eq!(on_host[0]["config"]["contactEmailAddress"], "ada@host.example");
    assert_eq!((&on_host[1]["portalInfo"]["url"], &on_host[1]["status"]), (&json!(guest.portal_url), &json!("active")));
    assert_eq!(on_host[1]["collaborationId"], collaboration.as_str());
    assert_eq!(on_host[1]["config"]["contactFirstname"], "Gil");
    let one = host.get(&format!("/collaborations/{collaboration}/participants/{guest_id}")).await;
    assert_eq!((one.status, &one.body), (StatusCode::OK, &on_host[1]), "{}", one.text);
    // The guest's access to each workspace, as the invitation gave it.
    let workspaces = host.get(&format!("/collaborations/{collaboration}/workspaces")).await;
    let access: Vec<_> = workspaces.body["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .map(|w| (w["id"].clone(), w["participantsWithoutGroupLinks"].clone()))
        .collect();
    assert_eq!(
        access,
        [
            (json!(maps), json!([{"portalId": guest_id, "accessMode": "send"}])),
            (json!(layers), json!([{"portalId": guest_id, "accessMode": "sendAndReceive"}]))
        ]
    );
    let on_guest = guest.participants(&collaboration).await;
    let roles: Vec<_> =
        on_guest.iter().map(|p| (p["portalInfo"]["url"].clone(), p["collaborationRole"].clone())).collect();
    assert_eq!(
        roles,
        [(json!(host.portal_url), json!("Host")), (json!(guest.portal_url), json!("Guest"))],
        "the host, then the guest itself"
    );
    assert_eq!(on_guest[1]["config"]["contactEmailAddress"], "gil@guest.example");
    let layers_on_guest = guest.get(&format!("/collaborations/{collaboration}/workspaces/{layers}")).await;
    assert_eq!(
        layers_on_guest.body["participantsWithoutGroupLinks"],
        json!([{"portalId": host_id, "accessMode": "sendAndReceive"}]),
        "{}",
        layers_on_guest.text
    );
    assert_eq!(guest.collaborations().await[0]["participantType"], "guest");
    let imported =
        host.get(&format!("/collaborations/{collaboration}/invitations/{}", invitation["id"].as_str().unwrap())).await;
    assert_eq!(
        (imported.body["status"].as_str(), imported.body["guestPortalId"].as_str()),
        (Some("host_imported"), Some(guest_id.as_str()))
    );

    // Either side may end it: the guest leaves, the host removes.
    guest.post(&format!("/collaborations/{collaboration}/removeParticipation"), &[]).await.assert_success();
    assert!(guest.collaborations().await.is_empty());
    let remove_host = format!("/collaborations/{collaboration}/participants/{host_id}/remove");
    host.post(&remove_host, &[]).await.assert_portal_error(StatusCode::CONFLICT, "the host cannot be removed");
    host.post(&format!("/collaborations/{collaboration}/participants/{guest_id}/remove"), &[]).await.assert_success();
    assert!(host.guests(&collaboration).await.is_empty());
    let gone = host.get(&format!("/collaborations/{collaboration}/participants/{guest_id}")).await;
    gone.assert_portal_error(StatusCode::NOT_FOUND, "is not a participant");
}

/// 20 imports of one response at once: one succeeds, the others are told it was imported, one participant.
async fn concurrent_imports_of_one_response_import_it_once(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let file = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await.text;
    guest.accept(&file).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    let answers = futures::future::join_all((0..20).map(|_| host.import(&collaboration, &response))).await;
    let won = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    for lost in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(lost.status, StatusCode::CONFLICT, "{}", lost.text);
    }
    assert_eq!(host.guests(&collaboration).await.len(), 1);
    rsvp_tests::figure("races", "20 concurrent imports of one response: imported once");
}

async fn a_response_imports_once_and_never_after_invalidate_or_refresh(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let invitation_id = |answer: &Answer| -> String {
        let file: Value = serde_json::from_str(&answer.text).expect("a file");
        file["invitationRequest"]["id"].as_str().expect("an id").to_owned()
    };

    // Replayed twice: imported once.
    let first = host.invite(&collaboration, &guest.portal_url, &maps, &layers).await;
    guest.accept(&first.text).await.assert_success();
    let response = guest.export(&collaboration).await.text;
    host.import(&collaboration, &response).await.assert_success();
    host.import(&collaboration, &response).await.assert_portal_error(StatusCode::CONFLICT, "host_imported");
    assert_eq!(host.guests(&collaboration).await.len(), 1);

    // After invalidate, a response built from the file does not import.
    let (withdrawn, maps2, layers2) = host.collaboration().await;
    let second = host.invite(&withdrawn, &guest.portal_url, &maps2, &layers2).await;
    let id = invitation_id(&second);
    guest.accept(&second.text).await.assert_success();
    let late = guest.export(&withdrawn).await.text;
    host.post(&format!("/collaborations/{withdrawn}/invitations/{id}/invalidate"), &[]).await.assert_success();
    host.import(&withdrawn, &late).await.assert_portal_error(StatusCode::CONFLICT, "host_invalidated");
    assert!(host.guests(&withdrawn).await.is_empty(), "nothing was imported");
    let status = host.get(&format!("/collaborations/{withdrawn}/invitations/{id}")).await.body["status"].clone();
    assert_eq!(status, "host_invalidated");
    let refresh = format!("/collaborations/{withdrawn}/invitations/{id}/refresh");
    host.post(&refresh, &[]).await.assert_portal_error(StatusCode::CONFLICT, "host_invalidated");
    // A response edited to answer another invitation breaks its signature.
    let forged = response.replacen(&invitation_id(&first), &id, 1);
    host.import(&withdrawn, &forged).await.assert_portal_error(StatusCode::BAD_REQUEST, "signature does not verify");

    // After refresh, the old file's response no longer imports; the new file's does.
    let (other, _, _) = host.collaboration().await;
    let third =
        host.invite(&other, &guest.portal_url, &maps_of(&host, &other).await, &layers_of(&host, &other).await).await;
    let old_id = invitation_id(&third);
    guest.accept(&third.text).await.assert_success();
    let old_response = guest.export(&other).await.text;
    host.clock.advance_minutes(60);
    let refreshed = host.post(&format!("/collaborations/{other}/invitations/{old_id}/refresh"), &[]).await;
    assert_eq!((refreshed.status, refreshed.file_name()), (StatusCode::OK, Some("collaboration-127.0.0.1.invite")));
    assert_ne!(refreshed.text, third.text);
    host.import(&other, &old_response)
        .await
        .assert_portal_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
    assert!(host.guests(&other).await.is_empty(), "nothing was imported");

    // A response to an invitation the host never issued: edited, its signature breaks; signed anew by a portal
    // that holds its own key, it answers nothing the host knows.
    let unknown = old_response.replacen(&old_id, "0123456789abcdef0123456789abcdef", 1);
    host.import(&other, &unknown).await.assert_portal_error(StatusCode::BAD_REQUEST, "signature does not verify");
    let mut forged: InvitationResponse =
        serde_json::from_value(serde_json::from_str::<Value>(&old_response).unwrap()["invitationResponse"].clone())
            .unwrap();
    let impostor = LocalSigner::ephemeral();
    forged.invitation_id = CollaborationInvitationId::new();
    forged.public_key = impostor.public_key().await.unwrap().to_base64();
    let payload = serde_json::to_string(&forged).unwrap();
    let signature = STANDARD.encode(impostor.sign(payload.as_bytes()).await.unwrap());
    let signed = signed_file("invitationResponse", &payload, &signature);
    host.import(&other, &signed)
        .await
        .assert_portal_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
    let wrong_collaboration = host.import(&collaboration, &old_response).await;
    wrong_collaboration.assert_portal_error(StatusCode::BAD_REQUEST, "does not answer a live invitation");
}
