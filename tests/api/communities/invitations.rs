//! An invitation's life: expiry and Resend, paging, withdrawal and removal, and the options of a create (metadata,
//! a shorter life, no email).
use reqwest::{Method, StatusCode};
use rsvp::domain::{Clock as _, Timestamp};
use rsvp_tests::TestApp;
use rsvp_tests::harness::communities::BASE;
use rsvp_tests::harness::{GUEST, OTHER, OWNER, PUBLIC_URL};
use serde_json::{Value, json};

use super::{dynamodb, memory};

rsvp_tests::against_both_stores!(
    expiry_and_resend,
    paging_walks_every_invitation_once,
    deleting_and_removing,
    metadata_is_kept_as_given_and_bad_metadata_changes_nothing,
    an_invitation_may_live_fewer_days_and_its_resend_as_many,
    a_link_only_invitation_owes_no_email_and_counts_on_the_owners_day,
);

async fn expiry_and_resend(app: TestApp) {
    let (community, created) = app.community_inviting("Expiry", GUEST.1).await;
    let invitation = created.id();
    let owner = app.admin(OWNER);
    // Resend is limited to once per cooldown (10 minutes by default).
    let early = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "10 minutes");
    assert_eq!(early.retry_after(), Some("600"));

    app.clock.advance_minutes(14 * 24 * 60);
    assert_eq!(app.get_invitation(&community, &invitation, &owner).await.body["State"], "InvitationExpired");
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::CONFLICT, "InvitationExpired");
    // An expired invitation no longer blocks a new one for the same recipient...
    let newer = app.invite(&community, GUEST.1).await;
    assert_eq!(newer.status, StatusCode::CREATED, "{}", newer.body);
    // ...and while that one is live, the old one cannot be revived over it.
    app.process(&invitation, &owner, json!({"Action": "Resend"})).await.assert_error(StatusCode::CONFLICT, &newer.id());
    app.call(Method::DELETE, &format!("{BASE}/communities/{community}/invitations/{}", newer.id()), Some(&owner), None)
        .await;

    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert_eq!(read.body["State"], "InvitationCreated");
    assert_eq!(read.body["Expires"], Timestamp::from_millis(app.clock.now().millis() + 14 * 86_400_000).to_rfc3339());
    // The old link died with the resend.
    let details = app.request(Method::GET, &format!("{BASE}/communityinvitations/{invitation}/details"));
    let stale = app.send(details.bearer_auth(app.admin(OTHER)).header("Invitation-Token", created.secret())).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

async fn paging_walks_every_invitation_once(app: TestApp) {
    let community = app.create_community("Paging").await;
    let mut expected = Vec::new();
    for i in 0..5 {
        app.clock.advance_millis(1);
        expected.push(app.invite(&community, &format!("person{i}@guest.example")).await.id());
    }
    expected.reverse(); // newest first
    let owner = app.admin(OWNER);
    let mut seen = Vec::new();
    let mut next = Some(format!("{BASE}/communities/{community}/invitations?count=2"));
    let mut pages = 0;
    while let Some(path) = next.take() {
        pages += 1;
        let page = app.call(Method::GET, &path, Some(&owner), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(
            page.body.as_array().expect("a page").iter().map(|i| i["Id"].as_str().unwrap_or_default().to_owned()),
        );
        next = page.link().map(|link| {
            assert!(link.ends_with(">; rel=\"next\""), "{link}");
            link.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned()
        });
        assert!(pages <= 3, "more pages than items allow");
    }
    assert_eq!(seen, expected);
    let skipped = app
        .call(Method::GET, &format!("{BASE}/communities/{community}/invitations?skip=3&count=10"), Some(&owner), None)
        .await;
    let ids: Vec<&str> = skipped.body.as_array().expect("a page").iter().filter_map(|i| i["Id"].as_str()).collect();
    assert_eq!(ids, expected[3..].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(skipped.link().is_none());
}

async fn deleting_and_removing(app: TestApp) {
    let community = app.create_community("Tidy").await;
    let owner = app.admin(OWNER);
    let created = app.invite(&community, GUEST.1).await;
    let invitation = created.id();
    let path = format!("{BASE}/communities/{community}/invitations/{invitation}");
    let deleted = app.call(Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.call(Method::GET, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    app.call(Method::DELETE, &path, Some(&owner), None).await.assert_error(StatusCode::NOT_FOUND, &invitation);
    app.process(&invitation, &app.admin(GUEST), json!({"Action": "Accept", "ContactEmail": "a@b.example"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, &invitation);
    let stored = app.store.get_invitation(rsvp::domain::InvitationId::parse("id", &invitation).expect("id")).await;
    assert!(stored.expect("store answers").expect("kept for audit").is_deleted());

    // Bring the guest in, then remove it; the owner itself cannot be removed.
    let second = app.invite(&community, GUEST.1).await.id();
    let accept = json!({"Action": "Accept", "ContactEmail": "a@b.example"});
    assert_eq!(app.process(&second, &app.admin(GUEST), accept).await.status, StatusCode::ACCEPTED);
    // While it waits for confirmation, the tenant leaves through its invitation, not by removal.
    let tenants = format!("{BASE}/communities/{community}/tenants");
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::CONFLICT, "awaiting confirmation");
    assert_eq!(app.process(&second, &owner, json!({"Action": "Confirm"})).await.status, StatusCode::ACCEPTED);
    app.call(Method::DELETE, &format!("{tenants}/{}", OWNER.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::CONFLICT, "owner tenant");
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&app.admin(GUEST)), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "owner tenant");
    assert_eq!(
        app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None).await.status,
        StatusCode::NO_CONTENT
    );
    app.call(Method::DELETE, &format!("{tenants}/{}", GUEST.0), Some(&owner), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, GUEST.0);
    let left = app.call(Method::GET, &tenants, Some(&owner), None).await;
    assert_eq!(
        left.body.as_array().map(|t| t.iter().map(|t| t["Id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(OWNER.0)])
    );
}

/// `Metadata` on a create: kept exactly as given (numbers, nesting, unicode) and handed back by the create's answer,
/// the invitation's read and the community's list; one over any limit (size, keys, depth) or not an object is a 400
/// naming the limit, and writes nothing.
async fn metadata_is_kept_as_given_and_bad_metadata_changes_nothing(app: TestApp) {
    let community = app.create_community("Metadata").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    let given =
        json!({"plan": "pro", "seats": 3, "ratio": 0.25, "big": 9007199254740993u64, "tags": ["a", {"b": "ü"}]});
    let body = json!({"InvitationRecipient": GUEST.1, "Metadata": given, "Roles": ["Contributor", "Viewer"]});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["Metadata"], given);
    let read = app.get_invitation(&community, &created.id(), &owner).await;
    assert_eq!(read.body["Metadata"], given, "the same, numbers and all, after the store");
    assert_eq!(read.body["Roles"], json!(["Contributor", "Viewer"]));
    let bad_role = json!({"InvitationRecipient": "r@x.example", "Roles": ["no spaces"]});
    app.call(Method::POST, &path, Some(&owner), Some(bad_role))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not a role name");
    let plain = app.invite(&community, OTHER.1).await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.body);
    assert!(plain.body.get("Metadata").is_none(), "no Metadata, no field: {}", plain.body);

    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let cases = [
        (json!({"k": "x".repeat(4_100)}), "at most 4096 are kept"),
        (Value::Object(many), "at most 50 are kept"),
        (json!({"a": [{"b": [1]}]}), "at most 3"),
        (json!(["not", "an", "object"]), "must be a JSON object"),
        (json!("text"), "must be a JSON object"),
    ];
    for (i, (metadata, reason)) in cases.into_iter().enumerate() {
        let body = json!({"InvitationRecipient": format!("bad{i}@x.example"), "Metadata": metadata});
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let (invitations, _) = app.owners_view(&community).await;
    let listed: Vec<&str> =
        invitations.as_array().unwrap().iter().map(|i| i["InvitationRecipient"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 2, "nothing written by a refused create: {listed:?}");
    let with = invitations.as_array().unwrap().iter().find(|i| i["InvitationRecipient"] == GUEST.1).unwrap();
    assert_eq!(with["Metadata"], given, "the list hands it back too");
}

/// `ExpiresInDays` on a create: the invitation lives that many days (within the deployment's 14) and a Resend gives it
/// as many again; outside 1..=14, or not a number, it is a 400 that names the bounds and writes nothing.
async fn an_invitation_may_live_fewer_days_and_its_resend_as_many(app: TestApp) {
    let community = app.create_community("Short-lived").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    for (days, reason) in [
        (json!(0), "from 1 to 14"),
        (json!(15), "from 1 to 14"),
        (json!(-3), "from 1 to 14"),
        (json!("2"), "not valid JSON"),
    ] {
        let body = json!({"InvitationRecipient": GUEST.1, "ExpiresInDays": days});
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    let (listed, _) = app.owners_view(&community).await;
    assert_eq!(listed, json!([]), "a refused create writes nothing");

    let body = json!({"InvitationRecipient": GUEST.1, "ExpiresInDays": 2});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let day = 86_400_000;
    assert_eq!(created.body["Expires"], Timestamp::from_millis(app.clock.now().millis() + 2 * day).to_rfc3339());
    app.clock.advance_minutes(2 * 24 * 60);
    let invitation = created.id();
    assert_eq!(app.get_invitation(&community, &invitation, &owner).await.body["State"], "InvitationExpired");
    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert_eq!(
        read.body["Expires"],
        Timestamp::from_millis(app.clock.now().millis() + 2 * day).to_rfc3339(),
        "as many again"
    );
}

/// `SendEmail: false` on a create: the invitation owes no email (no `DeliveryState`), the answer's
/// `InvitationUrl` is the only way to it, and it counts on the owner's `MaxInvitationsPerDay` as any invitation
/// does. Its Resend answers 200 with a new link (the old one no longer opens the page) and still owes no email. A
/// `SendEmail` that is not a boolean, or a `Locale` that is not a language tag, is a 400 that writes nothing.
async fn a_link_only_invitation_owes_no_email_and_counts_on_the_owners_day(app: TestApp) {
    let community = app.create_community("Hand-delivered").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    for (body, reason) in [
        (json!({"InvitationRecipient": GUEST.1, "SendEmail": "no"}), "not valid JSON"),
        (json!({"InvitationRecipient": GUEST.1, "Locale": "??"}), "Locale must be a language tag"),
    ] {
        app.call(Method::POST, &path, Some(&owner), Some(body)).await.assert_error(StatusCode::BAD_REQUEST, reason);
    }
    assert_eq!(app.owners_view(&community).await.0, json!([]), "a refused create writes nothing");
    let settings = format!("/api/businesses/{}/usersettings", OWNER.0);
    let limited = app.call(Method::PUT, &settings, Some(&owner), Some(json!({"MaxInvitationsPerDay": 2}))).await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);

    let body = json!({"InvitationRecipient": GUEST.1, "SendEmail": false, "Locale": "de"});
    let created = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!((&created.body["SendEmail"], &created.body["Locale"]), (&json!(false), &json!("de")));
    assert!(created.body["DeliveryState"].is_null(), "no email owed: {}", created.body);
    let invitation = created.id();
    let link = created.body["InvitationUrl"].as_str().expect("the link").to_owned();
    let app = &app;
    let page = |url: String| async move { app.call(Method::GET, &url.replace(PUBLIC_URL, &app.url), None, None).await };
    assert_eq!(page(link.clone()).await.status, StatusCode::OK);

    let second = json!({"InvitationRecipient": "ann@guest.example", "SendEmail": false});
    assert_eq!(app.call(Method::POST, &path, Some(&owner), Some(second)).await.status, StatusCode::CREATED);
    let third = json!({"InvitationRecipient": "zoe@guest.example", "SendEmail": false});
    let spent = app.call(Method::POST, &path, Some(&owner), Some(third)).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day");

    app.clock.advance_minutes(11);
    let resent = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let renewed = resent.body["InvitationUrl"].as_str().expect("the new link").to_owned();
    assert_ne!(renewed, link);
    assert_eq!(page(link).await.status, StatusCode::NOT_FOUND, "the old link is dead");
    assert_eq!(page(renewed).await.status, StatusCode::OK);
    let read = app.get_invitation(&community, &invitation, &owner).await;
    assert!(read.body["DeliveryState"].is_null() && read.body.get("InvitationUrl").is_none(), "{}", read.body);
}
