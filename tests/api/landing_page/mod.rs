//! The invitation landing page (`/invite/{invitationId}?token=<secret>`) over real HTTP, against the local server
//! (`rsvp-local`) over the embedded store, and in a real browser ([`browser`]).

mod browser;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use rsvp::domain::{InvitationId, Timestamp};
use rsvp::seal::AesSealer;
use rsvp::store::memory::MemoryStore;
use rsvp_tests::harness::communities::{BASE, token_of};
use rsvp_tests::harness::{GUEST, OTHER, OWNER};
use rsvp_tests::{Answer, TestApp, eml};
use serde_json::{Value, json};

const START: Timestamp = Timestamp::from_millis(1_790_000_000_000);
const SIGN_IN: &str = "https://app.example/sign-in";
const FORM: &str = "application/x-www-form-urlencoded";

/// The local server with its invitation links pointing at itself, its own mailer writing each email as an `.eml`
/// file as `rsvp-local serve` does, and a client that follows no redirect (the pages' answers are checked as they
/// are sent).
async fn spawn() -> TestApp {
    let data = eml::temp_dir();
    let sealer = Arc::new(AesSealer::load_or_create(&data).expect("the local outbox key"));
    TestApp::builder()
        .local_mailer(Arc::new(MemoryStore::new()), &data.join("outbox"))
        .sealer(sealer)
        .links_to_itself()
        .sign_in_url(SIGN_IN)
        .clock_at(START)
        .no_redirects()
        .spawn()
        .await
}

/// A community named `name` with an invitation for the guest; its id, the invitation's id and its link.
async fn invitation(app: &TestApp, name: &str) -> (String, String, String) {
    let owner = app.admin(OWNER);
    let community = app.create_community_as(&owner, json!({"Name": name, "ContactEmail": "ops@owner.example"})).await;
    let created = app.invite(&community, GUEST.1).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let link = created.body["InvitationUrl"].as_str().expect("the link").to_owned();
    assert!(link.starts_with(&format!("{}/invite/{id}?token=", app.url)), "{link}");
    (community, id, link)
}

/// The invitation's `State`, as the owner's administrator reads it.
async fn state(app: &TestApp, community: &str, invitation: &str) -> Value {
    let read = app.get_invitation(community, invitation, &app.admin(OWNER)).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    read.body["State"].clone()
}

/// What the page of an invitation that does not exist looks like.
async fn missing_invitation_page(app: &TestApp, token: &str) -> Answer {
    let page = app.page(&format!("{}/invite/{}?token={token}", app.url, InvitationId::new())).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    page.assert_secure_page();
    assert!(page.text.contains("This invitation link is not valid."), "{}", page.text);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_invitation_with_every_value_escaped() {
    let app = spawn().await;
    let name = r#"<b onmouseover="x()">Ops</b> & 'Co'"#;
    let (_, id, link) = invitation(&app, name).await;
    let page = app.page(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.assert_secure_page();
    assert!(!page.text.contains("<b onmouseover"), "the name is not markup: {}", page.text);
    let escaped = "&#60;b onmouseover=&#34;x()&#34;&#62;Ops&#60;/b&#62; &#38; &#39;Co&#39;";
    assert!(page.text.contains(&format!("<h1>{escaped}</h1>")), "{}", page.text);
    let from = format!("<dd>{}, {}</dd>", OWNER.1, OWNER.0);
    for shown in [from.as_str(), GUEST.1, "Waiting for an answer", "ops@owner.example", "Decline invitation"] {
        assert!(page.text.contains(shown), "the page shows {shown}: {}", page.text);
    }
    // Accept continues to the product's sign-in with the invitation and its secret, for the recipient's address.
    assert!(page.text.contains(&format!("signed in as {}, accepts", GUEST.1)), "{}", page.text);
    let token = token_of(&link);
    assert!(page.text.contains(&format!("href=\"{SIGN_IN}?invitation={id}&#38;token={token}\"")), "{}", page.text);
    // The form posts back to the page's own path, relative to it.
    assert!(page.text.contains(&format!("<form method=\"post\" action=\"{id}\">")), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_missing_and_used_up_links_all_get_the_missing_invitation_page() {
    let app = spawn().await;
    let (community, id, link) = invitation(&app, "Shared Operations").await;
    let token = token_of(&link).to_owned();
    let not_found = missing_invitation_page(&app, &token).await;

    let wrong = format!("{}/invite/{id}?token=", app.url);
    for dead in [
        format!("{wrong}{}", "A".repeat(43)),
        format!("{wrong}{}", &token[..42]),
        format!("{wrong}{token}x"),
        format!("{wrong}{}", "x".repeat(5_000)),
        wrong.clone(),
        format!("{}/invite/{id}", app.url),
        format!("{}/invite/{id}?secret={token}", app.url),
        format!("{}/invite/not-an-id?token={token}", app.url),
    ] {
        app.page(&dead).await.assert_not_found_page(&not_found);
    }
    // A POST with a wrong or missing token is the same page too, and changes nothing.
    for form in ["token=nope&action=decline", "action=decline"] {
        app.post_page(&format!("/invite/{id}"), FORM, form).await.assert_not_found_page(&not_found);
    }
    assert_eq!(state(&app, &community, &id).await, "InvitationCreated");

    // Once answered, the link is used up.
    let declined = app.post_page(&format!("/invite/{id}"), FORM, format!("token={token}&action=decline")).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    app.page(&link).await.assert_not_found_page(&not_found);
    app.post_page(&format!("/invite/{id}"), FORM, format!("token={token}&action=decline"))
        .await
        .assert_not_found_page(&not_found);

    // A withdrawn invitation's link leads nowhere either.
    let (community, id, link) = invitation(&app, "Second").await;
    let path = format!("{BASE}/communities/{community}/invitations/{id}");
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.admin(OWNER)), None).await.status, StatusCode::NO_CONTENT);
    app.page(&link).await.assert_not_found_page(&not_found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_holder_declines_without_signing_in_and_the_api_sees_it() {
    let app = spawn().await;
    let (community, id, link) = invitation(&app, "Shared Operations").await;
    let page = app.post_page(&format!("/invite/{id}"), FORM, format!("action=decline&token={}", token_of(&link))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.assert_secure_page();
    assert!(page.text.contains("You declined this invitation.") && page.text.contains(">Declined<"));
    assert!(!page.text.contains(token_of(&link)) && !page.text.contains("<form"), "nothing left to do: {}", page.text);

    assert_eq!(state(&app, &community, &id).await, "InvitationDeclined");
    let stored = app.store.get_invitation(InvitationId::parse("id", &id).unwrap()).await.unwrap().unwrap();
    let line = stored.history.last().expect("a history line");
    assert_eq!(line.action, "Decline");
    assert!(line.by_link_holder() && line.tenant.is_none(), "recorded as done with the link: {line:?}");
    // The recipient can no longer act on it, and a new invitation for the same address is possible again.
    let Answer { status, body, .. } = app
        .call(
            Method::PUT,
            &format!("{BASE}/communityinvitations/{id}"),
            Some(&app.admin(GUEST)),
            Some(json!({"Action": "Decline"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let path = format!("{BASE}/communities/{community}/invitations");
    let Answer { status, body, .. } =
        app.call(Method::POST, &path, Some(&app.admin(OWNER)), Some(json!({"InvitationRecipient": GUEST.1}))).await;
    assert_eq!(status, StatusCode::CREATED, "declining released the pending-invitation lock: {body}");
}

/// A stolen link opens the page and declines, but accepting needs the recipient's verified address: another
/// tenant's administrator presenting the secret to the API is refused, the page still works, and then declines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_link_declines_but_never_accepts() {
    let app = spawn().await;
    let (community, id, link) = invitation(&app, "Shared Operations").await;
    let stranger = app.admin_named(OTHER, "t2 Guest Corp", true);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@other.example"});
    let accepted = app.process_with_link(&id, &stranger, token_of(&link), accept).await;
    assert_eq!(accepted.status, StatusCode::FORBIDDEN);
    let reason = accepted.body;
    assert!(!reason.to_string().contains(GUEST.1), "{reason}");
    assert_eq!(state(&app, &community, &id).await, "InvitationCreated");
    // The page is as it was, and the page's Accept is no way round it: it accepts no community invitation.
    let page = app.page(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let refused =
        app.post_page(&format!("/invite/{id}"), FORM, format!("token={}&action=accept", token_of(&link))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(state(&app, &community, &id).await, "InvitationCreated");
    let declined =
        app.post_page(&format!("/invite/{id}"), FORM, format!("token={}&action=decline", token_of(&link))).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.text);
    assert_eq!(state(&app, &community, &id).await, "InvitationDeclined");
}

/// An invitation that admits the recipient's domain says so on its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_wide_invitation_says_whose_sign_in_accepts() {
    let app = spawn().await;
    let (community, _, _) = invitation(&app, "Shared Operations").await;
    let path = format!("{BASE}/communities/{community}/invitations");
    let body = json!({"InvitationRecipient": "carol@guest.example", "AcceptFrom": "RecipientDomain"});
    let Answer { status, body: created, .. } = app.call(Method::POST, &path, Some(&app.admin(OWNER)), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let page = app.page(created["InvitationUrl"].as_str().expect("the link")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("signed in with an address at guest.example, accepts"), "{}", page.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_form_is_a_400_page_and_changes_nothing() {
    let app = spawn().await;
    let (community, id, link) = invitation(&app, "Shared Operations").await;
    let token = token_of(&link).to_owned();
    let path = format!("/invite/{id}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", format!(r#"{{"token":"{token}","action":"decline"}}"#).into_bytes()),
        ("text/plain", format!("token={token}&action=decline").into_bytes()),
        (FORM, format!("token={token}&action=accept").into_bytes()),
        (FORM, format!("token={token}").into_bytes()),
        (FORM, format!("token={token}&action=decline&action=decline").into_bytes()),
        (FORM, Vec::new()),
        (FORM, format!("token={token}&action=decline&pad={}", "x".repeat(64 * 1024)).into_bytes()),
    ];
    for (content_type, body) in cases {
        let page = app.post_page(&path, content_type, body).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{content_type}: {}", page.text);
        page.assert_secure_page();
        assert!(page.text.contains("This request could not be handled"), "{}", page.text);
        assert!(!page.text.contains(&token), "{}", page.text);
    }
    assert_eq!(state(&app, &community, &id).await, "InvitationCreated");
    // The same link still works.
    assert_eq!(app.page(&link).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_invitation_says_so_and_can_no_longer_be_declined() {
    let app = spawn().await;
    let (community, id, link) = invitation(&app, "Shared Operations").await;
    app.clock.advance_minutes(14 * 24 * 60);
    let page = app.page(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.assert_secure_page();
    assert!(page.text.contains("has expired") && page.text.contains(">Expired<"), "{}", page.text);
    assert!(!page.text.contains("<form") && !page.text.contains(SIGN_IN), "{}", page.text);
    let late = app.post_page(&format!("/invite/{id}"), FORM, format!("token={}&action=decline", token_of(&link))).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    late.assert_secure_page();
    assert!(late.text.contains("InvitationExpired"), "{}", late.text);
    assert_eq!(state(&app, &community, &id).await, "InvitationExpired");
}

/// A `RedirectUrl` leads the person on once they answered: only to one of the owner tenant's
/// `AllowedRedirectOrigins`, so an invitation never makes this page an open redirect. A create naming another
/// origin (or before the tenant allowed any) is a 400 and writes nothing; a decline answers 303 to the URL given,
/// the page (with its headers) as the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_invitation_leads_on_only_to_an_origin_the_tenant_allowed() {
    let app = spawn().await;
    let (community, _, _) = invitation(&app, "Redirects").await;
    let owner = app.admin(OWNER);
    let path = format!("{BASE}/communities/{community}/invitations");
    let invite = |to: &'static str| json!({"InvitationRecipient": "ann@guest.example", "RedirectUrl": to});
    let Answer { status, body: refused, .. } =
        app.call(Method::POST, &path, Some(&owner), Some(invite("https://app.owner.example/done"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no origin is allowed before the tenant lists one: {refused}");
    assert!(refused["Reason"].as_str().unwrap().contains("AllowedRedirectOrigins"), "{refused}");

    let saved = app.put_user_settings(OWNER, json!({"AllowedRedirectOrigins": ["https://app.owner.example"]})).await;
    assert_eq!(saved.status, StatusCode::OK);
    for evil in [
        "https://evil.example/phish",
        "https://app.owner.example.evil.example/",
        "javascript:alert(1)",
        "http://app.owner.example/",
    ] {
        let Answer { status, body, .. } = app.call(Method::POST, &path, Some(&owner), Some(invite(evil))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{evil}: {body}");
    }
    let Answer { status, body: created, .. } =
        app.call(Method::POST, &path, Some(&owner), Some(invite("https://app.owner.example/done?from=rsvp"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["RedirectUrl"], "https://app.owner.example/done?from=rsvp");
    let listed = app.call(Method::GET, &path, Some(&owner), None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2, "the refused creates wrote nothing: {listed}");

    let id = created["Id"].as_str().unwrap();
    let link = created["InvitationUrl"].as_str().unwrap();
    let page = app.post_page(&format!("/invite/{id}"), FORM, format!("action=decline&token={}", token_of(link))).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    assert_eq!(page.header("location"), Some("https://app.owner.example/done?from=rsvp"));
    page.assert_secure_page();
    assert_eq!(state(&app, &community, id).await, "InvitationDeclined");
}
