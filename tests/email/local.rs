//! The local server's emails, as `rsvp-local serve` sends them: `.eml` files in its outbox whose link works, what a
//! previous run left owed, a failed send the API shows and Resend mends, and a server killed mid-batch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rsvp::domain::{CommunityId, CommunityInvitation, DeliveryState, Secret};
use rsvp::seal::AesSealer;
use rsvp::store::CommunityStore as _;
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp_local::{SigningKey, TokenClaims};
use rsvp_tests::harness::communities::BASE;
use rsvp_tests::harness::{GUEST, OWNER, child};
use rsvp_tests::{TestApp, eml};
use serde_json::{Value, json};

use super::{delivery, invite, owed_in};

/// Creates "Shared Operations" (contact `ops@owner.example`) and invites bob@guest.example over HTTP, as the owner's
/// administrator: the community's id and the create answer.
async fn invite_over_http(app: &TestApp) -> (String, Value) {
    let body = json!({"Name": "Shared Operations", "ContactEmail": "ops@owner.example"});
    let community = app.create_community_as(&app.admin(OWNER), body).await;
    let created = app.invite(&community, "bob@guest.example").await;
    assert_eq!(created.status, StatusCode::CREATED);
    (community, created.body)
}

#[tokio::test]
async fn the_local_server_writes_each_email_as_an_eml_whose_link_works() {
    let dir = eml::temp_dir();
    let app = TestApp::serving(&dir).spawn().await;
    let (community, created) = invite_over_http(&app).await;
    let (url, owner) = (&app.url, app.admin(OWNER));
    let invitation = created["Id"].as_str().unwrap().to_owned();

    let messages = app.outbox_messages(1).await;
    let eml = &messages[0];
    assert_eq!(eml::header(eml, "To"), "bob@guest.example");
    assert_eq!(eml::header(eml, "Subject"), "admin@owner.example invites you to join Shared Operations");
    let text = eml::text_part(eml);
    let link = text.lines().find(|l| l.starts_with(&format!("{url}/invite/{invitation}?token="))).expect("the link");
    assert_eq!(link, created["InvitationUrl"], "the email carries the link the answer shows");
    let token = link.split_once("?token=").unwrap().1;

    // The link's token works: someone signed in with another address reads the invitation with it...
    let stranger = app.admin(("tenant-guest", "it@guest.example"));
    let details = app.request(Method::GET, &format!("{BASE}/communityinvitations/{invitation}/details"));
    let details = app.send(details.bearer_auth(&stranger).header("Invitation-Token", token)).await;
    assert_eq!(details.status, StatusCode::OK);
    // ...and the link itself opens the landing page.
    assert_eq!(app.page(link).await.status, StatusCode::OK);

    // The API shows the email as sent.
    let listed =
        app.call(Method::GET, &format!("{BASE}/communities/{community}/invitations"), Some(&owner), None).await.body;
    assert_eq!(listed[0]["DeliveryState"], "sent", "{listed}");
    assert_eq!(listed[0]["DeliveryFailureReason"], Value::Null);

    // Accepting (by the recipient: the link alone does not accept) tells the community: the inviting admin and the
    // community's contact, in one message.
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let answer = app.process_with_link(&invitation, &app.admin(GUEST), token, accept).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let messages = app.outbox_messages(2).await;
    assert_eq!(eml::header(&messages[1], "To"), "admin@owner.example, ops@owner.example");
    assert!(!eml::text_part(&messages[1]).contains(token), "only the invitation email carries the secret");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_local_mailer_sends_what_a_previous_run_left_pending() {
    let dir = eml::temp_dir();
    let store = Arc::new(MemoryStore::new());
    // Written while no mailer was running, as when the server stopped before sending.
    let (sealer, invitation, secret) = owed_in(store.as_ref(), &dir).await;
    the_mailer_sends_it_at_start(store, sealer, &dir, &invitation, &secret).await;
}

/// As above over the server's SQLite file: an invitation written by a run that stopped before its email went is
/// found by the next run's sweep of the file and sent.
#[tokio::test]
async fn the_local_mailer_sends_what_a_previous_run_left_pending_in_the_sqlite_file() {
    let dir = eml::temp_dir();
    let file = dir.join("rsvp.db");
    let sealer = Arc::new(AesSealer::load_or_create(&dir).expect("the local key"));
    let (invitation, secret) = {
        let previous_run = SqliteStore::open(&file).expect("the store");
        invite(&previous_run, sealer.as_ref(), "bob@guest.example").await
    };
    let store = Arc::new(SqliteStore::open(&file).expect("the store, reopened"));
    the_mailer_sends_it_at_start(store, sealer, &dir, &invitation, &secret).await;
}

/// Starts the local mailer over `store`, which holds `invitation` with its email owed, and asserts that the email
/// goes out at once, with its link, and is recorded sent. Removes `dir` at the end.
async fn the_mailer_sends_it_at_start<S: rsvp::store::feed::DeliveryFeed + 'static>(
    store: Arc<S>,
    sealer: Arc<AesSealer>,
    dir: &Path,
    invitation: &CommunityInvitation,
    secret: &Secret,
) {
    rsvp_local::mail::start(&store, sealer, &dir.join("outbox")).expect("start the local mailer");
    let messages = eml::messages(&dir.join("outbox"), 1).await;
    assert!(eml::text_part(&messages[0]).contains(&format!("invite/{}?token={}", invitation.id, secret.expose())));
    for _ in 0..50 {
        if delivery(store.as_ref(), invitation).await.state == DeliveryState::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery(store.as_ref(), invitation).await.state, DeliveryState::Sent);
    std::fs::remove_dir_all(dir).ok();
}

/// Polls `GET .../invitations/{id}` (`path`) until its `DeliveryState` is not pending (ten seconds at most).
async fn settled(app: &TestApp, path: &str, token: &str) -> Value {
    for _ in 0..100 {
        let body = app.call(Method::GET, path, Some(token), None).await.body;
        // Claimed but not yet recorded ("sending") is not settled either: over a file, the claim, the send and the
        // outcome are three commits a reader can fall between.
        if body["DeliveryState"] != "pending" && body["DeliveryState"] != "sending" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} stayed pending");
}

#[tokio::test]
async fn the_api_shows_a_failed_email_and_resend_sends_it_again() {
    let dir = eml::temp_dir();
    let app = TestApp::serving(&dir).spawn().await;
    let (url, owner, outbox) = (&app.url, app.admin(OWNER), dir.join("outbox"));
    // The outbox folder turns into a file: every write into it fails, as a mail service that refuses would.
    std::fs::remove_dir(&outbox).unwrap();
    std::fs::write(&outbox, b"").unwrap();
    let (community, created) = invite_over_http(&app).await;
    let invitation = created["Id"].as_str().unwrap().to_owned();
    let read = format!("{BASE}/communities/{community}/invitations/{invitation}");

    let failed = settled(&app, &read, &owner).await;
    assert_eq!(failed["DeliveryState"], "failed", "{failed}");
    let reason = failed["DeliveryFailureReason"].as_str().expect("a reason");
    assert!(reason.contains("writing"), "{reason}");

    // The mail service recovers; Resend (after its cool-down) sends the invitation again, with a new link.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    app.clock.advance_minutes(11);
    let answer = app.process(&invitation, &owner, json!({"Action": "Resend"})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let sent = settled(&app, &read, &owner).await;
    assert_eq!((&sent["DeliveryState"], &sent["DeliveryFailureReason"]), (&json!("sent"), &Value::Null), "{sent}");
    let messages = app.outbox_messages(1).await;
    let old_token = created["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1;
    let text = eml::text_part(&messages[0]);
    assert!(text.contains(&format!("{url}/invite/{invitation}?token=")) && !text.contains(old_token), "a new link");
    std::fs::remove_dir_all(&dir).ok();
}

/// Set in the environment of a copy of this test binary that plays `rsvp-local serve` over the data folder it names.
const LOCAL_CHILD_VARIABLE: &str = "RSVP_TEST_LOCAL_SERVE_DIR";
/// The test that plays it, by the name the child runs.
const THIS_TEST: &str = "local::the_local_server_killed_mid_batch_sends_every_email_once_after_restart";

/// The `.eml` files in `outbox` by the invitation they are for (their names end in `-<invitation>-<seq>.eml`).
fn emails_by_invitation(outbox: &Path) -> HashMap<String, usize> {
    let mut by = HashMap::new();
    for entry in std::fs::read_dir(outbox).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".eml").filter(|_| !name.starts_with('.')) {
            // <15-digit time>-<uuid with hyphens>-<seq>
            let id = stem.get(16..stem.rfind('-').unwrap_or(stem.len())).unwrap_or_default().to_owned();
            *by.entry(id).or_insert(0) += 1;
        }
    }
    by
}

/// `rsvp-local serve` killed with SIGKILL while it sends a batch of invitation emails, then started again on the same
/// data folder: every invitation the first run stored gets its email, exactly once — those it had sent are not sent
/// again, one it was writing when it died (claimed, maybe written, not recorded) is sent or kept, and the rest go
/// out from the restart's sweep.
#[tokio::test(flavor = "multi_thread")]
async fn the_local_server_killed_mid_batch_sends_every_email_once_after_restart() {
    // The same test plays the server in the copy it starts: `rsvp-local serve` over the data folder.
    if let Some(dir) = std::env::var_os(LOCAL_CHILD_VARIABLE) {
        let dir = Path::new(&dir);
        let key = SigningKey::load_or_create(dir).expect("the signing key");
        return child::serve_until_killed(TestApp::serving(dir).key(key).real_clock()).await;
    }
    const INVITATIONS: usize = 60;
    let dir = eml::temp_dir();
    let outbox = dir.join("outbox");
    let (mut first, url) = child::spawn(THIS_TEST, LOCAL_CHILD_VARIABLE, &dir).await;
    let key = SigningKey::load_or_create(&dir).expect("the server's signing key");
    let owner = key.mint(&TokenClaims::new("tenant-owner", "admin@owner.example", &["TenantAdministrator"]));
    let http = reqwest::Client::new();
    let api = format!("{url}/api/v1-preview");
    let community: Value = http
        .post(format!("{api}/communities"))
        .bearer_auth(&owner)
        .json(&json!({"Name": "Shared Operations"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let community = community["Id"].as_str().expect("a community").to_owned();
    // Many invitations at once; the server is killed as soon as its mailer has written the first email, while the
    // rest are being created and sent.
    let creates = futures::future::join_all((0..INVITATIONS).map(|n| {
        let (http, owner, api, community) = (http.clone(), owner.clone(), api.clone(), community.clone());
        async move {
            http.post(format!("{api}/communities/{community}/invitations"))
                .bearer_auth(&owner)
                .json(&json!({"InvitationRecipient": format!("guest{n}@guest.example")}))
                .send()
                .await
        }
    }));
    // The server's file, read beside it as a second connection would (SQLite's WAL lets a reader in while the
    // server writes).
    let file = SqliteStore::open(&dir.join("rsvp.db")).expect("the server's store");
    let community_id = CommunityId::parse("the community id", &community).expect("a community id");
    let invitations = async || -> Vec<CommunityInvitation> {
        let page = file.list_community_invitations(community_id, &rsvp_tests::first_page(1_000)).await;
        page.expect("the server's invitations").items
    };
    // Killed once the mailer is busy: some emails written, and more invitations stored than written.
    let backlog = async || -> Option<usize> {
        let stored = invitations().await.len();
        let written = emails_by_invitation(&outbox).values().sum::<usize>();
        (written > 0).then(|| stored.saturating_sub(written))
    };
    let kill = async {
        for _ in 0..10_000 {
            if backlog().await.is_some_and(|waiting| waiting >= 3) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        first.start_kill().expect("SIGKILL");
        first.wait().await.expect("the killed server is reaped")
    };
    let (answers, status) = tokio::join!(creates, kill);
    assert!(!status.success(), "killed, not stopped: {status:?}");
    let created = answers.iter().filter(|a| a.as_ref().is_ok_and(|a| a.status() == StatusCode::CREATED)).count();
    let sent_before = emails_by_invitation(&outbox);

    // What the killed run left in its data folder: every invitation it stored owes or sent one email.
    let stored = async || -> Vec<(String, DeliveryState)> {
        let read = invitations().await.into_iter();
        read.map(|i| (i.id.to_string(), i.delivery.expect("every invitation owes its email").state)).collect()
    };
    let left = stored().await;
    assert!(left.len() >= created, "every answered create was stored ({created} answered, {} stored)", left.len());
    assert!(
        sent_before.values().sum::<usize>() < left.len(),
        "killed mid-batch: {} of {} emails out",
        sent_before.values().sum::<usize>(),
        left.len()
    );

    let (_second, _) = child::spawn(THIS_TEST, LOCAL_CHILD_VARIABLE, &dir).await;
    let mut done = Vec::new();
    for _ in 0..300 {
        done = stored().await;
        if done.iter().all(|(_, state)| *state == DeliveryState::Sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done.iter().all(|(_, state)| *state == DeliveryState::Sent), "every email recorded sent: {done:?}");
    let sent = emails_by_invitation(&outbox);
    let ids: std::collections::BTreeSet<&String> = done.iter().map(|(id, _)| id).collect();
    assert_eq!(sent.keys().collect::<std::collections::BTreeSet<_>>(), ids, "an email for each invitation, no other");
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "each exactly once: {twice:?}");
    rsvp_tests::figure(
        "kill",
        &format!(
            "rsvp-local killed after {} of {} emails; after restart {} sent once each",
            sent_before.len(),
            done.len(),
            sent.len()
        ),
    );
    std::fs::remove_dir_all(&dir).ok();
}
