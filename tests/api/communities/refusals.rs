//! What is refused, and how: wrong roles and other tenants (who learn nothing), bad input (which changes nothing),
//! and the operation every answer names.
use reqwest::{Method, StatusCode};
use rsvp_tests::TestApp;
use rsvp_tests::harness::communities::BASE;
use rsvp_tests::harness::{GUEST, OTHER, OWNER};
use serde_json::{Value, json};

use super::{dynamodb, memory};

rsvp_tests::against_both_stores!(
    wrong_roles_and_other_tenants,
    bad_input_is_refused_and_changes_nothing,
    every_answer_names_its_operation,
);

async fn wrong_roles_and_other_tenants(app: TestApp) {
    let no_token = app.call(Method::GET, &format!("{BASE}/communities"), None, None).await;
    no_token.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let forged = app.call(Method::GET, &format!("{BASE}/communities"), Some("e30.e30.c2ln"), None).await;
    forged.assert_error(StatusCode::UNAUTHORIZED, "bearer token");
    let body = json!({"Name": "Nope"});
    app.call(Method::POST, &format!("{BASE}/communities"), Some(&app.member(OWNER)), Some(body))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");

    let community = app.create_community("Private").await;
    let invitation = app.invite(&community, GUEST.1).await.id();
    // A member of the owner tenant may read but not invite or confirm.
    let as_member = app.member(OWNER);
    assert_eq!(app.get_invitation(&community, &invitation, &as_member).await.status, StatusCode::OK);
    let path = format!("{BASE}/communities/{community}/invitations");
    app.call(Method::POST, &path, Some(&as_member), Some(json!({"InvitationRecipient": "x@y.example"})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");

    // Another tenant learns nothing: every answer is the same 404 as for a missing resource.
    let other = app.admin(OTHER);
    let missing = "00000000-0000-4000-8000-000000000000";
    for path in [
        format!("{BASE}/communities/{community}"),
        format!("{BASE}/communities/{community}/tenants"),
        format!("{BASE}/communities/{community}/invitations"),
        format!("{BASE}/communities/{community}/invitations/{invitation}"),
        format!("{BASE}/communityinvitations/{invitation}/details"),
        format!("{BASE}/communities/{missing}"),
        format!("{BASE}/communityinvitations/{missing}/details"),
    ] {
        assert_get(&app, &path, &other, StatusCode::NOT_FOUND).await;
    }
    app.process(&invitation, &other, json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    app.call(Method::DELETE, &format!("{BASE}/communities/{community}/invitations/{invitation}"), Some(&other), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&other), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator of this tenant");

    // The recipient must be an administrator to accept, and only community admins confirm.
    app.process(&invitation, &app.member(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "ContactEmail");
    app.process(&invitation, &app.admin(OWNER), json!({"Action": "Confirm"}))
        .await
        .assert_error(StatusCode::CONFLICT, "InvitationCreated");
    assert_eq!(
        app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Confirm"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "community's administrators");
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    let community = app.create_community("Strict").await;
    let owner = app.admin(OWNER);
    let invitations = format!("{}{BASE}/communities/{community}/invitations", app.url);
    let raw = |body: Vec<u8>, content_type: &str| {
        app.http.post(&invitations).bearer_auth(&owner).header("content-type", content_type).body(body)
    };
    let cases = [
        (raw(b"{\"InvitationRecipient\": ".to_vec(), "application/json"), "not valid JSON"),
        (raw(b"InvitationRecipient=a@b.example".to_vec(), "application/x-www-form-urlencoded"), "Content-Type"),
        (raw(br#"{"InvitationRecipient":"a@b.example"}"#.to_vec(), "text/plain"), "Content-Type"),
        (
            raw(
                format!(r#"{{"InvitationRecipient":"a@b.example","Pad":"{}"}}"#, "x".repeat(70_000)).into_bytes(),
                "application/json",
            ),
            "64 KiB",
        ),
        (raw(b"{}".to_vec(), "application/json"), "InvitationRecipient is required"),
        (raw(br#"{"InvitationRecipient": 42}"#.to_vec(), "application/json"), "not valid JSON"),
        (
            raw(br#"{"InvitationRecipient":"not-an-address"}"#.to_vec(), "application/json"),
            "InvitationRecipient is not a valid email",
        ),
        (
            raw(br#"{"InvitationRecipient":"a@b.example\r\nBcc: x@y.example"}"#.to_vec(), "application/json"),
            "not a valid email",
        ),
        (raw(Vec::new(), "application/json"), "JSON body"),
    ];
    for (request, reason) in cases {
        app.send(request).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let invitation = app.invite(&community, GUEST.1).await.id();
    let guest = app.admin(GUEST);
    app.process(&invitation, &guest, json!({"Action": "Approve"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Accept, Decline, Confirm or Resend");
    app.process(&invitation, &guest, json!({"ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Action is required");
    app.process(&invitation, &guest, json!({"Action": "Accept", "ContactEmail": "nope"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "ContactEmail");

    let list = format!("{BASE}/communities/{community}/invitations");
    for (query, reason) in [
        ("skip=-1", "skip"),
        ("skip=abc", "skip"),
        ("count=0", "count"),
        ("count=1001", "count"),
        ("skip=10001", "skip"),
        ("continuationToken=%21%21", "continuationToken"),
        ("continuationToken=eyJzIjoiZ2FyYmFnZSJ9", "continuationToken"),
    ] {
        app.call(Method::GET, &format!("{list}?{query}"), Some(&owner), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    for path in [
        format!("{BASE}/communities/not-a-guid"),
        format!("{BASE}/communities/{community}/invitations/12345"),
        format!("{BASE}/communityinvitations/%27%3B--/details"),
        format!("{BASE}/tenants/bad%23tenant/communityinvitations"),
    ] {
        assert_get(&app, &path, &owner, StatusCode::BAD_REQUEST).await;
    }
    let created =
        app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(json!({"Name": "  "}))).await;
    created.assert_error(StatusCode::BAD_REQUEST, "Name");

    // Nothing above changed anything: one invitation, still as created.
    let listed = app.call(Method::GET, &list, Some(&owner), None).await;
    let states: Vec<Value> = listed.body.as_array().expect("a list").iter().map(|i| i["State"].clone()).collect();
    assert_eq!(states, vec![json!("InvitationCreated")]);
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&owner), None).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1));
}

async fn every_answer_names_its_operation(app: TestApp) {
    // The local server's own refusals (no such route, wrong method) as much as the operations' answers.
    let unknown = app.call(Method::GET, "/api/v1-preview/nowhere", Some(&app.admin(OWNER)), None).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "No operation");
    let wrong = app.call(Method::PATCH, &format!("{BASE}/communities"), Some(&app.admin(OWNER)), None).await;
    wrong.assert_error(StatusCode::METHOD_NOT_ALLOWED, "No operation");
    app.call(Method::GET, &format!("{BASE}/communities"), None, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token");
    let listed = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.content_type(), Some("application/json"));
    let id = listed.operation_id().expect("an Operation-Id on a success too");
    let again = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_ne!(again.operation_id(), Some(id), "each request has its own id");
}

/// Asserts that a GET of `path` as `token`'s caller answers `status`.
async fn assert_get(app: &TestApp, path: &str, token: &str, status: StatusCode) {
    let answer = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(answer.status, status, "{path}: {}", answer.body);
}
