//! Races of many requests on one thing: one winner, and never past a limit.

use std::sync::Arc;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use rsvp::domain::MailBudget;
use rsvp_tests::harness::OWNER;
use serde_json::{Value, json};

use super::{spawn, spawn_with};

/// 50 administrators of 50 tenants, each holding the link and signed in with the recipient's verified address (a
/// shared mailbox: only the recipient may accept), accept one invitation at once: one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_accepts_of_one_invitation_have_one_winner() {
    let app = spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let owner = app.admin(OWNER);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Race"}))).await;
    let path = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    let created =
        app.call(Method::POST, &path, Some(&owner), Some(json!({"InvitationRecipient": "shared@guest.example"}))).await;
    let secret = created.secret();
    let id = created.id();
    let tokens: Vec<String> = (0..50).map(|i| app.admin((&format!("tenant-{i}"), "shared@guest.example"))).collect();
    let body = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let answers = join_all(tokens.iter().map(|t| app.process_with_link(&id, t, &secret, body.clone()))).await;
    let won = answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count();
    assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(answers.iter().filter(|a| a.status != StatusCode::ACCEPTED).all(|a| a.status == StatusCode::CONFLICT));
    // The winner awaits confirmation: the tenants list shows Active tenants only (the owner), and the winner sees
    // the invitation in its accepted list; a loser sees none.
    let members = app.call(Method::GET, &path.replace("/invitations", "/tenants"), Some(&owner), None).await;
    assert_eq!(members.body.as_array().map(Vec::len), Some(1), "the owner alone is Active: {}", members.body);
    let winner = answers.iter().position(|a| a.status == StatusCode::ACCEPTED).unwrap();
    let list = |i: usize| format!("/api/v1-preview/tenants/tenant-{i}/communityinvitations");
    let won_list = app.call(Method::GET, &list(winner), Some(&tokens[winner]), None).await;
    assert_eq!(won_list.body.as_array().map(Vec::len), Some(1), "the winner's accepted list: {}", won_list.body);
    assert_eq!(won_list.body[0]["Id"], created.body["Id"]);
    let loser = (winner + 1) % tokens.len();
    let lost_list = app.call(Method::GET, &list(loser), Some(&tokens[loser]), None).await;
    assert_eq!(lost_list.body.as_array().map(Vec::len), Some(0), "a loser's accepted list is empty");
    rsvp_tests::figure("races", "50 concurrent accepts of one invitation: 1 winner, 49 conflicts");
}

/// 50 creates for one recipient at once: one invitation. The race is the one-pending lock's, so the deployment
/// lets one address have 50 emails a day here: under the default cap of 3, the cap would refuse most of them
/// (429) before they reach the lock (`an_address_gets_at_most_its_daily_cap_from_a_tenant` tests the cap).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_for_one_recipient_make_one_invitation() {
    let mail = MailBudget { per_recipient_per_day: 50, ..MailBudget::default() };
    let app = spawn_with(Arc::new(rsvp_tests::fresh_dynamo_store().await), mail, rsvp_tests::present()).await;
    let owner = app.admin(OWNER);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Race"}))).await;
    let path = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    let body = json!({"InvitationRecipient": "bob@guest.example"});
    let answers = join_all((0..50).map(|_| app.call(Method::POST, &path, Some(&owner), Some(body.clone())))).await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::CREATED).count(), 1);
    assert!(answers.iter().filter(|a| a.status != StatusCode::CREATED).all(|a| a.status == StatusCode::CONFLICT));
    let listed = app.call(Method::GET, &path, Some(&owner), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    rsvp_tests::figure("races", "50 concurrent creates for one recipient: 1 invitation, 49 conflicts");
}

/// 40 invite_users requests of one address each against a limit of 25 a day: never over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invites_never_pass_the_daily_limit() {
    let app = spawn(Arc::new(rsvp_tests::fresh_dynamo_store().await)).await;
    let admin = app.admin(("tenant-acme", "ada@acme.example"));
    let settings = json!({"InviteUnregisteredUsers": true, "MaxInvitationsPerDay": 25});
    let changed = app.call(Method::PUT, "/api/businesses/tenant-acme/usersettings", Some(&admin), Some(settings)).await;
    assert_eq!(changed.status, StatusCode::OK);
    let bodies: Vec<Value> = (0..40).map(|i| json!({"EmailAddresses": [format!("p{i}@partner.example")]})).collect();
    let answers =
        join_all(bodies.into_iter().map(|b| app.call(Method::POST, "/api/users/invitations", Some(&admin), Some(b))))
            .await;
    assert_eq!(answers.iter().filter(|a| a.status == StatusCode::OK).count(), 25);
    assert!(answers.iter().filter(|a| a.status != StatusCode::OK).all(|a| a.status == StatusCode::TOO_MANY_REQUESTS));
    let listed = app.call(Method::GET, "/api/users/invitations?count=100", Some(&admin), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(25));
    rsvp_tests::figure("races", "40 concurrent invite_users against MaxInvitationsPerDay 25: 25 invited, 15 refused");
}
