//! A community itself: updated, deleted (only once nothing is open in it), its summary and its stream search.
use reqwest::{Method, StatusCode};
use rsvp_tests::TestApp;
use rsvp_tests::harness::communities::BASE;
use rsvp_tests::harness::{GUEST, OTHER, OWNER};
use serde_json::{Value, json};

use super::{dynamodb, memory};

rsvp_tests::against_both_stores!(updating_a_community, deleting_a_community, summary_and_stream_search,);

async fn updating_a_community(app: TestApp) {
    let community = app.create_community("Shared Operations").await;
    let path = format!("{BASE}/communities/{community}");
    let renamed = app.call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(json!({"Name": " Shared Ops "}))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.content_type(), Some("application/json"));
    assert!(renamed.operation_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        (renamed.body["Name"].clone(), renamed.body["DisplayName"].clone()),
        (json!("Shared Ops"), json!("Shared Ops"))
    );
    assert_eq!(renamed.body["Description"], "Shared work", "a field left out keeps its value");
    assert_eq!(renamed.body["ContactEmail"], "ops@owner.example");
    assert_eq!(renamed.body["Tenants"][0]["Id"], OWNER.0);
    for field in ["MemberRoleId", "PreferredRegionId", "CommunityRoles"] {
        assert!(renamed.body[field].is_null(), "{field} is not a notion of rsvp's: null");
    }
    // The list shows the name as it now is.
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(mine.body[0]["Name"], "Shared Ops");
    let cleared = app
        .call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(json!({"Description": "", "ContactEmail": " "})))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!((cleared.body["Description"].clone(), cleared.body["ContactEmail"].clone()), (json!(""), Value::Null));

    // Bad input: a clear 400 that changes nothing.
    for (body, reason) in [
        (json!({}), "changes nothing"),
        (json!({"name": "lower case is not a field"}), "changes nothing"),
        (json!({"Name": "  "}), "Name"),
        (json!({"Name": "n".repeat(201)}), "Name"),
        (json!({"Description": "d".repeat(2_001)}), "Description"),
        (json!({"ContactEmail": "not an address"}), "ContactEmail"),
        (json!({"Name": 5}), "not valid JSON"),
        (json!(["Name"]), "not valid JSON"),
    ] {
        app.call(Method::PUT, &path, Some(&app.admin(OWNER)), Some(body))
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let text = app.request(Method::PUT, &path).bearer_auth(app.admin(OWNER)).header("content-type", "text/plain");
    app.send(text.body("Name=x")).await.assert_error(StatusCode::BAD_REQUEST, "JSON");
    // Not the owner's administrator: 403; another tenant: 404, as for a missing community; no token: 401.
    let change = json!({"Name": "Hijacked"});
    app.call(Method::PUT, &path, Some(&app.member(OWNER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    app.call(Method::PUT, &path, Some(&app.admin(OTHER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::PUT, &path, None, Some(change.clone())).await.assert_error(StatusCode::UNAUTHORIZED, "token");
    let missing = format!("{BASE}/communities/{}", uuid::Uuid::new_v4());
    app.call(Method::PUT, &missing, Some(&app.admin(OWNER)), Some(change.clone()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "");
    app.call(Method::PUT, &format!("{BASE}/communities/not-a-guid"), Some(&app.admin(OWNER)), Some(change))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "communityId");
    let read = app.call(Method::GET, &path, Some(&app.member(OWNER)), None).await;
    assert_eq!((read.body["Name"].clone(), read.body["Description"].clone()), (json!("Shared Ops"), json!("")));
}

async fn deleting_a_community(app: TestApp) {
    let owner = app.admin(OWNER);
    let community = app.create_community("Short-lived").await;
    let path = format!("{BASE}/communities/{community}");
    let invitation = app.invite(&community, GUEST.1).await.id();
    // An open invitation keeps it; the refusal names it, and the header names the request as the body does.
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, &invitation);
    assert!(refused.body["Reason"].as_str().is_some_and(|r| r.contains("InvitationCreated")), "{}", refused.body);
    // Accepted: the invitation is still open and the waiting tenant is in.
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    assert_eq!(app.process(&invitation, &app.admin(GUEST), accept).await.status, StatusCode::ACCEPTED);
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, GUEST.0);
    refused.assert_error(StatusCode::CONFLICT, "InvitationAccepted");
    // Confirmed: the invitation is finished, the tenant is a member.
    assert_eq!(app.process(&invitation, &owner, json!({"Action": "Confirm"})).await.status, StatusCode::ACCEPTED);
    let refused = app.call(Method::DELETE, &path, Some(&owner), None).await;
    refused.assert_error(StatusCode::CONFLICT, GUEST.0);
    assert!(!refused.body["Reason"].as_str().unwrap_or_default().contains(&invitation), "{}", refused.body);
    // Only the owner tenant's administrator may; another tenant, even a member, is told so.
    app.call(Method::DELETE, &path, Some(&app.member(OWNER)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    app.call(Method::DELETE, &path, Some(&app.admin(GUEST)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    app.call(Method::DELETE, &path, Some(&app.admin(OTHER)), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::DELETE, &path, None, None).await.assert_error(StatusCode::UNAUTHORIZED, "token");
    app.call(Method::DELETE, &format!("{BASE}/communities/nope"), Some(&owner), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "communityId");
    assert_eq!(
        app.call(Method::GET, &path, Some(&app.member(GUEST)), None).await.status,
        StatusCode::OK,
        "nothing was deleted"
    );

    let remove = format!("{path}/tenants/{}", GUEST.0);
    assert_eq!(app.call(Method::DELETE, &remove, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    let deleted = app.call(Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert!(deleted.operation_id().is_some());
    app.call(Method::GET, &path, Some(&app.member(OWNER)), None).await.assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &community);
    app.invite(&community, "late@guest.example").await.assert_error(StatusCode::NOT_FOUND, &community);
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(OWNER)), None).await;
    assert_eq!(mine.body, json!([]));

    // An expired invitation keeps a community too (Resend would revive it) until it is withdrawn.
    let second = app.create_community("Expiring").await;
    let path = format!("{BASE}/communities/{second}");
    let stale = app.invite(&second, GUEST.1).await.id();
    app.clock.advance_minutes(15 * 24 * 60);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::CONFLICT, "InvitationExpired");
    let withdraw = format!("{path}/invitations/{stale}");
    assert_eq!(app.call(Method::DELETE, &withdraw, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::DELETE, &path, Some(&owner), None).await.status, StatusCode::NO_CONTENT);
}

async fn summary_and_stream_search(app: TestApp) {
    let community = app.create_community("Streams").await;
    let summary = format!("{BASE}/communities/{community}/summary");
    let got = app.call(Method::GET, &summary, Some(&app.member(OWNER)), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body, json!({"TotalStreams": 0, "StreamsContributed": 0}));
    assert_eq!(got.content_type(), Some("application/json"));
    app.call(Method::GET, &summary, Some(&app.admin(OTHER)), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, &community);
    app.call(Method::GET, &summary, Some(&app.token(OWNER, &[])), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "TenantMember");

    let search = format!("{BASE}/search/communities/{community}/streams");
    let found = app
        .call(
            Method::GET,
            &format!("{search}?query=pump&skip=0&count=10&searchTenantId={}", OWNER.0),
            Some(&app.member(OWNER)),
            None,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body, json!([]));
    for (query, reason) in [
        ("count=0", "count"),
        ("skip=-1", "skip"),
        ("searchTenantId=%20", "searchTenantId"),
        (&*format!("query={}", "q".repeat(1_001)), "query"),
    ] {
        app.call(Method::GET, &format!("{search}?{query}"), Some(&app.member(OWNER)), None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, reason);
    }
    app.call(Method::GET, &search, Some(&app.admin(OTHER)), None).await.assert_error(StatusCode::NOT_FOUND, &community);
}
