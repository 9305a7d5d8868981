//! `Idempotency-Key`: a retried request replays the first answer, to a caller who may still make it.

use reqwest::{Method, StatusCode};
use rsvp_tests::TestApp;
use rsvp_tests::harness::users::INVITATIONS;
use serde_json::{Value, json};

use super::{ADA, MIA, SETTINGS, TOM, dynamodb, memory};

rsvp_tests::against_both_stores!(an_idempotency_key_replays_the_first_answer, a_replayed_key_is_authorized_again,);

async fn an_idempotency_key_replays_the_first_answer(app: TestApp) {
    app.enable_inviting(ADA).await;
    let post = |key: &str, body: Value| {
        app.send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(app.member(MIA))
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let body = json!({"EmailAddresses": ["jane@partner.example"], "Message": "hi"});
    let first = post("retry-1", body.clone()).await;
    assert_eq!((first.status, first.replayed()), (StatusCode::OK, false), "{}", first.body);
    let again = post("retry-1", body.clone()).await;
    assert_eq!((again.status, again.replayed(), again.body.clone()), (StatusCode::OK, true, first.body.clone()));
    assert_eq!(app.user_invitations(&app.admin(ADA), "").await.len(), 1, "one invitation");
    let other = post("retry-1", json!({"EmailAddresses": ["bob@partner.example"]})).await;
    other.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "different request");
    assert_eq!(app.user_invitations(&app.admin(ADA), "").await.len(), 1);
    // A key is the caller's own: another user's same key is a request of its own.
    let tom = app.member(TOM);
    let theirs = app
        .send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(&tom)
                .header("Idempotency-Key", "retry-1")
                .json(&json!({"EmailAddresses": ["kim@partner.example"]})),
        )
        .await;
    assert_eq!((theirs.status, theirs.replayed()), (StatusCode::OK, false), "{}", theirs.body);
    assert_eq!(app.user_emails(ADA, 2).await.len(), 2, "one email per invitation");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.user_emails(ADA, 2).await.len(), 2, "and no second email for the replay");
    app.send(
        app.http
            .post(format!("{}{INVITATIONS}", app.url))
            .bearer_auth(app.member(MIA))
            .header("Idempotency-Key", "has space")
            .json(&body),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "Idempotency-Key");

    // The Communities API's create honours it too, and replays the link it answered first.
    let owner = app.admin(ADA);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let path = format!("{}/api/v1-preview/communities/{}/invitations", app.url, community.body["Id"].as_str().unwrap());
    let create = || {
        app.send(
            app.http
                .post(&path)
                .bearer_auth(&owner)
                .header("Idempotency-Key", "c-1")
                .json(&json!({"InvitationRecipient": "bob@guest.example"})),
        )
    };
    let created = create().await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let replayed = create().await;
    assert_eq!((replayed.status, replayed.replayed()), (StatusCode::CREATED, true));
    assert_eq!(replayed.body["InvitationUrl"], created.body["InvitationUrl"]);
    assert_eq!(replayed.body["Id"], created.body["Id"]);
}

/// A replay answers only a caller who may still make the request: one demoted from administrator, or whose
/// tenant has since disabled inviting, gets the refusal a new request would, never the first answer (which, for a
/// community invitation, carries the live link).
async fn a_replayed_key_is_authorized_again(app: TestApp) {
    app.enable_inviting(ADA).await;
    let invite = |key: &'static str| {
        app.send(
            app.http
                .post(format!("{}{INVITATIONS}", app.url))
                .bearer_auth(app.member(MIA))
                .header("Idempotency-Key", key)
                .json(&json!({"EmailAddresses": ["jane@partner.example"], "Message": "hi"})),
        )
    };
    assert_eq!(invite("k-1").await.status, StatusCode::OK);
    let disable = json!({"InviteUnregisteredUsers": "com.soa.feature.disabled"});
    assert_eq!(app.call(Method::PUT, SETTINGS, Some(&app.admin(ADA)), Some(disable)).await.status, StatusCode::OK);
    let refused = invite("k-1").await;
    assert!(!refused.replayed(), "not replayed: {}", refused.body);
    refused.assert_error(StatusCode::UNAUTHORIZED, "InviteUnregisteredUsers is disabled");

    let owner = app.admin(ADA);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let path = format!("{}/api/v1-preview/communities/{}/invitations", app.url, community.body["Id"].as_str().unwrap());
    let create = |token: String| {
        app.send(
            app.http
                .post(&path)
                .bearer_auth(token)
                .header("Idempotency-Key", "c-1")
                .json(&json!({"InvitationRecipient": "bob@guest.example"})),
        )
    };
    let created = create(owner.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let link = created.body["InvitationUrl"].as_str().unwrap().to_owned();
    // The same user, the same key, the same body: but no longer an administrator, or no role at all.
    for roles in [&["TenantMember"][..], &[]] {
        let demoted = create(app.token(ADA, roles)).await;
        assert!(!demoted.replayed(), "{roles:?}: not replayed");
        demoted.assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
        assert!(!demoted.body.to_string().contains(&link), "{roles:?}: the link is not handed out again");
    }
    let again = create(owner).await;
    assert_eq!((again.status, again.replayed()), (StatusCode::CREATED, true), "the administrator still gets it");
}
