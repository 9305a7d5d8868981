//! The three-way handshake (invite, accept, confirm) and who may accept: the recipient's verified address, or with
//! the owner's choice an address at its domain, never another tenant holding the link.
use reqwest::{Method, StatusCode};
use rsvp_tests::TestApp;
use rsvp_tests::harness::communities::BASE;
use rsvp_tests::harness::{GUEST, OTHER, OWNER};
use serde_json::{Value, json};

use super::{dynamodb, memory};

rsvp_tests::against_both_stores!(
    three_way_handshake,
    racing_accepts_have_one_winner,
    token_holder_accepts_and_declines,
    a_stolen_link_does_not_let_another_tenant_join,
    an_unverified_address_cannot_accept,
    the_recipients_domain_accepts_only_when_the_owner_chose_it,
);

async fn three_way_handshake(app: TestApp) {
    let (community, created) = app.community_inviting("Shared Operations", " Bob@Guest.EXAMPLE ").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["State"], "InvitationCreated");
    assert_eq!(created.body["InvitationRecipient"], "Bob@guest.example");
    assert_eq!(created.body["IssuingTenantId"], OWNER.0);
    assert_eq!(created.body["CommunityName"], "Shared Operations");
    assert!(created.body["Accepted"].is_null() && created.body["InvitedTenantId"].is_null());
    let invitation = created.id();
    let link = created.body["InvitationUrl"].as_str().unwrap_or_default();
    assert!(link.starts_with(&format!("https://rsvp.test/invite/{invitation}?token=")), "{link}");

    // One pending invitation per (community, recipient), whatever the case of the address.
    let again = app.invite(&community, "bob@guest.example").await;
    again.assert_error(StatusCode::CONFLICT, &invitation);

    // The secret is never shown again.
    let read = app.get_invitation(&community, &invitation, &app.admin(OWNER)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.body.get("InvitationUrl").is_none());
    assert!(!read.body.to_string().contains(&created.secret()));

    let details = app
        .call(Method::GET, &format!("{BASE}/communityinvitations/{invitation}/details"), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(details.status, StatusCode::OK, "{}", details.body);
    assert_eq!(details.body["CommunityName"], "Shared Operations");
    assert_eq!(details.body["CommunityId"], community.as_str());
    assert_eq!(details.body["InvitationState"], "InvitationCreated");
    assert_eq!(details.body["ContactEmail"], "ops@owner.example");

    let accepted = app
        .process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}))
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);

    let listed = app
        .call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let items = listed.body.as_array().expect("a list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["Id"], invitation.as_str());
    assert_eq!(items[0]["State"], "InvitationAccepted");
    assert_eq!(items[0]["InvitedTenantId"], GUEST.0);
    assert_eq!(items[0]["AcceptedUserEmail"], GUEST.1);
    assert!(items[0]["Accepted"].is_string());

    let tenants =
        app.call(Method::GET, &format!("{BASE}/communities/{community}/tenants"), Some(&app.member(OWNER)), None).await;
    assert_eq!(tenants.status, StatusCode::OK);
    // A tenant awaiting confirmation is not listed (ADH's clients know no status for it): its accepted invitation
    // shows it, with the contact it gave.
    let ids: Vec<Value> = tenants.body.as_array().expect("a list").iter().map(|t| t["Id"].clone()).collect();
    assert_eq!(ids, [json!(OWNER.0)]);
    let pending = app.get_invitation(&community, &invitation, &app.admin(OWNER)).await;
    assert_eq!(
        (pending.body["State"].clone(), pending.body["InvitedTenantId"].clone()),
        (json!("InvitationAccepted"), json!(GUEST.0))
    );
    // Awaiting confirmation is not membership yet.
    let early = app.call(Method::GET, &format!("{BASE}/communities/{community}"), Some(&app.admin(GUEST)), None).await;
    early.assert_error(StatusCode::NOT_FOUND, &community);

    let confirmed = app.process(&invitation, &app.admin(OWNER), json!({"Action": "Confirm"})).await;
    assert_eq!(confirmed.status, StatusCode::ACCEPTED, "{}", confirmed.body);

    let got = app.call(Method::GET, &format!("{BASE}/communities/{community}"), Some(&app.member(GUEST)), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let statuses: Vec<(Value, Value, Value)> = got.body["Tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| (t["Id"].clone(), t["Status"].clone(), t["IsOwner"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![(json!(GUEST.0), json!("Active"), json!(false)), (json!(OWNER.0), json!("Active"), json!(true))]
    );
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&app.member(GUEST)), None).await;
    assert_eq!(
        mine.body.as_array().map(|c| c.iter().map(|c| c["Id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(community)])
    );
    let done = app.get_invitation(&community, &invitation, &app.member(GUEST)).await;
    assert_eq!(done.body["State"], "InvitationCompleted");
    let accepted_now = app
        .call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", GUEST.0), Some(&app.admin(GUEST)), None)
        .await;
    assert_eq!(accepted_now.body, json!([]));

    // Every step again is a conflict that names the state reached.
    for (token, body) in [
        (app.admin(OWNER), json!({"Action": "Confirm"})),
        (app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"})),
        (app.admin(GUEST), json!({"Action": "Decline"})),
        (app.admin(OWNER), json!({"Action": "Resend"})),
    ] {
        app.process(&invitation, &token, body).await.assert_error(StatusCode::CONFLICT, "InvitationCompleted");
    }
    // A tenant already in the community cannot come in again through a new invitation.
    let second = app.invite(&community, GUEST.1).await;
    assert_eq!(second.status, StatusCode::CREATED);
    app.process(&second.id(), &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}))
        .await
        .assert_error(StatusCode::CONFLICT, "already in the community");
}

async fn racing_accepts_have_one_winner(app: TestApp) {
    let community = app.create_community("Race").await;
    let invitation = app.invite(&community, GUEST.1).await.id();
    let token = app.admin(GUEST);
    let body = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let (a, b) =
        tokio::join!(app.process(&invitation, &token, body.clone()), app.process(&invitation, &token, body.clone()));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
    let loser = if a.status == StatusCode::CONFLICT { a } else { b };
    loser.assert_error(StatusCode::CONFLICT, "InvitationAccepted");
}

async fn token_holder_accepts_and_declines(app: TestApp) {
    let community = app.create_community("Links").await;
    // The guest's administrator signs in with another address and presents the secret from the email.
    let created = app.invite(&community, "shared-inbox@guest.example").await;
    let invitation = created.id();
    let admin = app.admin(GUEST);
    app.process(&invitation, &admin, json!({"Action": "Decline"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    let decline = json!({"Action": "Decline"});
    let wrong = app.process_with_link(&invitation, &admin, "not-the-secret", decline.clone()).await;
    wrong.assert_error(StatusCode::NOT_FOUND, &invitation);
    let declined = app.process_with_link(&invitation, &admin, &created.secret(), decline).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(
        app.get_invitation(&community, &invitation, &app.admin(OWNER)).await.body["State"],
        "InvitationDeclined"
    );
    // Declined frees the recipient for a new invitation.
    assert_eq!(app.invite(&community, "shared-inbox@guest.example").await.status, StatusCode::CREATED);
}

/// Issue 12, finding 2: with only the link's secret, another tenant's administrator accepted an invitation sent to
/// someone else, under a `tenant_name` of its choosing, and the owner confirmed the name it was shown. Now the
/// accept is refused and changes nothing; the recipient accepts, and the owner sees who did by what was verified.
async fn a_stolen_link_does_not_let_another_tenant_join(app: TestApp) {
    let (community, created) = app.community_inviting("Shared Operations", GUEST.1).await;
    let (invitation, secret) = (created.id(), created.secret());
    assert_eq!(created.body["AcceptFrom"], "Recipient", "bound to its recipient by default");
    let before = app.owners_view(&community).await;

    let stranger = app.admin_named(OTHER, "t2 Guest Corp", true);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@other.example"});
    let refused = app.process_with_link(&invitation, &stranger, &secret, accept.clone()).await;
    refused.assert_error(StatusCode::FORBIDDEN, "only its recipient");
    assert!(!refused.body.to_string().contains(GUEST.1), "the refusal does not name the recipient: {}", refused.body);
    // Nothing changed: the owner's view is the same, the stranger's tenant is in nothing, the address still waits.
    assert_eq!(app.owners_view(&community).await, before);
    let theirs =
        app.call(Method::GET, &format!("{BASE}/tenants/{}/communityinvitations", OTHER.0), Some(&stranger), None).await;
    assert_eq!(theirs.body, json!([]));
    let mine = app.call(Method::GET, &format!("{BASE}/communities"), Some(&stranger), None).await;
    assert_eq!(mine.body, json!([]));
    app.invite(&community, GUEST.1).await.assert_error(StatusCode::CONFLICT, &invitation);
    let stored = app.store.get_invitation(rsvp::domain::InvitationId::parse("id", &invitation).expect("id")).await;
    let stored = stored.expect("store answers").expect("the invitation");
    assert_eq!((stored.version, stored.history.len()), (1, 1), "not even a history line was written");

    // The recipient accepts; the owner sees the accepting tenant's id and verified address, and the name as a claim.
    let recipient = app.admin_named(GUEST, "Guest Ltd", true);
    let accepted =
        app.process(&invitation, &recipient, json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}));
    assert_eq!(accepted.await.status, StatusCode::ACCEPTED);
    let seen = app.get_invitation(&community, &invitation, &app.member(OWNER)).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let who = |b: &Value| {
        [&b["State"], &b["InvitedTenantId"], &b["AcceptedUserEmail"], &b["AcceptedTenantName"]]
            .map(Clone::clone)
            .to_vec()
    };
    assert_eq!(who(&seen.body), [json!("InvitationAccepted"), json!(GUEST.0), json!(GUEST.1), json!("Guest Ltd")]);
    assert_eq!(seen.body["AcceptedTenantNameVerified"], false, "a tenant_name claim is never verified");
    let listed = app.owners_view(&community).await.0;
    assert_eq!(who(&listed[0]), who(&seen.body));
    assert_eq!(listed[0]["AcceptedTenantNameVerified"], false);
    // A stranger with the link may still decline a pending invitation, though not accept it.
    let second = app.invite(&community, "carol@guest.example").await;
    let declined = app.process_with_link(&second.id(), &stranger, &second.secret(), json!({"Action": "Decline"})).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(
        app.get_invitation(&community, &second.id(), &app.admin(OWNER)).await.body["State"],
        "InvitationDeclined"
    );
}

/// The recipient's own address counts only when the token says it is verified; the link does not make up for it.
async fn an_unverified_address_cannot_accept(app: TestApp) {
    let (community, created) = app.community_inviting("Verified", GUEST.1).await;
    let invitation = created.id();
    let before = app.owners_view(&community).await;
    let unverified = app.admin_named(GUEST, "Guest Ltd", false);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    // Without the link, an unverified address is no one's: the invitation is not theirs to see.
    app.process(&invitation, &unverified, accept.clone()).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    let refused = app.process_with_link(&invitation, &unverified, &created.secret(), accept).await;
    refused.assert_error(StatusCode::FORBIDDEN, "verified");
    assert_eq!(app.owners_view(&community).await, before);
}

/// `AcceptFrom: RecipientDomain`, chosen for a community or for one invitation, lets an administrator at the
/// recipient's domain accept with the link; another domain is still refused, and the default stays exact.
async fn the_recipients_domain_accepts_only_when_the_owner_chose_it(app: TestApp) {
    let owner = app.admin(OWNER);
    let colleague = app.admin_named(("tenant-guest", "it@guest.example"), "Guest Ltd", true);
    let stranger = app.admin_named(OTHER, "Guest Ltd", true);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});

    // Per community: set on create, shown on the community and taken by its invitations.
    let body = json!({"Name": "Domain-wide", "AcceptFrom": "RecipientDomain"});
    let created = app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["AcceptFrom"], "RecipientDomain");
    let community = created.id();
    let first = app.invite(&community, GUEST.1).await;
    assert_eq!(first.body["AcceptFrom"], "RecipientDomain");
    let before = app.owners_view(&community).await;
    app.process_with_link(&first.id(), &stranger, &first.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "recipient's domain");
    assert_eq!(app.owners_view(&community).await, before, "another domain's refusal changes nothing");
    // A colleague at the domain still needs the link: without it the invitation is not theirs to see.
    app.process(&first.id(), &colleague, accept.clone()).await.assert_error(StatusCode::NOT_FOUND, &first.id());
    let accepted = app.process_with_link(&first.id(), &colleague, &first.secret(), accept.clone()).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let seen = app.get_invitation(&community, &first.id(), &owner).await;
    assert_eq!(
        (seen.body["InvitedTenantId"].clone(), seen.body["AcceptedUserEmail"].clone()),
        (json!("tenant-guest"), json!("it@guest.example")),
        "the owner sees who accepted in the recipient's place"
    );

    // Updating the community back to exact applies to invitations sent from then on; a sent one keeps its rule.
    let path = format!("{BASE}/communities/{community}");
    let pending = app.invite(&community, "carol@guest.example").await;
    let strict = app.call(Method::PUT, &path, Some(&owner), Some(json!({"AcceptFrom": "Recipient"}))).await;
    assert_eq!((strict.status, strict.body["AcceptFrom"].clone()), (StatusCode::OK, json!("Recipient")));
    assert_eq!(strict.body["Name"], "Domain-wide", "a field left out keeps its value");
    let later = app.invite(&community, "dan@guest.example").await;
    assert_eq!(later.body["AcceptFrom"], "Recipient");
    assert_eq!(app.get_invitation(&community, &pending.id(), &owner).await.body["AcceptFrom"], "RecipientDomain");
    let colleague_2 = app.admin_named(("tenant-guest-2", "ops@guest.example"), "Guest Two", true);
    app.process_with_link(&later.id(), &colleague_2, &later.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "only its recipient");

    // Per invitation, in a community with the default.
    let plain = app.create_community("Exact").await;
    let invitations = format!("{BASE}/communities/{plain}/invitations");
    let chosen = app
        .call(
            Method::POST,
            &invitations,
            Some(&owner),
            Some(json!({"InvitationRecipient": GUEST.1, "AcceptFrom": "RecipientDomain"})),
        )
        .await;
    assert_eq!((chosen.status, chosen.body["AcceptFrom"].clone()), (StatusCode::CREATED, json!("RecipientDomain")));
    let default = app.invite(&plain, "erin@guest.example").await;
    assert_eq!(default.body["AcceptFrom"], "Recipient");
    app.process_with_link(&default.id(), &colleague, &default.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "only its recipient");
    app.process_with_link(&chosen.id(), &stranger, &chosen.secret(), accept.clone())
        .await
        .assert_error(StatusCode::FORBIDDEN, "recipient's domain");
    let accepted = app.process_with_link(&chosen.id(), &colleague, &chosen.secret(), accept).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);

    // An unknown rule is a 400 that creates or changes nothing.
    for bad in [json!("Anyone"), json!("recipient"), json!(""), json!(7)] {
        let body = json!({"Name": "Bad", "AcceptFrom": bad});
        let answer = app.call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        let change = app.call(Method::PUT, &path, Some(&owner), Some(json!({"AcceptFrom": bad}))).await;
        assert_eq!(change.status, StatusCode::BAD_REQUEST, "{}", change.body);
        let body = json!({"InvitationRecipient": "fred@guest.example", "AcceptFrom": bad});
        let invite = app.call(Method::POST, &invitations, Some(&owner), Some(body)).await;
        assert_eq!(invite.status, StatusCode::BAD_REQUEST, "{}", invite.body);
    }
    app.call(
        Method::POST,
        &invitations,
        Some(&owner),
        Some(json!({"InvitationRecipient": "fred@guest.example", "AcceptFrom": "Anyone"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "Recipient or RecipientDomain");
    let names: Vec<Value> = app
        .call(Method::GET, &format!("{BASE}/communities"), Some(&owner), None)
        .await
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["Name"].clone())
        .collect();
    assert!(!names.contains(&json!("Bad")), "{names:?}");
    assert_eq!(app.call(Method::GET, &path, Some(&owner), None).await.body["AcceptFrom"], "Recipient");
    let listed = app.call(Method::GET, &invitations, Some(&owner), None).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(2), "no invitation for fred: {}", listed.body);
}
