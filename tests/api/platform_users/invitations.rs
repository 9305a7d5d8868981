//! Inviting people: enabling it, a request all or nothing, the day's limit under racing requests, sign-up (by the
//! API and on the landing page), revoke and Resend, and the day's budget a Resend draws from.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use rsvp::domain::{Clock as _, seconds_to_next_day};
use rsvp_tests::TestApp;
use rsvp_tests::eml;
use rsvp_tests::harness::OTHER;
use rsvp_tests::harness::users::{INVITATIONS, code_in};
use serde_json::json;

use super::{ADA, MEMBER, MIA, TOM, dynamodb, memory};

rsvp_tests::against_both_stores!(
    an_administrator_enables_inviting_and_an_invitation_is_accepted_once,
    a_request_is_all_or_nothing,
    the_daily_limit_holds_under_concurrent_requests,
    the_landing_page_accepts_and_declines,
    revoke_and_resend,
    resends_draw_from_the_days_budget_and_wait_out_the_floor,
);

async fn an_administrator_enables_inviting_and_an_invitation_is_accepted_once(app: TestApp) {
    let addresses = ["jane.mead@acmepayments.example", "raj@partner.example", "li@partner.example"];
    let message = "You should join this awesome app management platform.";
    let refused = app.invite_users(&app.member(MIA), &addresses, message).await;
    refused.assert_error(StatusCode::UNAUTHORIZED, "settings forbid");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "nothing was created");

    app.enable_inviting(ADA).await;
    let settings = app.business_settings(MIA, "?IncludeSecuritySettings=true").await;
    assert_eq!(settings.status, StatusCode::OK);
    assert_eq!(settings.body["SecuritySettings"]["InviteUnregisteredUsers"], "com.soa.feature.enabled");
    assert!(settings.body.get("UserSettings").is_none(), "only the groups asked for: {}", settings.body);

    let invited = app.invite_users(&app.member(MIA), &addresses, message).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(invited.body, json!(addresses));

    let emails = app.user_emails(ADA, 3).await;
    assert_eq!(emails.len(), 3);
    let mut to: Vec<_> = emails.iter().map(|e| eml::header(e, "To").to_owned()).collect();
    to.sort();
    assert_eq!(to, ["jane.mead@acmepayments.example", "li@partner.example", "raj@partner.example"]);
    for email in &emails {
        assert!(eml::text_part(email).contains(message), "the message is in the email: {email}");
        assert!(eml::header(email, "Subject").contains(MEMBER));
    }
    let jane = emails.iter().find(|e| eml::header(e, "To") == addresses[0]).expect("Jane's email");
    let code = code_in(jane);

    let verified = app.verify_code(&code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["EmailAddress"], addresses[0]);
    assert_eq!(verified.body["InvitedBy"], MEMBER);
    assert_eq!(verified.body["Message"], message);
    assert_eq!(verified.body["State"], "Pending");

    let signed_up = app.sign_up(&code).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["State"], "Accepted");
    assert_eq!(signed_up.body["EmailAddress"], addresses[0]);
    app.sign_up(&code).await.assert_error(StatusCode::CONFLICT, "already accepted");
    app.verify_code(&code).await.assert_error(StatusCode::CONFLICT, "already accepted");

    let listed = app.user_invitations(&app.admin(ADA), "").await;
    let state_of = |address: &str| {
        listed.iter().find(|i| i["EmailAddress"] == address).map(|i| i["State"].clone()).unwrap_or_default()
    };
    assert_eq!(listed.len(), 3);
    assert_eq!(state_of(addresses[0]), "Accepted");
    assert_eq!((state_of(addresses[1]), state_of(addresses[2])), (json!("Pending"), json!("Pending")));
    assert!(!listed.iter().any(|i| i.to_string().contains(&code)), "no list shows a code");
    assert_eq!(app.user_invitations(&app.admin(ADA), "?State=Pending").await.len(), 2);
    assert_eq!(app.user_invitations(&app.member(MIA), "").await.len(), 3, "the sender sees what they sent");
    let tom = app.member(TOM);
    assert!(app.user_invitations(&tom, "").await.is_empty(), "another member does not see them");
}

async fn a_request_is_all_or_nothing(app: TestApp) {
    app.enable_inviting(ADA).await;
    let domains = app.put_user_settings(ADA, json!({"AllowedEmailDomains": ["partner.example"]})).await;
    assert_eq!(domains.status, StatusCode::OK, "{}", domains.body);

    let bad = app
        .invite_users(&app.member(MIA), &["ok@partner.example", "not-an-address", "eve@elsewhere.example"], "hi")
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "not-an-address");
    bad.assert_error(StatusCode::BAD_REQUEST, "eve@elsewhere.example");
    assert!(!bad.body["Reason"].as_str().unwrap_or_default().contains("ok@partner.example"), "only the bad are named");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "nothing was created");

    let many: Vec<String> = (0..51).map(|i| format!("u{i}@partner.example")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    app.invite_users(&app.member(MIA), &many, "hi").await.assert_error(StatusCode::BAD_REQUEST, "at most 50");
    app.invite_users(&app.member(MIA), &many[..1], &"x".repeat(1_001))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "1000");
    app.invite_users(&app.member(MIA), &[], "hi").await.assert_error(StatusCode::BAD_REQUEST, "at least one");
    let member = app.member(MIA);
    let wrong_type = app.call(Method::POST, INVITATIONS, Some(&member), Some(json!({"EmailAddresses": "a@b.c"})));
    assert_eq!(wrong_type.await.status, StatusCode::BAD_REQUEST);
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "still nothing");

    // Repeats count once; an address with a pending invitation from the tenant is not invited twice.
    let first = app.invite_users(&app.member(MIA), &["a@partner.example", "A@PARTNER.example"], "hi").await;
    assert_eq!(first.body, json!(["a@partner.example"]));
    let second = app.invite_users(&app.member(MIA), &["a@partner.example", "b@partner.example"], "hi").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body, json!(["b@partner.example"]));
    assert_eq!(app.user_invitations(&app.admin(ADA), "").await.len(), 2);
    assert_eq!(app.user_emails(ADA, 2).await.len(), 2);
}

async fn the_daily_limit_holds_under_concurrent_requests(app: TestApp) {
    app.enable_inviting(ADA).await;
    assert_eq!(app.put_user_settings(ADA, json!({"MaxInvitationsPerDay": 7})).await.status, StatusCode::OK);
    // 12 requests of 2 addresses each race for 7 a day: 3 fit (6), never a 4th.
    let token = app.member(MIA);
    let addresses: Vec<[String; 2]> =
        (0..12).map(|i| [format!("r{i}a@partner.example"), format!("r{i}b@partner.example")]).collect();
    let requests: Vec<[&str; 2]> = addresses.iter().map(|[a, b]| [a.as_str(), b.as_str()]).collect();
    let answers = join_all(requests.iter().map(|pair| app.invite_users(&token, pair, "hi"))).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    assert_eq!(ok, 3, "{:?}", answers.iter().map(|a| (a.status, a.body.clone())).collect::<Vec<_>>());
    for refused in answers.iter().filter(|a| a.status != StatusCode::OK) {
        refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "7 invitations a day");
        let wait: i64 = refused.retry_after().and_then(|v| v.parse().ok()).expect("Retry-After in seconds");
        assert!((1..=86_400).contains(&wait), "until the next UTC day: {wait}");
    }
    assert_eq!(app.user_invitations(&app.admin(ADA), "").await.len(), 6);
    let one_more = app.invite_users(&token, &["last@partner.example"], "hi").await;
    assert_eq!(one_more.status, StatusCode::OK, "the seventh still fits: {}", one_more.body);
    app.invite_users(&token, &["over@partner.example"], "hi")
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "7 were sent");

    // The next UTC day counts anew.
    app.clock.advance_minutes(24 * 60);
    assert_eq!(app.invite_users(&token, &["tomorrow@partner.example"], "hi").await.status, StatusCode::OK);
}

async fn the_landing_page_accepts_and_declines(app: TestApp) {
    app.enable_inviting(ADA).await;
    let message = "Come <b>aboard</b> & bring \"friends\"";
    app.invite_users(&app.member(MIA), &["jane@partner.example", "raj@partner.example"], message).await;
    let emails = app.user_emails(ADA, 2).await;
    let link_for =
        |to: &str| eml::link(emails.iter().find(|e| eml::header(e, "To") == to).unwrap(), "https://rsvp.test/invite/");
    let local = |link: &str| link.replace("https://rsvp.test", &app.url);

    let jane = link_for("jane@partner.example");
    let page = app.http.get(local(&jane)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Come &#60;b&#62;aboard&#60;/b&#62; &#38; bring &#34;friends&#34;"), "{page}");
    assert!(page.contains("value=\"accept\"") && page.contains(MEMBER));
    let (path, code) = jane.split_once("?token=").unwrap();
    let form = [("token", code), ("action", "accept"), ("first_name", "Jane"), ("last_name", "Mead")];
    let accepted = app.http.post(local(path)).form(&form).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted = accepted.text().await.unwrap();
    assert!(accepted.contains("Welcome, Jane") && !accepted.contains(code), "{accepted}");
    app.sign_up(code).await.assert_error(StatusCode::CONFLICT, "already accepted");
    let used = app.http.get(local(&jane)).send().await.unwrap();
    assert_eq!(used.status(), StatusCode::NOT_FOUND, "a used link leads nowhere");

    let no_name = app.http.post(local(path)).form(&[("token", code), ("action", "accept")]).send().await.unwrap();
    assert_eq!(no_name.status(), StatusCode::NOT_FOUND, "and cannot be used again");

    let raj = link_for("raj@partner.example");
    let (path, code) = raj.split_once("?token=").unwrap();
    let nameless = app.http.post(local(path)).form(&[("token", code), ("action", "accept")]).send().await.unwrap();
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST, "a name is needed");
    let declined = app.http.post(local(path)).form(&[("token", code), ("action", "decline")]).send().await.unwrap();
    assert_eq!(declined.status(), StatusCode::OK);
    app.verify_code(code).await.assert_error(StatusCode::CONFLICT, "declined");
    let states: Vec<_> = app.user_invitations(&app.admin(ADA), "").await.iter().map(|i| i["State"].clone()).collect();
    assert!(states.contains(&json!("Accepted")) && states.contains(&json!("Declined")), "{states:?}");
}

async fn revoke_and_resend(app: TestApp) {
    app.enable_inviting(ADA).await;
    assert_eq!(
        app.invite_users(&app.member(MIA), &["jane@partner.example", "raj@partner.example"], "hi").await.status,
        StatusCode::OK
    );
    let emails = app.user_emails(ADA, 2).await;
    let code_for = |to: &str| code_in(emails.iter().find(|e| eml::header(e, "To") == to).expect("an email"));
    let (jane, raj) = (code_for("jane@partner.example"), code_for("raj@partner.example"));
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    let id_of = |to: &str| listed.iter().find(|i| i["EmailAddress"] == to).unwrap()["Id"].as_str().unwrap().to_owned();

    let tom = app.member(TOM);
    let path = format!("{INVITATIONS}/{}", id_of("jane@partner.example"));
    app.call(Method::DELETE, &path, Some(&tom), None).await.assert_error(StatusCode::FORBIDDEN, "sent the invitation");
    let stranger = app.admin(OTHER);
    app.call(Method::DELETE, &path, Some(&stranger), None).await.assert_error(StatusCode::NOT_FOUND, "not found");
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.member(MIA)), None).await.status, StatusCode::NO_CONTENT);
    app.verify_code(&jane).await.assert_error(StatusCode::CONFLICT, "revoked");
    app.sign_up(&jane).await.assert_error(StatusCode::CONFLICT, "revoked");
    app.call(Method::DELETE, &path, Some(&app.member(MIA)), None).await.assert_error(StatusCode::CONFLICT, "Revoked");
    app.call(Method::POST, &format!("{path}/resend"), Some(&app.admin(ADA)), None)
        .await
        .assert_error(StatusCode::CONFLICT, "Revoked");
    app.verify_code("not-a-code").await.assert_error(StatusCode::NOT_FOUND, "not valid");

    // Resend: within the cooldown it waits; after it, a new code replaces the old one.
    let resend = format!("{INVITATIONS}/{}/resend", id_of("raj@partner.example"));
    let early = app.call(Method::POST, &resend, Some(&app.admin(ADA)), None).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "resent in");
    assert!(early.retry_after().is_some());
    app.clock.advance_minutes(11);
    assert_eq!(app.call(Method::POST, &resend, Some(&app.admin(ADA)), None).await.status, StatusCode::ACCEPTED);
    let emails = app.user_emails(ADA, 3).await;
    let newest = code_in(emails.iter().rev().find(|e| eml::header(e, "To") == "raj@partner.example").unwrap());
    assert_ne!(newest, raj);
    app.verify_code(&raj).await.assert_error(StatusCode::NOT_FOUND, "not valid");
    assert_eq!(app.verify_code(&newest).await.status, StatusCode::OK);

    // The tenant's cooldown paces the Communities API's Resend as well.
    assert_eq!(app.put_user_settings(ADA, json!({"ResendCooldownMinutes": 0})).await.status, StatusCode::OK);
    let owner = app.admin(ADA);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let created = app
        .call(
            Method::POST,
            &format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap()),
            Some(&owner),
            Some(json!({"InvitationRecipient": "bob@guest.example"})),
        )
        .await;
    let process = format!("/api/v1-preview/communityinvitations/{}", created.body["Id"].as_str().unwrap());
    // No cooldown of its own still waits out the deployment's floor (5 minutes by default).
    let early = app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"}))).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "5 minutes");
    assert_eq!(early.retry_after(), Some("300"));
    app.clock.advance_minutes(5);
    let resent = app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"}))).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "past the floor: {}", resent.body);
    assert_eq!(app.put_user_settings(ADA, json!({"ResendCooldownMinutes": 30})).await.status, StatusCode::OK);
    app.call(Method::PUT, &process, Some(&owner), Some(json!({"Action": "Resend"})))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "30 minutes");
}

/// A Resend is an email like any other: it counts against the tenant's `MaxInvitationsPerDay` (a member once sent
/// 30 emails to one address under a limit of 2 a day), and a tenant's cooldown of 0 still waits out the
/// deployment's floor. Once the day's emails are spent, neither dialect sends another, and nothing is written.
async fn resends_draw_from_the_days_budget_and_wait_out_the_floor(app: TestApp) {
    app.enable_inviting(ADA).await;
    let changed = app.put_user_settings(ADA, json!({"MaxInvitationsPerDay": 2, "ResendCooldownMinutes": 0})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    // An hour into the next UTC day, so that the minutes below stay within one day.
    app.clock.advance_minutes(seconds_to_next_day(app.clock.now()) / 60 + 60);
    assert_eq!(app.invite_users(&app.member(MIA), &["jane@partner.example"], "hi").await.status, StatusCode::OK);
    let first = code_in(&app.user_emails(ADA, 1).await[0]);
    let id = app.user_invitations(&app.admin(ADA), "").await[0]["Id"].as_str().unwrap().to_owned();
    let resend = format!("{INVITATIONS}/{id}/resend");
    let early = app.call(Method::POST, &resend, Some(&app.member(MIA)), None).await;
    early.assert_error(StatusCode::TOO_MANY_REQUESTS, "5 minutes");
    assert_eq!(early.retry_after(), Some("300"), "the floor's wait, not the tenant's 0");
    app.clock.advance_minutes(4);
    let still = app.call(Method::POST, &resend, Some(&app.member(MIA)), None).await;
    assert_eq!((still.status, still.retry_after()), (StatusCode::TOO_MANY_REQUESTS, Some("60")));
    app.clock.advance_minutes(1);
    assert_eq!(app.call(Method::POST, &resend, Some(&app.member(MIA)), None).await.status, StatusCode::ACCEPTED);
    let codes: Vec<String> = app.user_emails(ADA, 2).await.iter().map(|e| code_in(e)).collect();
    let newest = codes.iter().find(|c| **c != first).expect("the resent email's new code").clone();

    app.clock.advance_minutes(5);
    let spent = app.call(Method::POST, &resend, Some(&app.member(MIA)), None).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day; 2 were sent today");
    let to_next_day = seconds_to_next_day(app.clock.now()).to_string();
    assert_eq!(spent.retry_after(), Some(to_next_day.as_str()), "until the next UTC day");
    assert_eq!(app.verify_code(&newest).await.status, StatusCode::OK, "the refused Resend changed nothing");
    // The tenant's budget covers its community invitations too.
    let owner = app.admin(ADA);
    let community =
        app.call(Method::POST, "/api/v1-preview/communities", Some(&owner), Some(json!({"Name": "Ops"}))).await;
    let invitations = format!("/api/v1-preview/communities/{}/invitations", community.body["Id"].as_str().unwrap());
    app.call(Method::POST, &invitations, Some(&owner), Some(json!({"InvitationRecipient": "bob@guest.example"})))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "2 invitations a day");
    let listed = app.call(Method::GET, &invitations, Some(&owner), None).await;
    assert_eq!(listed.body, json!([]), "nothing was written");
    assert_eq!(app.user_emails(ADA, 2).await.len(), 2, "two emails in all");
}
