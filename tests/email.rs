//! Invitation emails against real components: the outbox consumer reading DynamoDB Local's stream, sealing with
//! moto's KMS, sending with moto's SES (which, like SES, refuses unverified senders), and the local server writing
//! `.eml` files whose link works.
//!
//! `scripts/test` starts moto and exports `RSVP_TEST_MOTO_ENDPOINT`; moto's state is shared by every test, so each
//! test uses addresses and keys of its own and looks only at those.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use reqwest::StatusCode;
use rsvp::app::{App, Config};
use rsvp::domain::{
    Action, Actor, Clock as _, CommunityId, CommunityInvitation, DeliveryOutcome, DeliveryState, FixedClock,
    InvitationPolicy, MailItem, Secret, SystemClock,
};
use rsvp::mail::deliver::{DeliverError, Delivered, Deliverer};
use rsvp::mail::outbox::OutboxMailer;
use rsvp::mail::ses::SesMailer;
use rsvp::seal::{AesSealer, KmsSealer, Sealer};
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp::store::{CommunityStore, OutboxStore, Store};
use rsvp_local::{Server, SigningKey, TokenClaims};
use rsvp_tests::{T0, admin, as_community_admin, clock, community, dynamodb, email, eml, stream_records};
use serde_json::{Value, json};

const MOTO_VARIABLE: &str = "RSVP_TEST_MOTO_ENDPOINT";

fn moto() -> String {
    std::env::var(MOTO_VARIABLE).unwrap_or_else(|_| {
        panic!("{MOTO_VARIABLE} is not set: these tests need moto (SES, KMS). Run them with `scripts/test`.")
    })
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "rsvp-tests")
}

fn ses_at(endpoint: &str) -> aws_sdk_ses::Client {
    let config = aws_sdk_ses::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        // A dead endpoint fails the send at once rather than after the SDK's back-off.
        .retry_config(aws_sdk_ses::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_ses::config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(10)).build(),
        )
        .build();
    aws_sdk_ses::Client::from_conf(config)
}

fn kms() -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto())
        .credentials_provider(credentials())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

async fn kms_sealer() -> KmsSealer {
    let client = kms();
    let key = client.create_key().send().await.expect("moto creates a KMS key");
    let id = key.key_metadata().expect("key metadata").key_id().to_owned();
    KmsSealer::new(client, id)
}

fn unique_address(who: &str) -> String {
    format!("{who}-{}@mail.example", uuid::Uuid::new_v4().simple())
}

async fn verify(address: &str) {
    ses_at(&moto()).verify_email_identity().email_address(address).send().await.expect("VerifyEmailIdentity");
}

/// The messages moto's SES sent to `recipient`.
async fn sent_to(recipient: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto()))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's state is JSON");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|to| to.iter().any(|a| a == recipient)))
        .collect()
}

/// A table of its own in DynamoDB Local (with its stream), and a store over it.
async fn table() -> (Arc<DynamoStore>, String) {
    let client = dynamodb().await;
    let name = format!("rsvp-mail-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::create_table(&client, &name).await.expect("create the table");
    (Arc::new(DynamoStore::new(client, name.clone())), name)
}

/// A community of the `owner` tenant in `store`, and an invitation of it to `recipient`, written as
/// `create_community_invitation` writes it: the link's secret sealed into the outbox.
async fn invite(store: &dyn Store, sealer: &dyn Sealer, recipient: &str) -> (CommunityInvitation, Secret) {
    let owner = admin("owner");
    let (c, membership) = community(&owner, "Shared Operations", T0);
    store.create_community(&c, &membership).await.expect("create the community");
    let (mut invitation, secret) =
        CommunityInvitation::create(&c, email(recipient), &owner, T0, InvitationPolicy::default());
    let sealed = sealer.seal(invitation.id, &secret).await.expect("seal the secret");
    invitation.attach_link(format!("https://rsvp.test/invite/{}", invitation.id), sealed);
    store.create_invitation(&invitation, T0).await.expect("create the invitation");
    (invitation, secret)
}

async fn delivery(store: &dyn Store, invitation: &CommunityInvitation) -> rsvp::domain::Delivery {
    store.get_invitation(invitation.id).await.unwrap().expect("the invitation").delivery.expect("a delivery")
}

#[tokio::test]
async fn kms_seals_a_secret_that_opens_only_for_its_invitation() {
    let sealer = kms_sealer().await;
    let secret = Secret::generate();
    let id = rsvp::domain::InvitationId::new();
    let sealed = sealer.seal(id, &secret).await.expect("KMS Encrypt");
    assert!(!sealed.contains(secret.expose()));
    assert_eq!(sealer.unseal(id, &sealed).await.expect("KMS Decrypt").expose(), secret.expose());
    let other = rsvp::domain::InvitationId::new();
    assert!(sealer.unseal(other, &sealed).await.is_err(), "the encryption context binds it to its invitation");
}

#[tokio::test]
async fn a_stream_record_is_sent_once_through_ses_and_recorded_on_the_item() {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let (sender, recipient) = (unique_address("sender"), unique_address("bob"));
    verify(&sender).await;
    let (invitation, secret) = invite(store.as_ref(), sealer.as_ref(), &recipient).await;
    let stored = delivery(store.as_ref(), &invitation).await;
    assert_eq!(stored.state, DeliveryState::Pending);
    let sealed = stored.sealed_secret.clone().expect("the sealed secret waits in the outbox");
    assert!(!sealed.contains(secret.expose()), "the table holds the secret only sealed");

    let records = stream_records(&table).await;
    // The community, its owner's membership, the invitation, its lock, and the community's count of open
    // invitations moved in the same transaction.
    assert_eq!(records.len(), 5, "{records:#?}");
    let deliverer = Deliverer {
        store: store.clone(),
        sealer,
        mailer: Arc::new(SesMailer::new(ses_at(&moto()), sender.clone(), None)),
        clock: Arc::new(clock()),
    };
    let answer = deliverer.handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);

    let sent = sent_to(&recipient).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["source"], sender.as_str());
    assert_eq!(sent[0]["subject"], "admin@owner.example.com invites you to join Shared Operations");
    let link = format!("https://rsvp.test/invite/{}?token={}", invitation.id, secret.expose());
    assert!(sent[0]["body"].as_str().unwrap_or_default().contains(&link), "{}", sent[0]["body"]);

    let done = delivery(store.as_ref(), &invitation).await;
    assert_eq!(done.state, DeliveryState::Sent);
    assert_eq!(done.message_id.as_deref(), sent[0]["id"].as_str(), "SES's message id is recorded");
    assert_eq!((done.attempts, done.sealed_secret.as_deref()), (1, None), "the sealed secret is gone once sent");

    // The same records again (Lambda delivers at least once), now with the consumer's own write-backs in the
    // stream as well: nothing is sent twice, and nothing fails.
    let again = stream_records(&table).await;
    assert!(again.len() > records.len());
    let answer = deliverer.handle_records(&again).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    assert_eq!(sent_to(&recipient).await.len(), 1, "a record seen twice sends once");
}

#[tokio::test]
async fn an_invitation_declined_before_its_email_went_out_is_not_emailed() {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let (sender, recipient) = (unique_address("sender"), unique_address("bob"));
    verify(&sender).await;
    let (invitation, _) = invite(store.as_ref(), sealer.as_ref(), &recipient).await;
    // The recipient declines through the link (e.g. from another channel) before the consumer runs.
    let c = store.get_community(invitation.community_id).await.unwrap().expect("the community");
    let declined = invitation
        .process(&c, Action::Decline, Actor::link_holder(), None, T0, InvitationPolicy::default())
        .expect("a link holder may decline");
    store.apply(&declined).await.expect("the decline is written");
    let withdrawn = delivery(store.as_ref(), &invitation).await;
    assert_eq!((withdrawn.state, withdrawn.sealed_secret.as_deref()), (DeliveryState::Cancelled, None));

    let deliverer = Deliverer {
        store: store.clone(),
        sealer,
        mailer: Arc::new(SesMailer::new(ses_at(&moto()), sender, None)),
        clock: Arc::new(clock()),
    };
    let answer = deliverer.handle_records(&stream_records(&table).await).await;
    assert!(answer.batch_item_failures.is_empty(), "a withdrawn email is no failure: {:?}", answer.batch_item_failures);
    assert_eq!(sent_to(&recipient).await, Vec::<Value>::new(), "no email with a dead link goes out");
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Cancelled);
}

#[tokio::test]
async fn a_failing_ses_fails_the_record_with_its_reason_and_the_retry_sends() {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let (sender, recipient) = (unique_address("sender"), unique_address("bob"));
    let (invitation, secret) = invite(store.as_ref(), sealer.as_ref(), &recipient).await;
    let records = stream_records(&table).await;
    let pending: Vec<&Value> = records.iter().filter(|r| r["dynamodb"]["Keys"]["SK"]["S"] == "#INVITATION").collect();
    assert_eq!(pending.len(), 1);
    let sequence = pending[0]["dynamodb"]["SequenceNumber"].as_str().expect("a sequence number").to_owned();
    let deliverer = |ses: aws_sdk_ses::Client| Deliverer {
        store: store.clone(),
        sealer: sealer.clone(),
        mailer: Arc::new(SesMailer::new(ses, sender.clone(), None)),
        clock: Arc::new(clock()),
    };

    // SES cannot be reached: the record fails, and the item says why.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!("http://{}", listener.local_addr().expect("its address"))
    };
    let answer = deliverer(ses_at(&closed)).handle_records(&records).await;
    let failed: Vec<_> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, [Some(sequence.clone())], "only the invitation's record fails, by its sequence number");
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 1));
    assert!(d.failure.as_deref().is_some_and(|f| f.contains("SendEmail")), "{:?}", d.failure);

    // SES answers but refuses the unverified sender, as real SES does: failed again, with SES's own reason.
    let answer = deliverer(ses_at(&moto())).handle_records(&records).await;
    assert_eq!(answer.batch_item_failures.len(), 1);
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 2));
    assert!(d.failure.as_deref().is_some_and(|f| f.contains("not verified")), "{:?}", d.failure);
    assert!(sent_to(&recipient).await.is_empty());

    // Lambda retries the record once the sender is verified: sent, once, with the original link.
    verify(&sender).await;
    let answer = deliverer(ses_at(&moto())).handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts, d.failure), (DeliveryState::Sent, 3, None));
    let sent = sent_to(&recipient).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["body"].as_str().unwrap_or_default().contains(secret.expose()));
}

#[tokio::test]
async fn resend_after_a_failure_sends_the_new_link() {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let (sender, recipient) = (unique_address("sender"), unique_address("bob"));
    let (invitation, old_secret) = invite(store.as_ref(), sealer.as_ref(), &recipient).await;
    let deliverer = Deliverer {
        store: store.clone(),
        sealer: sealer.clone(),
        mailer: Arc::new(SesMailer::new(ses_at(&moto()), sender.clone(), None)),
        clock: Arc::new(clock()),
    };
    let first = stream_records(&table).await;
    assert_eq!(deliverer.handle_records(&first).await.batch_item_failures.len(), 1, "the sender is unverified");

    // The admin resends (as process_invitation does: a new secret, sealed into a new pending delivery).
    verify(&sender).await;
    let owner = admin("owner");
    let read = store.get_invitation(invitation.id).await.unwrap().unwrap();
    let c = store.get_community(invitation.community_id).await.unwrap().unwrap();
    let later = T0.plus_days(1);
    let mut resend = read
        .process(&c, Action::Resend, as_community_admin(&owner), None, later, InvitationPolicy::default())
        .expect("Resend is allowed");
    let secret = resend.new_secret.take().expect("a new secret");
    let sealed = sealer.seal(invitation.id, &secret).await.unwrap();
    resend.invitation.attach_link(format!("https://rsvp.test/invite/{}", invitation.id), sealed);
    store.apply(&resend).await.expect("Resend applies");

    let records = stream_records(&table).await;
    let new: Vec<Value> = records[first.len()..].to_vec();
    let answer = deliverer.handle_records(&new).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.seq, d.state), (2, DeliveryState::Sent));
    let sent = sent_to(&recipient).await;
    assert_eq!(sent.len(), 1);
    let body = sent[0]["body"].as_str().unwrap_or_default();
    assert!(body.contains(secret.expose()) && !body.contains(old_secret.expose()), "the new link, not the old");
    // A late retry of the first delivery's record finds it replaced: nothing more is sent.
    assert!(deliverer.handle_records(&first).await.batch_item_failures.is_empty());
    assert_eq!(sent_to(&recipient).await.len(), 1);
}

#[tokio::test]
async fn records_the_consumer_does_not_understand_are_skipped() {
    let store = Arc::new(MemoryStore::new());
    let dir = eml::temp_dir();
    let deliverer = Deliverer {
        store: store.clone(),
        sealer: Arc::new(AesSealer::ephemeral()),
        mailer: Arc::new(OutboxMailer::new(&dir, "rsvp@localhost").unwrap()),
        clock: Arc::new(clock()),
    };
    let image = json!({"PK": {"S": "INVITATION#x"}, "SK": {"S": "#INVITATION"}, "id": {"S": "not-an-id"}});
    let pending = json!({"M": {"seq": {"N": "1"}, "state": {"S": "pending"}}});
    let id = rsvp::domain::InvitationId::new().to_string();
    let record = |name: &str, new_image: Value| {
        json!({"eventID": "1", "eventName": name, "awsRegion": "us-east-1",
               "dynamodb": {"NewImage": new_image, "SequenceNumber": "100", "SizeBytes": 1}})
    };
    let records = vec![
        json!("not a record"),
        json!({"eventName": "INSERT"}),
        record("REMOVE", json!({})),
        // DynamoDB Local's TTL deletions carry an event name of their own.
        record("TTL", json!({"SK": {"S": "#INVITATION"}, "id": {"S": id}, "delivery": pending})),
        record("INSERT", image),
        record("INSERT", json!({"SK": {"S": "#COMMUNITY"}, "id": {"S": id}})),
        // Well formed, but no such invitation: nothing to send, nothing to retry.
        record("MODIFY", json!({"SK": {"S": "#INVITATION"}, "id": {"S": id}, "delivery": pending})),
    ];
    let answer = deliverer.handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing was sent");
    std::fs::remove_dir_all(&dir).ok();
}

/// A local server as `rsvp-local serve` runs it: the SQLite store over `<dir>/rsvp.db`, the outbox mailer writing into `<dir>/outbox`,
/// links pointing at itself, a clock the test can move, and an owner admin's token.
struct Local {
    url: String,
    api: String,
    http: reqwest::Client,
    key: SigningKey,
    owner: String,
    outbox: PathBuf,
    clock: Arc<FixedClock>,
}

impl Local {
    async fn start(dir: &Path) -> Self {
        let outbox = dir.join("outbox");
        let store = Arc::new(SqliteStore::open(&dir.join("rsvp.db")).expect("the local store"));
        let sealer = Arc::new(AesSealer::load_or_create(dir).expect("the local key"));
        rsvp_local::mail::start(&store, sealer.clone(), &outbox).expect("start the local mailer");
        let clock = Arc::new(FixedClock::at(SystemClock.now()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = Config { public_url: Some(url.clone()), ..Config::default() };
        let app = Arc::new(App::new(store, config).with_sealer(sealer).with_clock(clock.clone()));
        let key = SigningKey::generate();
        tokio::spawn(Server::from_listener(listener, app, key.clone()).expect("the server").run());
        let owner = key.mint(&TokenClaims::new("tenant-owner", "admin@owner.example", &["TenantAdministrator"]));
        let api = format!("{url}/api/v1-preview");
        Self { url, api, http: reqwest::Client::new(), key, owner, outbox, clock }
    }

    /// Creates "Shared Operations" (contact `ops@owner.example`) and invites bob@guest.example over HTTP: the
    /// community's id and the create answer.
    async fn invite(http: &reqwest::Client, api: &str, owner: &str) -> (String, Value) {
        let post = async |path: String, body: Value| {
            let answer = http.post(format!("{api}{path}")).bearer_auth(owner).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::CREATED);
            answer.json::<Value>().await.unwrap()
        };
        let community =
            post("/communities".into(), json!({"Name": "Shared Operations", "ContactEmail": "ops@owner.example"}))
                .await;
        let community = community["Id"].as_str().unwrap().to_owned();
        let created =
            post(format!("/communities/{community}/invitations"), json!({"InvitationRecipient": "bob@guest.example"}))
                .await;
        (community, created)
    }
}

#[tokio::test]
async fn the_local_server_writes_each_email_as_an_eml_whose_link_works() {
    let dir = eml::temp_dir();
    let Local { url, api, http, key, owner, outbox, .. } = Local::start(&dir).await;
    let (community, created) = Local::invite(&http, &api, &owner).await;
    let invitation = created["Id"].as_str().unwrap().to_owned();

    let messages = eml::messages(&outbox, 1).await;
    let eml = &messages[0];
    assert_eq!(eml::header(eml, "To"), "bob@guest.example");
    assert_eq!(eml::header(eml, "Subject"), "admin@owner.example invites you to join Shared Operations");
    let text = eml::text_part(eml);
    let link = text.lines().find(|l| l.starts_with(&format!("{url}/invite/{invitation}?token="))).expect("the link");
    assert_eq!(link, created["InvitationUrl"], "the email carries the link the answer shows");
    let token = link.split_once("?token=").unwrap().1;

    // The link's token works: someone signed in with another address reads the invitation with it...
    let stranger = key.mint(&TokenClaims::new("tenant-guest", "it@guest.example", &["TenantAdministrator"]));
    let details = http
        .get(format!("{api}/communityinvitations/{invitation}/details"))
        .bearer_auth(&stranger)
        .header("Invitation-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(details.status(), StatusCode::OK);
    // ...and the link itself opens the landing page.
    assert_eq!(http.get(link).send().await.unwrap().status(), StatusCode::OK);

    // The API shows the email as sent.
    let listed: Value = http
        .get(format!("{api}/communities/{community}/invitations"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["DeliveryState"], "sent", "{listed}");
    assert_eq!(listed[0]["DeliveryFailureReason"], Value::Null);

    // Accepting (by the recipient: the link alone does not accept) tells the community: the inviting admin and the
    // community's contact, in one message.
    let recipient = key.mint(&TokenClaims::new("tenant-guest", "bob@guest.example", &["TenantAdministrator"]));
    let answer = http
        .put(format!("{api}/communityinvitations/{invitation}"))
        .bearer_auth(&recipient)
        .header("Invitation-Token", token)
        .json(&json!({"Action": "Accept", "ContactEmail": "ops@guest.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let messages = eml::messages(&outbox, 2).await;
    assert_eq!(eml::header(&messages[1], "To"), "admin@owner.example, ops@owner.example");
    assert!(!eml::text_part(&messages[1]).contains(token), "only the invitation email carries the secret");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_local_mailer_sends_what_a_previous_run_left_pending() {
    let dir = eml::temp_dir();
    let store = Arc::new(MemoryStore::new());
    let sealer = Arc::new(AesSealer::load_or_create(&dir).expect("the local key"));
    // Written while no mailer was running, as when the server stopped before sending.
    let (invitation, secret) = invite(store.as_ref(), sealer.as_ref(), "bob@guest.example").await;
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

#[tokio::test]
async fn the_sample_stream_event_sends_the_acceptance_notice_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/deliver-emails.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the sample event")).unwrap();
    let records = event["Records"].as_array().expect("Records").clone();
    // The invitation as the record's new image shows it, in a store of its own.
    let image = records.iter().find(|r| r["eventName"] == "MODIFY").expect("the invitation's change");
    let item: serde_dynamo::Item = serde_json::from_value(image["dynamodb"]["NewImage"].clone()).unwrap();
    let invitation: CommunityInvitation = serde_dynamo::from_item(item).expect("an invitation item");
    let store = Arc::new(MemoryStore::new());
    // Its community first: an invitation's write moves the community's count of open invitations.
    let (mut c, mut membership) = community(&admin(invitation.issuing_tenant.as_str()), "Shared Operations", T0);
    (c.id, membership.community_id) = (invitation.community_id, invitation.community_id);
    store.create_community(&c, &membership).await.unwrap();
    store.create_invitation(&invitation, T0).await.unwrap();
    let dir = eml::temp_dir();
    let deliverer = Deliverer {
        store: store.clone(),
        sealer: Arc::new(AesSealer::ephemeral()),
        mailer: Arc::new(OutboxMailer::new(&dir, "rsvp@localhost").unwrap()),
        clock: Arc::new(clock()),
    };
    for _ in 0..2 {
        let answer = deliverer.handle_records(&records).await;
        assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    }
    let messages = eml::messages(&dir, 1).await;
    assert_eq!(messages.len(), 1, "the lock's removal and the new membership send nothing; the change sends once");
    assert_eq!(eml::header(&messages[0], "To"), "admin@owner.example.com");
    // Named by its verified address and tenant id; the claimed tenant name only in the body, marked as a claim.
    assert_eq!(
        eml::header(&messages[0], "Subject"),
        "bob@guest.example for tenant tenant-guest accepted the invitation to Shared Operations"
    );
    assert!(eml::text_part(&messages[0]).contains("\"tenant-guest Inc\", a name rsvp has not verified"));
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Sent);
    std::fs::remove_dir_all(&dir).ok();
}

/// Polls `GET .../invitations/{id}` until its `DeliveryState` is not pending (ten seconds at most).
async fn settled(http: &reqwest::Client, url: &str, token: &str) -> Value {
    for _ in 0..100 {
        let body: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        // Claimed but not yet recorded ("sending") is not settled either: over a file, the claim, the send and the
        // outcome are three commits a reader can fall between.
        if body["DeliveryState"] != "pending" && body["DeliveryState"] != "sending" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} stayed pending");
}

#[tokio::test]
async fn the_api_shows_a_failed_email_and_resend_sends_it_again() {
    let dir = eml::temp_dir();
    let Local { url, api, http, owner, outbox, clock, .. } = Local::start(&dir).await;
    // The outbox folder turns into a file: every write into it fails, as a mail service that refuses would.
    std::fs::remove_dir(&outbox).unwrap();
    std::fs::write(&outbox, b"").unwrap();
    let (community, created) = Local::invite(&http, &api, &owner).await;
    let invitation = created["Id"].as_str().unwrap().to_owned();
    let read = format!("{api}/communities/{community}/invitations/{invitation}");

    let failed = settled(&http, &read, &owner).await;
    assert_eq!(failed["DeliveryState"], "failed", "{failed}");
    let reason = failed["DeliveryFailureReason"].as_str().expect("a reason");
    assert!(reason.contains("writing"), "{reason}");

    // The mail service recovers; Resend (after its cool-down) sends the invitation again, with a new link.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    clock.advance_minutes(11);
    let answer = http
        .put(format!("{api}/communityinvitations/{invitation}"))
        .bearer_auth(&owner)
        .json(&json!({"Action": "Resend"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let sent = settled(&http, &read, &owner).await;
    assert_eq!((&sent["DeliveryState"], &sent["DeliveryFailureReason"]), (&json!("sent"), &Value::Null), "{sent}");
    let messages = eml::messages(&outbox, 1).await;
    let old_token = created["InvitationUrl"].as_str().unwrap().split_once("?token=").unwrap().1;
    let text = eml::text_part(&messages[0]);
    assert!(text.contains(&format!("{url}/invite/{invitation}?token=")) && !text.contains(old_token), "a new link");
    std::fs::remove_dir_all(&dir).ok();
}

/// A sender killed mid-send (`kill -9`, a Lambda timeout) leaves its claim. While that claim may still be live,
/// the delivery is no one's to drop: its stream record fails (to be retried, then dead-lettered), never "skipped".
/// Once the claim is stale, a retry (the stream's, or the local server's sweep) sends the email, exactly once.
async fn a_killed_senders_email_goes_out_once_after_its_claim_goes_stale(store: Arc<dyn Store>, records: bool) {
    let dir = eml::temp_dir();
    let sealer = Arc::new(AesSealer::load_or_create(&dir).expect("the local key"));
    let (invitation, secret) = invite(store.as_ref(), sealer.as_ref(), "bob@guest.example").await;
    let item = MailItem::Community(invitation.id);
    let seq = delivery(store.as_ref(), &invitation).await.seq;
    // The sender that died: it claimed the delivery at T0 and was killed before it sent or recorded anything.
    assert!(store.claim_delivery(item, seq, T0).await.expect("the claim").is_some());
    let at = |minutes: i64| Deliverer {
        store: Arc::clone(&store),
        sealer: sealer.clone(),
        mailer: Arc::new(OutboxMailer::new(&dir.join("outbox"), "rsvp@localhost").unwrap()),
        clock: Arc::new(FixedClock::at(T0.plus_minutes(minutes))),
    };
    let busy = at(1).deliver(item, seq).await;
    assert!(matches!(busy, Err(DeliverError::Busy)), "a live claim is not done: {busy:?}");
    if records {
        // As the stream hands it on: the record is reported for a retry, by its sequence number.
        let record = json!({
            "awsRegion": "us-east-1", "eventID": "430fa92f-b5f0-4667-bfdb-13cbaf528969", "eventName": "MODIFY",
            "eventSource": "aws:dynamodb", "eventVersion": "1.1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/rsvp/stream/2026-01-01T00:00:00.000",
            "dynamodb": {
                "Keys": { "PK": { "S": "x" }, "SK": { "S": "#INVITATION" } }, "SequenceNumber": "4242",
                "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES",
                "NewImage": {
                    "SK": { "S": "#INVITATION" }, "id": { "S": invitation.id.to_string() },
                    "delivery": { "M": { "seq": { "N": seq.to_string() }, "state": { "S": "pending" } } } } }
        });
        let answer = at(1).handle_records(&[record]).await;
        let failed: Vec<_> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, [Some("4242".to_owned())], "retried, so it reaches the DLQ if it never gets through");
    }
    let sent_so_far = std::fs::read_dir(dir.join("outbox")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(sent_so_far, 0, "nothing sent while the claim may be live");
    let stale = rsvp::domain::CLAIM_STALE_MINUTES + 1;
    assert!(matches!(at(stale).deliver(item, seq).await, Ok(Delivered::Sent(_))));
    assert!(matches!(at(stale).deliver(item, seq).await, Ok(Delivered::Skipped)), "sent is done");
    let messages = eml::messages(&dir.join("outbox"), 1).await;
    assert_eq!(messages.len(), 1, "exactly one email");
    assert!(eml::text_part(&messages[0]).contains(&format!("invite/{}?token={}", invitation.id, secret.expose())));
    let done = delivery(store.as_ref(), &invitation).await;
    assert_eq!((done.state, done.attempts), (DeliveryState::Sent, 2), "the dead claim and the one that sent");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_killed_senders_email_goes_out_once_embedded_store() {
    a_killed_senders_email_goes_out_once_after_its_claim_goes_stale(Arc::new(MemoryStore::new()), true).await;
}

#[tokio::test]
async fn a_killed_senders_email_goes_out_once_dynamodb_local() {
    let (store, _) = table().await;
    a_killed_senders_email_goes_out_once_after_its_claim_goes_stale(store, true).await;
}

/// The local server's sweep finds what a killed sender left: owed once its claim is stale, and no longer once sent.
#[tokio::test]
async fn the_local_sweep_re_drives_a_killed_senders_email() {
    let dir = eml::temp_dir();
    let store = Arc::new(MemoryStore::new());
    let sealer = Arc::new(AesSealer::load_or_create(&dir).expect("the local key"));
    let (invitation, _) = invite(store.as_ref(), sealer.as_ref(), "bob@guest.example").await;
    let item = MailItem::Community(invitation.id);
    let seq = delivery(store.as_ref(), &invitation).await.seq;
    assert!(store.claim_delivery(item, seq, T0).await.unwrap().is_some());
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&announced);
    store.on_pending_delivery(move |item, seq| seen.lock().unwrap().push((item.id(), seq)));
    assert_eq!(store.announce_owed(T0.plus_minutes(1)), 0, "a live claim is its sender's");
    let stale = T0.plus_minutes(rsvp::domain::CLAIM_STALE_MINUTES + 1);
    assert_eq!(store.announce_owed(stale), 1, "a dead sender's claim is owed again");
    assert_eq!(announced.lock().unwrap().clone(), [(invitation.id, seq)]);
    store.finish_delivery(item, seq, &DeliveryOutcome::Sent { message_id: "m".into() }, stale).await.unwrap();
    assert_eq!(store.announce_owed(stale.plus_minutes(60)), 0, "a sent email is owed no more");
    std::fs::remove_dir_all(&dir).ok();
}

/// The addresses of one handshake, unique to the test (moto's SES is shared by every test).
struct Parties {
    owner: rsvp::domain::Principal,
    guest: rsvp::domain::Principal,
    /// The contact the guest gives when it accepts.
    contact: String,
}

impl Parties {
    fn new() -> Self {
        use rsvp::domain::Role;
        Self {
            owner: rsvp_tests::principal("owner", &unique_address("owner"), &[Role::TenantAdministrator]),
            guest: rsvp_tests::principal("guest", &unique_address("guest"), &[Role::TenantAdministrator]),
            contact: unique_address("contact"),
        }
    }

    fn owner_address(&self) -> String {
        self.owner.email.as_ref().expect("an address").to_string()
    }

    /// Invites the guest, then accepts and confirms at once, before any email went out: the Accepted notice is still
    /// owed when Confirm owes its own. The invitation as stored at the end.
    async fn handshake_at_once(
        &self,
        store: &dyn Store,
        sealer: &dyn Sealer,
        at: rsvp::domain::Timestamp,
    ) -> CommunityInvitation {
        let (c, membership) = community(&self.owner, "Shared Operations", at);
        store.create_community(&c, &membership).await.expect("create the community");
        let recipient = self.guest.email.clone().expect("an address");
        let (mut invitation, secret) =
            CommunityInvitation::create(&c, recipient, &self.owner, at, InvitationPolicy::default());
        let sealed = sealer.seal(invitation.id, &secret).await.expect("seal the secret");
        invitation.attach_link(format!("https://rsvp.test/invite/{}", invitation.id), sealed);
        store.create_invitation(&invitation, at).await.expect("create the invitation");
        let accept = invitation
            .process(
                &c,
                Action::Accept,
                rsvp_tests::as_recipient(&self.guest),
                Some(email(&self.contact)),
                at,
                InvitationPolicy::default(),
            )
            .expect("Accept is allowed");
        store.apply(&accept).await.expect("Accept applies");
        let read = store.get_invitation(invitation.id).await.unwrap().expect("the invitation");
        let confirm = read
            .process(&c, Action::Confirm, as_community_admin(&self.owner), None, at, InvitationPolicy::default())
            .expect("Confirm is allowed");
        store.apply(&confirm).await.expect("Confirm applies");
        store.get_invitation(invitation.id).await.unwrap().expect("the invitation")
    }

    /// What moto's SES sent: to the owner (the Accepted notice), to the guest's contact (the Confirmed notice).
    async fn sent(&self) -> (Vec<Value>, Vec<Value>) {
        (sent_to(&self.owner_address()).await, sent_to(&self.contact).await)
    }
}

/// A Deliverer over `store` sending with moto's SES as `sender` (verified), at `at`.
async fn ses_deliverer(store: Arc<dyn Store>, sealer: Arc<KmsSealer>, at: rsvp::domain::Timestamp) -> Deliverer {
    let sender = unique_address("sender");
    verify(&sender).await;
    Deliverer {
        store,
        sealer,
        mailer: Arc::new(SesMailer::new(ses_at(&moto()), sender, None)),
        clock: Arc::new(FixedClock::at(at)),
    }
}

/// Accept, then Confirm at once: the invitation keeps only its latest delivery in `delivery`, so before the outbox
/// kept earlier ones, the Accepted notice was dropped when Confirm's took its place. Both go out, each once,
/// through the stream's records (DynamoDB Local) or the embedded store's announcements (the local server's stand-in
/// for the stream), seen twice.
#[tokio::test]
async fn accept_then_confirm_at_once_sends_both_notices_once_dynamodb_local() {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let parties = Parties::new();
    let invitation = parties.handshake_at_once(store.as_ref(), sealer.as_ref(), T0).await;
    assert_eq!(invitation.earlier_deliveries.len(), 1, "the Accepted notice waits beside the Confirmed one");
    let deliverer = ses_deliverer(store.clone(), sealer, T0).await;
    let records = stream_records(&table).await;
    let answer = deliverer.handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    let again = stream_records(&table).await;
    assert!(deliverer.handle_records(&again).await.batch_item_failures.is_empty());
    assert_both_notices_went_once(&parties, store.as_ref(), &invitation).await;
}

#[tokio::test]
async fn accept_then_confirm_at_once_sends_both_notices_once_embedded_store() {
    let store = Arc::new(MemoryStore::new());
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&announced);
    store.on_pending_delivery(move |item, seq| seen.lock().unwrap().push((item, seq)));
    let sealer = Arc::new(kms_sealer().await);
    let parties = Parties::new();
    let invitation = parties.handshake_at_once(store.as_ref(), sealer.as_ref(), T0).await;
    let deliverer = ses_deliverer(store.clone(), sealer, T0).await;
    let told: Vec<(MailItem, u64)> = announced.lock().unwrap().clone();
    assert_eq!(told.iter().map(|(_, seq)| *seq).collect::<Vec<_>>(), [1, 2, 3], "each write announced its email");
    for _ in 0..2 {
        for (item, seq) in &told {
            deliverer.deliver(*item, *seq).await.expect("delivered or skipped");
        }
    }
    assert_both_notices_went_once(&parties, store.as_ref(), &invitation).await;
}

async fn assert_both_notices_went_once(parties: &Parties, store: &dyn Store, invitation: &CommunityInvitation) {
    let (accepted, confirmed) = parties.sent().await;
    assert_eq!(accepted.len(), 1, "the Accepted notice, once: {accepted:#?}");
    assert!(accepted[0]["subject"].as_str().unwrap_or_default().contains("accepted"), "{}", accepted[0]["subject"]);
    assert_eq!(confirmed.len(), 1, "the Confirmed notice, once: {confirmed:#?}");
    assert_ne!(accepted[0]["subject"], confirmed[0]["subject"]);
    let guest = parties.guest.email.as_ref().unwrap().to_string();
    let to_guest = sent_to(&guest).await;
    assert_eq!(
        to_guest.len(),
        1,
        "the guest gets the Confirmed notice only: its invitation email's link died with Accept"
    );
    assert_eq!(to_guest[0]["subject"], confirmed[0]["subject"]);
    let done = store.get_invitation(invitation.id).await.unwrap().unwrap();
    let kept: Vec<_> = done.earlier_deliveries.values().map(|d| (d.seq, d.state)).collect();
    assert_eq!(kept, [(2, DeliveryState::Sent)], "the Accepted notice stays, sent, for its fate");
    assert_eq!(done.delivery.map(|d| (d.seq, d.state)), Some((3, DeliveryState::Sent)));
}

/// The Lambda consumer killed mid-batch: it claimed the invitation email and died before sending (its claim stays
/// `sending`), and the Accepted notice's stream record never got through (dead-lettered). The scheduled sweep,
/// through the same consumer code, leaves the live-looking claim alone, then sends each email once it is the sweep's,
/// exactly once however often it runs.
async fn the_sweep_sends_what_a_dead_consumer_left_exactly_once(store: Arc<dyn Store>) {
    use rsvp::mail::sweep::{SweepReport, Sweeper};
    let sealer = Arc::new(kms_sealer().await);
    let parties = Parties::new();
    // A handshake whose notices wait: Accept's (seq 2) beside Confirm's (seq 3).
    let invitation = parties.handshake_at_once(store.as_ref(), sealer.as_ref(), T0).await;
    // A second invitation whose email a consumer claimed at T0 and was killed before it sent anything.
    let other = Parties::new();
    let (c, membership) = community(&other.owner, "Floods", T0);
    store.create_community(&c, &membership).await.unwrap();
    let recipient = other.guest.email.clone().unwrap();
    let (mut killed, secret) =
        CommunityInvitation::create(&c, recipient.clone(), &other.owner, T0, InvitationPolicy::default());
    killed
        .attach_link(format!("https://rsvp.test/invite/{}", killed.id), sealer.seal(killed.id, &secret).await.unwrap());
    store.create_invitation(&killed, T0).await.unwrap();
    let killed_item = MailItem::Community(killed.id);
    assert!(store.claim_delivery(killed_item, 1, T0.plus_minutes(1)).await.unwrap().is_some(), "the dead claim");

    let stale = rsvp::domain::CLAIM_STALE_MINUTES;
    let sweep_at = async |minutes: i64| -> SweepReport {
        let deliverer = ses_deliverer(Arc::clone(&store), sealer.clone(), T0.plus_minutes(minutes)).await;
        Sweeper::new(Arc::new(deliverer)).sweep().await.expect("the sweep reads the store")
    };
    assert_eq!(sweep_at(stale).await, SweepReport::default(), "nothing is the sweep's yet: the stream's turn");
    // The notices are due, the dead claim not yet (it was taken a minute later).
    assert_eq!(sweep_at(stale + 1).await, SweepReport { due: 2, sent: 2, ..SweepReport::default() });
    assert!(sent_to(&recipient.to_string()).await.is_empty(), "a claim that may be live is not taken");
    assert_eq!(sweep_at(stale + 2).await, SweepReport { due: 1, sent: 1, ..SweepReport::default() });
    for minutes in [stale + 3, 60, 24 * 60] {
        assert_eq!(sweep_at(minutes).await, SweepReport::default(), "sent mail is not found again");
    }

    assert_both_notices_went_once(&parties, store.as_ref(), &invitation).await;
    let sent = sent_to(&recipient.to_string()).await;
    assert_eq!(sent.len(), 1, "the killed consumer's email, once: {sent:#?}");
    let link = format!("https://rsvp.test/invite/{}?token={}", killed.id, secret.expose());
    assert!(sent[0]["body"].as_str().unwrap_or_default().contains(&link), "with its link");
    let d = delivery(store.as_ref(), &killed).await;
    assert_eq!(
        (d.state, d.attempts, d.sealed_secret),
        (DeliveryState::Sent, 2, None),
        "the dead claim and the sweep's"
    );
}

#[tokio::test]
async fn the_sweep_sends_what_a_dead_consumer_left_exactly_once_dynamodb_local() {
    let (store, _) = table().await;
    the_sweep_sends_what_a_dead_consumer_left_exactly_once(store).await;
}

#[tokio::test]
async fn the_sweep_sends_what_a_dead_consumer_left_exactly_once_embedded_store() {
    the_sweep_sends_what_a_dead_consumer_left_exactly_once(Arc::new(MemoryStore::new())).await;
}

/// Set in the environment of a copy of this test binary that plays `rsvp-local serve` over the data folder it names.
const LOCAL_CHILD_VARIABLE: &str = "RSVP_TEST_LOCAL_SERVE_DIR";

/// What `rsvp-local serve --data-dir <dir>` runs: the store in `<dir>/rsvp.db`, the data folder's sealing and
/// signing keys, the mailer writing into `<dir>/outbox` (with its sweep), every route on a free port. Prints the
/// URL on a line of its own, then serves until killed.
async fn serve_like_rsvp_local(dir: &Path) {
    let store = Arc::new(SqliteStore::open(&dir.join("rsvp.db")).expect("open the store"));
    let sealer = Arc::new(AesSealer::load_or_create(dir).expect("the local key"));
    rsvp_local::mail::start(&store, sealer.clone(), &dir.join("outbox")).expect("start the local mailer");
    let key = SigningKey::load_or_create(dir).expect("the signing key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0".parse::<SocketAddr>().unwrap()).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = Config { public_url: Some(url.clone()), ..Config::default() };
    let app = Arc::new(App::new(store, config).with_sealer(sealer));
    println!("\nchild-listening {url}");
    // Serves until the parent kills it.
    Server::from_listener(listener, app, key).expect("the server").run().await.expect("serve");
}

/// Starts a copy of this test binary as a local server over `dir`; the process and its URL.
async fn spawn_local(dir: &Path) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "the_local_server_killed_mid_batch_sends_every_email_once_after_restart", "--nocapture"])
        .env(LOCAL_CHILD_VARIABLE, dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the child server");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("its output")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read its output") {
            if let Some(url) = line.strip_prefix("child-listening ") {
                return url.to_owned();
            }
        }
        panic!("the child server stopped before it listened");
    })
    .await
    .expect("the child server listens within 30 s");
    // Keep reading its output so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

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
    // The same test plays the server in the copy it starts (see `spawn_local`).
    if let Some(dir) = std::env::var_os(LOCAL_CHILD_VARIABLE) {
        return serve_like_rsvp_local(Path::new(&dir)).await;
    }
    const INVITATIONS: usize = 60;
    let dir = eml::temp_dir();
    let outbox = dir.join("outbox");
    let (mut first, url) = spawn_local(&dir).await;
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

    let (_second, _) = spawn_local(&dir).await;
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

/// The outbox mailer that writes a message's file and then never answers: a sender killed between sending and
/// recording the outcome, once the test drops it.
struct WritesThenHangs(OutboxMailer);

#[async_trait::async_trait]
impl rsvp::mail::Mailer for WritesThenHangs {
    async fn send(&self, message: &rsvp::mail::Message) -> Result<String, rsvp::mail::MailError> {
        self.0.send(message).await?;
        std::future::pending().await
    }
}

/// The narrowest window of a kill: the message's file is written and the run dies before it records `sent`, so the
/// store file keeps the claim (`sending`). The server started again on the data folder takes the claim for dead at
/// once, sends again, and the outbox answers with the file already there: one message, recorded sent.
#[tokio::test]
async fn a_local_server_killed_between_writing_and_recording_an_email_writes_it_once() {
    let dir = eml::temp_dir();
    let (file, outbox) = (dir.join("rsvp.db"), dir.join("outbox"));
    let sealer = Arc::new(AesSealer::load_or_create(&dir).expect("the local key"));
    let invitation = {
        let store = Arc::new(SqliteStore::open(&file).expect("the store file"));
        let (invitation, _) = invite(store.as_ref(), sealer.as_ref(), "bob@guest.example").await;
        let dying = Deliverer {
            store: store.clone(),
            sealer: sealer.clone(),
            mailer: Arc::new(WritesThenHangs(OutboxMailer::new(&outbox, "rsvp@localhost").unwrap())),
            clock: Arc::new(SystemClock),
        };
        let item = MailItem::Community(invitation.id);
        assert!(tokio::time::timeout(Duration::from_secs(1), dying.deliver(item, 1)).await.is_err(), "it hangs");
        invitation
    };
    assert_eq!(eml::messages(&outbox, 1).await.len(), 1, "the dead run wrote the message");
    let store = Arc::new(SqliteStore::open(&file).expect("the store file, as the dead run left it"));
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Sending);

    rsvp_local::mail::start(&store, sealer, &outbox).expect("start the local mailer");
    for _ in 0..100 {
        if delivery(store.as_ref(), &invitation).await.state == DeliveryState::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 2), "retried once, recorded sent");
    let files = std::fs::read_dir(&outbox).unwrap().filter_map(|e| e.ok()).count();
    assert_eq!(files, 1, "one message, not two");
    std::fs::remove_dir_all(&dir).ok();
}
