//! What ArcGIS clients rely on beyond the flow, and bad parameters: each refused with the dialect's error body.

use reqwest::StatusCode;
use serde_json::json;

use super::{GUEST, Pair, dynamodb, memory};

rsvp_tests::against_both_stores!(bad_parameters_are_refused, the_portal_speaks_arcgis_rest_conventions,);

async fn bad_parameters_are_refused(Pair { host, guest, .. }: Pair) {
    let (collaboration, maps, layers) = host.collaboration().await;
    let invite = format!("/collaborations/{collaboration}/inviteParticipant");
    let config = |mode: &str, workspace: &str| json!([{ workspace: mode }]).to_string();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![
                ("guestPortalUrl", "http://guest.test".into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &maps)),
            ],
            "https",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("write", &maps)),
            ],
            "not an access mode",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", "0123456789abcdef0123456789abcdef")),
            ],
            "not a workspace of this collaboration",
        ),
        (
            vec![("guestPortalUrl", GUEST.into()), ("collaborationWorkspacesParticipantConfigJSON", "{".into())],
            "JSON array",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &layers)),
                ("expiration", "0".into()),
            ],
            "expiration",
        ),
        (
            vec![
                ("guestPortalUrl", GUEST.into()),
                ("collaborationWorkspacesParticipantConfigJSON", config("send", &layers)),
                ("f", "xml".into()),
            ],
            "f must be",
        ),
    ];
    for (form, words) in cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        host.post(&invite, &form).await.assert_portal_error(StatusCode::BAD_REQUEST, words);
    }
    let listed = host.get(&format!("/collaborations/{collaboration}/invitations")).await;
    assert_eq!(listed.body["total"], 0, "no invitation was made");

    let malformed = guest
        .send(
            guest
                .http
                .post(format!("{}/acceptCollaborationInvitation", guest.base))
                .bearer_auth(&guest.admin)
                .header("content-type", "multipart/form-data; boundary=xyz")
                .body("--xyz\r\nContent-Disposition: form-data; name=\"invitationFile\"\r\n\r\nunterminated"),
        )
        .await;
    malformed.assert_portal_error(StatusCode::BAD_REQUEST, "multipart");
    let oversize = "x".repeat(70 * 1024);
    let big = guest.upload("/acceptCollaborationInvitation", "invitationFile", &oversize, &[]).await;
    assert!(big.status == StatusCode::BAD_REQUEST || big.status == StatusCode::PAYLOAD_TOO_LARGE, "{}", big.text);
    let no_token = guest.send(guest.http.post(format!("{}/acceptCollaborationInvitation", guest.base))).await;
    no_token.assert_portal_error(StatusCode::UNAUTHORIZED, "bearer token");
    let esri = guest
        .send(
            guest
                .http
                .get(format!("{}/collaborations", guest.base))
                .header("X-Esri-Authorization", format!("Bearer {}", guest.admin)),
        )
        .await;
    assert_eq!(esri.status, StatusCode::OK, "X-Esri-Authorization carries the token too: {}", esri.text);
    let param = guest.send(guest.http.get(format!("{}/collaborations?token={}", guest.base, guest.admin))).await;
    assert_eq!(param.status, StatusCode::OK, "so does the token parameter: {}", param.text);
    let other_portal = guest.send(guest.http.get(format!("{}/sharing/rest/portals/not-this-one", guest.url))).await;
    other_portal.assert_portal_error(StatusCode::NOT_FOUND, "not found");
    let page = host.send(host.http.get(format!("{}/collaborations?f=html", host.base)).bearer_auth(&host.admin)).await;
    assert!(page.text.starts_with("<!doctype html>") && page.text.contains("Flood response"), "{}", page.text);
    assert!(guest.collaborations().await.is_empty());
}

/// What ArcGIS clients rely on beyond the collaboration flow: the REST root, `info`, the signed-in user, POST
/// wherever GET is served, the reference's parameter names, paging that ignores what it does not know, and the
/// dialect's error body for every path and method no route serves.
async fn the_portal_speaks_arcgis_rest_conventions(Pair { host, .. }: Pair) {
    let root = format!("{}/sharing/rest", host.url);
    let version = host.send(host.http.get(format!("{root}?f=json"))).await;
    assert_eq!((version.status, &version.body["currentVersion"]), (StatusCode::OK, &json!(env!("CARGO_PKG_VERSION"))));
    let info = host.send(host.http.get(format!("{root}/info?f=json"))).await;
    assert_eq!(info.body["authInfo"]["isTokenBasedSecurity"], true, "{}", info.text);
    assert!(info.body["authInfo"].get("tokenServicesUrl").is_none(), "rsvp issues no tokens itself");

    // portals/self names the caller only to a valid token; their user record says they administer the portal.
    let anonymous = host.described().await;
    assert_eq!((anonymous.status, anonymous.body.get("user")), (StatusCode::OK, None), "{}", anonymous.text);
    assert_eq!(anonymous.body["portalName"], anonymous.body["name"]);
    let signed_in = host.get("").await;
    assert_eq!(signed_in.body["user"]["username"], "ada@portal.example", "{}", signed_in.text);
    let forged = host.send(host.http.get(&host.base).bearer_auth("not.a.token")).await;
    assert_eq!((forged.status, forged.body.get("user")), (StatusCode::OK, None), "an invalid token names no one");
    let user =
        host.send(host.http.get(format!("{root}/community/users/ada@portal.example")).bearer_auth(&host.admin)).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.text);
    assert_eq!((&user.body["role"], &user.body["email"]), (&json!("org_admin"), &json!("ada@portal.example")));
    assert_eq!(user.body["privileges"], json!(["portal:admin:manageCollaborations"]));
    let someone = host.send(host.http.get(format!("{root}/community/users/bob")).bearer_auth(&host.admin)).await;
    someone.assert_portal_error(StatusCode::NOT_FOUND, "User bob was not found");
    let nobody = host.send(host.http.get(format!("{root}/community/users/ada@portal.example"))).await;
    nobody.assert_portal_error(StatusCode::UNAUTHORIZED, "bearer token");
    let admin_root =
        host.send(host.http.get(format!("{}/portaladmin?f=json", host.url)).bearer_auth(&host.admin)).await;
    assert_eq!((admin_root.status, &admin_root.body["resources"]), (StatusCode::OK, &json!([])), "{}", admin_root.text);

    // POST wherever GET is served, with the same answer.
    let (collaboration, maps, layers) = host.collaboration().await;
    let read = host.get(&format!("/collaborations/{collaboration}")).await;
    let posted = host.post(&format!("/collaborations/{collaboration}"), &[("f", "json")]).await;
    assert_eq!((posted.status, &posted.body), (StatusCode::OK, &read.body), "{}", posted.text);

    // addWorkspace takes the reference's names only, and config must be a JSON object.
    let add = format!("/collaborations/{collaboration}/addWorkspace");
    host.post(&add, &[("workspaceName", "Old name")])
        .await
        .assert_portal_error(StatusCode::BAD_REQUEST, "collaborationWorkspaceName");
    let bad_config = [("collaborationWorkspaceName", "Shelters"), ("config", "[1]")];
    host.post(&add, &bad_config).await.assert_portal_error(StatusCode::BAD_REQUEST, "config must be a JSON object");
    let listed = host.get(&format!("/collaborations/{collaboration}/workspaces")).await;
    assert_eq!(listed.body["total"], 2, "nothing was added: {}", listed.text);

    // Paging by start and num; a parameter it does not know (Esri's client sends `nun`) is ignored.
    let second = host.get(&format!("/collaborations/{collaboration}/workspaces?start=2&num=1&nun=100")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(
        (&second.body["start"], &second.body["num"], &second.body["nextStart"]),
        (&json!(2), &json!(1), &json!(-1))
    );
    assert_eq!(second.body["workspaces"][0]["id"], layers.as_str());
    let first = host.get(&format!("/collaborations/{collaboration}/workspaces?num=1")).await;
    assert_eq!((&first.body["workspaces"][0]["id"], &first.body["nextStart"]), (&json!(maps), &json!(2)));
    let one = host.get(&format!("/collaborations/{collaboration}/workspaces/{maps}")).await;
    assert_eq!((&one.body["name"], &one.body["collaborationId"]), (&json!("Maps"), &json!(collaboration)));
    let unknown =
        host.get(&format!("/collaborations/{collaboration}/workspaces/0123456789abcdef0123456789abcdef")).await;
    unknown.assert_portal_error(StatusCode::NOT_FOUND, "is not a workspace of collaboration");
    let malformed = host.get(&format!("/collaborations/{collaboration}/workspaces/nope")).await;
    malformed.assert_portal_error(StatusCode::BAD_REQUEST, "not a valid id");

    // Every other path or method under /sharing/rest: the dialect's error body, never a gateway's.
    for (method, path) in [
        ("GET", format!("{root}/content/items/abc")),
        ("POST", format!("{root}/portals/self/collaborations/{collaboration}/workpaces/{maps}/delete")),
        ("DELETE", host.base.clone()),
        ("GET", format!("{root}/services")),
    ] {
        let request = host.http.request(method.parse().unwrap(), &path).bearer_auth(&host.admin);
        let answer = host.send(request).await;
        answer.assert_portal_error(StatusCode::NOT_FOUND, "is not a resource or operation this portal serves");
        assert!(answer.body["error"]["details"].is_array(), "{}", answer.text);
    }
    // Outside /sharing/rest, the other dialect's refusal stays.
    let elsewhere = host.send(host.http.get(format!("{}/nowhere", host.url))).await;
    assert_eq!((elsewhere.status, elsewhere.body.get("error")), (StatusCode::NOT_FOUND, None), "{}", elsewhere.text);
    assert_eq!(host.collaborations().await.len(), 1, "nothing changed");
}
