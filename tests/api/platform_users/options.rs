//! The tenant's settings, and what an invite request may ask for: metadata, a shorter life, a redirect, roles,
//! no email, a language (in the tenant's branding).

use reqwest::{Method, StatusCode};
use rsvp::domain::{Clock as _, IdempotencyRecord, Principal, Role, TenantId, UserId, seconds_to_next_day};
use rsvp_tests::TestApp;
use rsvp_tests::eml;
use rsvp_tests::harness::OTHER;
use rsvp_tests::harness::users::{INVITATIONS, code_in};
use serde_json::{Value, json};

use super::{ACME, ADA, MEMBER, MIA, SETTINGS, dynamodb, memory};

rsvp_tests::against_both_stores!(
    settings_are_validated_and_scoped_to_the_tenant,
    metadata_reaches_every_invitation_of_a_request_and_the_sign_up,
    an_invitation_may_live_fewer_days_than_the_tenants_setting,
    a_redirect_is_kept_only_to_an_allowed_origin_and_handed_to_the_sign_up,
    roles_are_limited_to_the_invitable_ones_the_caller_may_grant,
    a_link_only_invitation_sends_no_email_and_counts_as_an_invitation,
    the_email_speaks_the_invitations_language_and_wears_the_tenants_branding,
);

async fn settings_are_validated_and_scoped_to_the_tenant(app: TestApp) {
    let defaults = app.business_settings(MIA, "?IncludeUserSettings=true").await;
    assert_eq!(
        defaults.body["UserSettings"],
        json!({"InviteUnregisteredUsers": "com.soa.feature.disabled", "InvitedUserValidDays": 7,
               "AllowedEmailDomains": [], "MaxInvitationsPerDay": 50, "ResendCooldownMinutes": 10,
               "AllowedRedirectOrigins": [], "InvitableRoles": ["TenantMember"],
               "Branding": {"SenderName": null, "ProductName": null, "LogoUrl": null, "AccentColor": null,
                            "SupportEmail": null, "FooterText": null},
               "DefaultLocale": null})
    );
    // Origins a RedirectUrl may lead to: each an origin, no path; anything else is refused with the rule.
    app.put_user_settings(ADA, json!({"AllowedRedirectOrigins": ["https://app.acme.example/path"]}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "not an origin");
    let none = app.business_settings(MIA, "").await;
    assert_eq!(none.body, json!({"BusinessID": ACME}), "no flag, no group");
    app.business_settings(MIA, "?IncludeUserSettings=yes")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "IncludeUserSettings");

    let member_change =
        app.call(Method::PUT, SETTINGS, Some(&app.member(MIA)), Some(json!({"InviteUnregisteredUsers": true}))).await;
    member_change.assert_error(StatusCode::FORBIDDEN, "TenantAdministrator");
    let stranger = app.admin(OTHER);
    app.call(Method::PUT, SETTINGS, Some(&stranger), Some(json!({"InviteUnregisteredUsers": true})))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");
    app.call(Method::GET, "/api/businesses/tenant-acme/settings", Some(&stranger), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not found");

    let bad = app
        .put_user_settings(
            ADA,
            json!({"InvitedUserValidDays": 0, "MaxInvitationsPerDay": 100000, "AllowedEmailDomains": ["no way"]}),
        )
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "InvitedUserValidDays");
    bad.assert_error(StatusCode::BAD_REQUEST, "MaxInvitationsPerDay");
    bad.assert_error(StatusCode::BAD_REQUEST, "AllowedEmailDomains");
    app.put_user_settings(ADA, json!({"InviteUsers": true})).await.assert_error(StatusCode::BAD_REQUEST, "InviteUsers");
    app.put_user_settings(ADA, json!({"InviteUnregisteredUsers": "yes"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "com.soa.feature.enabled");
    let unchanged = app.business_settings(MIA, "?IncludeUserSettings=true").await;
    assert_eq!(unchanged.body, defaults.body, "a refused change changes nothing");

    let changed = app.put_user_settings(ADA, json!({"InvitedUserValidDays": 3})).await;
    assert_eq!(changed.body["InvitedUserValidDays"], 3);
    assert_eq!(changed.body["InviteUnregisteredUsers"], "com.soa.feature.disabled", "unnamed settings stay");
    app.enable_inviting(ADA).await;
    app.invite_users(&app.member(MIA), &["jane@partner.example"], "").await;
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    let expires = app.clock.now().plus_days(3).to_rfc3339();
    assert_eq!(listed[0]["Expires"], json!(expires), "valid for the tenant's 3 days");
    assert!(listed[0]["Message"].is_null(), "an empty message is none");
    let allowed = json!({"AllowedRedirectOrigins": ["https://App.Acme.example", "http://localhost:3000"]});
    let origins = app.put_user_settings(ADA, allowed).await;
    assert_eq!(origins.body["AllowedRedirectOrigins"], json!(["https://app.acme.example", "http://localhost:3000"]));
}

/// `Metadata` on an invite request: each invitation of it keeps the object as given, the list shows it and the
/// sign-up's answer hands it back to the product; bad metadata is a 400 naming the limit and writes nothing.
async fn metadata_reaches_every_invitation_of_a_request_and_the_sign_up(app: TestApp) {
    app.enable_inviting(ADA).await;
    let given = json!({"role_hint": "viewer", "seats": 2, "nested": {"list": [1, 2.5]}});
    let addresses = ["ann@partner.example", "ben@partner.example"];
    let refused = app
        .call(
            Method::POST,
            INVITATIONS,
            Some(&app.member(MIA)),
            Some(json!({"EmailAddresses": addresses, "Metadata": [1]})),
        )
        .await;
    refused.assert_error(StatusCode::BAD_REQUEST, "must be a JSON object");
    let deep = json!({"EmailAddresses": addresses, "Metadata": {"a": {"b": {"c": {}}}}});
    app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(deep))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "at most 3");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "a refused request writes nothing");

    let body = json!({"EmailAddresses": addresses, "Message": "Welcome", "Metadata": given});
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(body)).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|i| i["Metadata"] == given), "{listed:?}");
    let emails = app.user_emails(ADA, 2).await;
    let ann = emails.iter().find(|e| eml::header(e, "To") == addresses[0]).expect("Ann's email");
    let signed_up = app.sign_up(&code_in(ann)).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["Metadata"], given, "the sign-up hands the product its data back");
}

/// `ExpiresInDays` on an invite request: within the tenant's `InvitedUserValidDays` (7 by default) each invitation
/// lives that many days; beyond it, a 400 naming the bound, and nothing written.
async fn an_invitation_may_live_fewer_days_than_the_tenants_setting(app: TestApp) {
    app.enable_inviting(ADA).await;
    let too_long = json!({"EmailAddresses": ["ann@partner.example"], "ExpiresInDays": 8});
    app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(too_long))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "from 1 to 7");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "a refused request writes nothing");
    let body = json!({"EmailAddresses": ["ann@partner.example"], "ExpiresInDays": 1});
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(body)).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    let now = rsvp::domain::Clock::now(app.clock.as_ref());
    assert_eq!(listed[0]["Expires"], now.plus_days(1).to_rfc3339());
}

/// `RedirectUrl` on an invite request: refused (400, nothing written) unless its origin is one the tenant allows;
/// kept, listed and handed to the sign-up's answer when it is.
async fn a_redirect_is_kept_only_to_an_allowed_origin_and_handed_to_the_sign_up(app: TestApp) {
    app.enable_inviting(ADA).await;
    let invite = |to: &str| json!({"EmailAddresses": ["ann@partner.example"], "RedirectUrl": to});
    let refused =
        app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(invite("https://app.acme.example/x"))).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "AllowedRedirectOrigins");
    let allowed = app.put_user_settings(ADA, json!({"AllowedRedirectOrigins": ["https://app.acme.example"]})).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    let evil =
        app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(invite("https://evil.example/x"))).await;
    evil.assert_error(StatusCode::BAD_REQUEST, "https://evil.example");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "a refused request writes nothing");

    let to = "https://app.acme.example/welcome";
    let invited = app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(invite(to))).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_eq!(app.user_invitations(&app.admin(ADA), "").await[0]["RedirectUrl"], to);
    let emails = app.user_emails(ADA, 1).await;
    let signed_up = app.sign_up(&code_in(&emails[0])).await;
    assert_eq!(signed_up.body["RedirectUrl"], to, "{}", signed_up.body);
}

/// `Roles` on an invite request: only roles the tenant's `InvitableRoles` lists (`TenantMember` by default), and
/// from a member only those it holds; refused requests write nothing. The roles reach the list and the sign-up.
async fn roles_are_limited_to_the_invitable_ones_the_caller_may_grant(app: TestApp) {
    app.enable_inviting(ADA).await;
    let invite = |roles: Value| json!({"EmailAddresses": ["ann@partner.example"], "Roles": roles});
    let member = app.member(MIA);
    let app = &app;
    let post =
        |token: String, body: Value| async move { app.call(Method::POST, INVITATIONS, Some(&token), Some(body)).await };
    post(member.clone(), invite(json!(["TenantAdministrator"])))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "InvitableRoles");
    post(member.clone(), invite(json!(["not a role"]))).await.assert_error(StatusCode::BAD_REQUEST, "not a role name");
    let widened =
        app.put_user_settings(ADA, json!({"InvitableRoles": ["TenantMember", "TenantAdministrator", "Billing"]})).await;
    assert_eq!(widened.body["InvitableRoles"], json!(["TenantMember", "TenantAdministrator", "Billing"]));
    post(member.clone(), invite(json!(["TenantAdministrator"])))
        .await
        .assert_error(StatusCode::FORBIDDEN, "do not hold");
    post(member.clone(), invite(json!(["Billing"]))).await.assert_error(StatusCode::FORBIDDEN, "do not hold");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "a refused request writes nothing");

    let invited = post(member, invite(json!(["TenantMember"]))).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let by_admin = json!({"EmailAddresses": ["bea@partner.example"], "Roles": ["TenantAdministrator", "Billing"]});
    assert_eq!(
        post(app.admin(ADA), by_admin).await.status,
        StatusCode::OK,
        "an administrator grants any invitable role"
    );
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    let roles_of = |address: &str| listed.iter().find(|i| i["EmailAddress"] == address).unwrap()["Roles"].clone();
    assert_eq!(
        (roles_of("ann@partner.example"), roles_of("bea@partner.example")),
        (json!(["TenantMember"]), json!(["TenantAdministrator", "Billing"]))
    );
    let emails = app.user_emails(ADA, 2).await;
    let ann = emails.iter().find(|e| eml::header(e, "To") == "ann@partner.example").unwrap();
    assert_eq!(app.sign_up(&code_in(ann)).await.body["Roles"], json!(["TenantMember"]));
}

/// `SendEmail: false`: the answer lists each invitation's link instead of its address, no email goes out (the
/// list shows no delivery), and the invitation counts on the tenant's `MaxInvitationsPerDay` like any other. Its
/// Resend answers the new link (the old one dies) and sends nothing either.
async fn a_link_only_invitation_sends_no_email_and_counts_as_an_invitation(app: TestApp) {
    app.enable_inviting(ADA).await;
    let limited = app.put_user_settings(ADA, json!({"MaxInvitationsPerDay": 3})).await;
    assert_eq!(limited.status, StatusCode::OK, "{}", limited.body);
    // An hour into the next UTC day, so that the day's count below is one day's.
    app.clock.advance_minutes(seconds_to_next_day(app.clock.now()) / 60 + 60);
    let link_only = |to: &[&str]| json!({"EmailAddresses": to, "SendEmail": false});
    let body = link_only(&["ann@partner.example", "ben@partner.example"]);
    let post = || {
        let request = app.http.post(format!("{}{INVITATIONS}", app.url)).bearer_auth(app.member(MIA));
        app.send(request.header("Idempotency-Key", "links-1").json(&body))
    };
    let invited = post().await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let replayed = post().await;
    assert_eq!((replayed.replayed(), &replayed.body), (true, &invited.body), "a replay answers the same links");
    let links = invited.body.as_array().expect("a list").clone();
    assert_eq!(links.len(), 2, "{}", invited.body);
    assert_eq!(links[0]["EmailAddress"], "ann@partner.example");
    let id = links[0]["InvitationId"].as_str().expect("an id").to_owned();
    let url = links[0]["InvitationUrl"].as_str().expect("a link").to_owned();
    let code = url.strip_prefix(&format!("https://rsvp.test/invite/{id}?token=")).expect("the landing link").to_owned();
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    assert!(listed.iter().all(|i| i["SendEmail"] == false && i["DeliveryState"].is_null()), "{listed:?}");
    assert!(!listed.iter().any(|i| i.to_string().contains(&code)), "a list never shows the link's code");
    // The answer kept for the replay holds the links sealed, never in clear.
    let caller = Principal {
        user: UserId::parse("sub", MEMBER).expect("a user id"),
        tenant: TenantId::parse("tenant", ACME).expect("a tenant id"),
        email: None,
        tenant_name: None,
        roles: vec![Role::TenantMember],
    };
    let now = app.clock.now();
    let record = IdempotencyRecord::claim(&caller, "invite_users", "links-1", INVITATIONS, b"", now).expect("a key");
    let kept = app.store.claim_idempotency(&record, now).await.expect("read").expect("the first request's record");
    let answer = kept.answer.expect("answered");
    assert!(answer.sealed_for.is_some() && !answer.body.contains(&code), "kept sealed: {}", answer.body);

    // A third invitation, emailed, still fits the day's 3; a fourth of either kind does not.
    assert_eq!(app.invite_users(&app.member(MIA), &["cat@partner.example"], "").await.status, StatusCode::OK);
    let spent =
        app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(link_only(&["dan@partner.example"]))).await;
    spent.assert_error(StatusCode::TOO_MANY_REQUESTS, "3 invitations a day");
    let emails = app.user_emails(ADA, 1).await;
    assert_eq!(emails.len(), 1, "only the emailed invitation sent an email");
    assert_eq!(eml::header(&emails[0], "To"), "cat@partner.example");

    // Its Resend renews the link alone: 200 with the new link, the old code dead, no email.
    app.clock.advance_minutes(11);
    let resent = app.call(Method::POST, &format!("{INVITATIONS}/{id}/resend"), Some(&app.member(MIA)), None).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let renewed = resent.body["InvitationUrl"].as_str().expect("the new link").to_owned();
    let new_code = renewed.split_once("?token=").expect("a code").1.to_owned();
    assert_ne!(new_code, code);
    app.verify_code(&code).await.assert_error(StatusCode::NOT_FOUND, "");
    let signed_up = app.sign_up(&new_code).await;
    assert_eq!(signed_up.status, StatusCode::OK, "{}", signed_up.body);
    assert_eq!(signed_up.body["SendEmail"], false, "{}", signed_up.body);
    assert_eq!(app.user_emails(ADA, 1).await.len(), 1, "still only the one email");
}

/// `Locale` on an invite (a language tag; malformed: 400, nothing written) chooses the email's language; one rsvp
/// has no words for falls back to the tenant's `DefaultLocale`. The tenant's `Branding` (each field checked, every
/// fault named, nothing saved on a fault) dresses both parts of the email and names its sender.
async fn the_email_speaks_the_invitations_language_and_wears_the_tenants_branding(app: TestApp) {
    app.enable_inviting(ADA).await;
    let before = app.business_settings(MIA, "?IncludeUserSettings=true").await;
    app.put_user_settings(ADA, json!({"DefaultLocale": "fr"}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "rsvp has words for: en, de");
    let bad = app
        .put_user_settings(
            ADA,
            json!({"Branding": {"LogoUrl": "http://cdn.acme.example/l.png", "AccentColor": "red",
                                      "SenderName": "Acme\r\nBcc: x@evil.example", "SupportEmail": "nope"}}),
        )
        .await;
    for field in ["Branding.LogoUrl", "Branding.AccentColor", "Branding.SenderName", "Branding.SupportEmail"] {
        bad.assert_error(StatusCode::BAD_REQUEST, field);
    }
    app.put_user_settings(ADA, json!({"Branding": {"Colour": "#fff"}}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Colour");
    let after = app.business_settings(MIA, "?IncludeUserSettings=true").await;
    assert_eq!(after.body, before.body, "a refused change changes nothing");

    let branding = json!({"SenderName": "Acme Einladungen", "ProductName": "Acme Cloud",
                          "LogoUrl": "https://cdn.acme.example/logo.png", "AccentColor": "#0A7D5A",
                          "SupportEmail": "help@acme.example", "FooterText": "Acme GmbH, Berlin"});
    let saved = app.put_user_settings(ADA, json!({"DefaultLocale": "de-DE", "Branding": branding})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["DefaultLocale"], "de");
    assert_eq!(saved.body["Branding"]["AccentColor"], "#0a7d5a");

    let invite = |to: &str, locale: &str| json!({"EmailAddresses": [to], "Message": "Willkommen <3", "Locale": locale});
    let refused = app
        .call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(invite("x@partner.example", "not a tag!")))
        .await;
    refused.assert_error(StatusCode::BAD_REQUEST, "Locale must be a language tag");
    assert!(app.user_invitations(&app.admin(ADA), "").await.is_empty(), "a refused request writes nothing");
    for (to, locale) in [("ann@partner.example", "fr-CA"), ("ben@partner.example", "en")] {
        let invited = app.call(Method::POST, INVITATIONS, Some(&app.member(MIA)), Some(invite(to, locale))).await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    }
    let listed = app.user_invitations(&app.admin(ADA), "").await;
    assert!(listed.iter().any(|i| i["Locale"] == "fr-CA") && listed.iter().any(|i| i["Locale"] == "en"), "{listed:?}");
    let emails = app.user_emails(ADA, 2).await;
    for (to, hello, subject) in [
        ("ann@partner.example", "Guten Tag,", "mia@acme.example lädt Sie zu tenant-acme ein"),
        ("ben@partner.example", "Hello,", "mia@acme.example invites you to join tenant-acme"),
    ] {
        let email = emails.iter().find(|e| eml::header(e, "To") == to).expect("an email to each");
        assert!(eml::decoded_header(email, "From").starts_with("Acme Einladungen <"), "{email}");
        assert_eq!(eml::decoded_header(email, "Subject"), subject);
        let (text, html) = (eml::text_part(email), eml::html_part(email));
        assert!(text.contains(hello) && text.contains("Willkommen <3"), "{text}");
        assert!(text.contains("-- \nAcme Cloud\nAcme GmbH, Berlin") && text.contains("help@acme.example"), "{text}");
        assert!(
            html.contains(hello) && html.contains("Willkommen &#60;3") && html.contains("color: #0a7d5a"),
            "{html}"
        );
        assert!(html.contains("<img src=\"https://cdn.acme.example/logo.png\"") && html.contains("Acme GmbH, Berlin"));
    }
}
