//! The mail budgets: every email sent on a tenant's behalf is counted, and racing requests never pass a limit, on
//! both stores.

use std::sync::Arc;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use rsvp::domain::{Clock as _, MailBudget, Timestamp, seconds_to_next_day};
use rsvp::store::Store;
use rsvp_tests::harness::OWNER;
use rsvp_tests::{Answer, TestApp};
use serde_json::{Value, json};

use super::{create_community, spawn_with};

rsvp_tests::against_both_stores!(
    concurrent_community_invitations_never_pass_the_days_budget,
    concurrent_resends_never_pass_the_days_budget,
    an_address_gets_at_most_its_daily_cap_from_a_tenant,
);

async fn memory() -> Arc<dyn Store> {
    rsvp_tests::memory_store()
}

async fn dynamodb() -> Arc<dyn Store> {
    rsvp_tests::dynamo_store().await
}

/// An hour into today's UTC day: a clock that can move on by minutes within one day, and whose items' expiry
/// lies ahead of DynamoDB Local's real-time TTL sweeper.
fn early_today() -> Timestamp {
    let now = rsvp_tests::present();
    Timestamp::from_millis(now.millis() - now.millis().rem_euclid(86_400_000) + 3_600_000)
}

/// A 429 of the mail budget: the seed's ErrorResponse naming `reason`, and `Retry-After` the seconds to the next
/// UTC day from the server's clock.
fn assert_budget_spent(answer: &Answer, app: &TestApp, reason: &str) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert!(answer.body["Reason"].as_str().is_some_and(|r| r.contains(reason)), "{}", answer.body);
    assert_eq!(answer.body["Error"], "Too Many Requests");
    assert!(
        answer.body["OperationId"].as_str().is_some_and(|v| !v.is_empty()) && answer.body["Resolution"].is_string()
    );
    let to_next_day = seconds_to_next_day(app.clock.now()).to_string();
    assert_eq!(answer.retry_after(), Some(to_next_day.as_str()), "until the next UTC day");
}

/// 30 invitations to 30 addresses at once against a budget of 20 emails a day: exactly 20 written (each owing its
/// one email), 10 refused with nothing written.
async fn concurrent_community_invitations_never_pass_the_days_budget(store: Arc<dyn Store>) {
    let mail = MailBudget { per_tenant_per_day: 20, ..MailBudget::default() };
    let app = spawn_with(store, mail, early_today()).await;
    let owner = app.admin(OWNER);
    let path = create_community(&app, &owner, "Budget").await;
    let bodies: Vec<Value> = (0..30).map(|i| json!({"InvitationRecipient": format!("g{i}@guest.example")})).collect();
    let answers = join_all(bodies.into_iter().map(|b| app.call(Method::POST, &path, Some(&owner), Some(b)))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 20);
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_budget_spent(refused, &app, "20 invitations a day; 20 were sent today");
    }
    let listed = app.call(Method::GET, &format!("{path}?count=100"), Some(&owner), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(20), "nothing of the refused was written");
    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    let tomorrow = json!({"InvitationRecipient": "g0@guest.example"});
    assert_eq!(app.call(Method::POST, &path, Some(&owner), Some(tomorrow)).await.status, StatusCode::CONFLICT);
    let tomorrow = json!({"InvitationRecipient": "tomorrow@guest.example"});
    assert_eq!(app.call(Method::POST, &path, Some(&owner), Some(tomorrow)).await.status, StatusCode::CREATED);
    rsvp_tests::figure("races", "30 concurrent community invitations against 20 emails a day: 20 sent, 10 refused");
}

/// 12 invitations use 12 of a budget of 20; their 12 Resends at once (after the cooldown) find 8 left: exactly 8
/// resent, 4 refused, and a refused one is unchanged (its expiry is the first send's).
async fn concurrent_resends_never_pass_the_days_budget(store: Arc<dyn Store>) {
    let mail = MailBudget { per_tenant_per_day: 20, ..MailBudget::default() };
    let app = spawn_with(store, mail, early_today()).await;
    let owner = app.admin(OWNER);
    let path = create_community(&app, &owner, "Resends").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let body = json!({"InvitationRecipient": format!("r{i}@guest.example")});
        let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        ids.push((created.body["Id"].as_str().unwrap().to_owned(), created.body["Expires"].clone()));
    }
    app.clock.advance_minutes(11);
    let resend = json!({"Action": "Resend"});
    let paths: Vec<String> = ids.iter().map(|(id, _)| format!("/api/v1-preview/communityinvitations/{id}")).collect();
    let answers = join_all(paths.iter().map(|p| app.call(Method::PUT, p, Some(&owner), Some(resend.clone())))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count(), 8);
    for (answer, (id, first_expiry)) in answers.iter().zip(&ids) {
        let read = app.call(Method::GET, &format!("{path}/{id}"), Some(&owner), None).await;
        if answer.status == StatusCode::ACCEPTED {
            assert_ne!(&read.body["Expires"], first_expiry, "a Resend renews the expiry");
        } else {
            assert_budget_spent(answer, &app, "20 invitations a day; 20 were sent today");
            assert_eq!(&read.body["Expires"], first_expiry, "a refused Resend wrote nothing: {}", read.body);
        }
    }
    rsvp_tests::figure("races", "12 concurrent Resends against the 8 emails left of 20 a day: 8 resent, 4 refused");
}

/// One address, invited at once from six communities of one tenant: 3 a day reach it, whichever dialect asks;
/// another tenant, or the next day, may still write to it.
async fn an_address_gets_at_most_its_daily_cap_from_a_tenant(store: Arc<dyn Store>) {
    let app = spawn_with(store, MailBudget::default(), early_today()).await;
    let owner = app.admin(OWNER);
    let mut paths = Vec::new();
    for i in 0..6 {
        paths.push(create_community(&app, &owner, &format!("Cap {i}")).await);
    }
    let bob = json!({"InvitationRecipient": "bob@guest.example"});
    let answers = join_all(paths.iter().map(|p| app.call(Method::POST, p, Some(&owner), Some(bob.clone())))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 3);
    for (answer, path) in answers.iter().zip(&paths) {
        let listed = app.call(Method::GET, path, Some(&owner), None).await;
        if answer.status != StatusCode::CREATED {
            assert_budget_spent(answer, &app, "at most 3 invitations a day from one tenant");
            assert_eq!(listed.body, json!([]), "nothing was written");
        }
    }
    // The same address in other letters, through the platform dialect: the same count.
    let settings = json!({"InviteUnregisteredUsers": true});
    let changed =
        app.call(Method::PUT, "/api/businesses/tenant-owner/usersettings", Some(&owner), Some(settings)).await;
    assert_eq!(changed.status, StatusCode::OK);
    let platform = json!({"EmailAddresses": ["BOB@Guest.example", "amy@guest.example"]});
    let refused = app.call(Method::POST, "/api/users/invitations", Some(&owner), Some(platform)).await;
    assert_budget_spent(&refused, &app, "1 of the addresses had them today");
    let listed = app.call(Method::GET, "/api/users/invitations", Some(&owner), None).await;
    assert_eq!(listed.body, json!([]), "not even the other address was invited");
    let amy = json!({"EmailAddresses": ["amy@guest.example"]});
    assert_eq!(app.call(Method::POST, "/api/users/invitations", Some(&owner), Some(amy)).await.status, StatusCode::OK);
    // Another tenant counts apart.
    let other = app.admin(("tenant-other", "admin@other.example"));
    let path = create_community(&app, &other, "Elsewhere").await;
    assert_eq!(app.call(Method::POST, &path, Some(&other), Some(bob.clone())).await.status, StatusCode::CREATED);
    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    let unused = answers.iter().position(|a| a.status != StatusCode::CREATED).unwrap();
    assert_eq!(app.call(Method::POST, &paths[unused], Some(&owner), Some(bob)).await.status, StatusCode::CREATED);
    rsvp_tests::figure("races", "6 concurrent invitations of one address against 3 a day: 3 sent, 3 refused");
}
