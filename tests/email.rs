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
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine as _;
use reqwest::StatusCode;
use rsvp::app::{App, Config};
use rsvp::domain::{
    Action, Actor, Clock as _, DeliveryOutcome, DeliveryState, FixedClock, Invitation, InvitationPolicy, MailItem,
    Secret, SystemClock,
};
use rsvp::mail::deliver::{DeliverError, Delivered, Deliverer};
use rsvp::mail::outbox::OutboxMailer;
use rsvp::mail::ses::SesMailer;
use rsvp::seal::{AesSealer, KmsSealer, Sealer};
use rsvp::store::Store;
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use rsvp_tests::{T0, admin, as_community_admin, clock, community, dynamodb, email, eml};
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

/// Every record of the table's stream so far, shaped as Lambda hands them to the consumer.
async fn stream_records(table: &str) -> Vec<Value> {
    let endpoint = std::env::var(rsvp_tests::ENDPOINT_VARIABLE).expect("scripts/test sets the DynamoDB endpoint");
    let arn = dynamodb()
        .await
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(config);
    let description = streams.describe_stream().stream_arn(&arn).send().await.expect("DescribeStream");
    let mut out = Vec::new();
    for shard in description.stream_description().map(|d| d.shards()).unwrap_or_default() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        // An open shard always hands out a next iterator; a read that returns nothing means "caught up".
        while let Some(current) = iterator.take() {
            let page = streams.get_records().shard_iterator(current).send().await.expect("GetRecords");
            if page.records().is_empty() {
                break;
            }
            out.extend(page.records().iter().map(lambda_record));
            iterator = page.next_shard_iterator;
        }
    }
    out
}

fn attribute(value: &AttributeValue) -> Value {
    let map = |m: &HashMap<String, AttributeValue>| -> Value {
        m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<serde_json::Map<_, _>>().into()
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::M(m) => json!({ "M": map(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::Ss(ss) => json!({ "SS": ss }),
        AttributeValue::Ns(ns) => json!({ "NS": ns }),
        AttributeValue::B(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) }),
        other => panic!("an attribute type rsvp does not write: {other:?}"),
    }
}

/// A DynamoDB Streams record as the Lambda event source mapping passes it on.
fn lambda_record(record: &Record) -> Value {
    let change = record.dynamodb().expect("a stream record carries its change");
    let image = |i: Option<&HashMap<String, AttributeValue>>| -> Value {
        i.map_or(Value::Null, |m| m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
    };
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/rsvp/stream/test",
        "dynamodb": {
            "Keys": image(change.keys()),
            "NewImage": image(change.new_image()),
            "OldImage": image(change.old_image()),
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes().unwrap_or_default(),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    })
}

/// A community of the `owner` tenant in `store`, and an invitation of it to `recipient`, written as
/// `create_community_invitation` writes it: the link's secret sealed into the outbox.
async fn invite(store: &dyn Store, sealer: &dyn Sealer, recipient: &str) -> (Invitation, Secret) {
    let owner = admin("owner");
    let (c, membership) = community(&owner, "Shared Operations", T0);
    store.create_community(&c, &membership).await.expect("create the community");
    let (mut invitation, secret) = Invitation::create(&c, email(recipient), &owner, T0, InvitationPolicy::default());
    let sealed = sealer.seal(invitation.id, &secret).await.expect("seal the secret");
    invitation.attach_link(format!("https://rsvp.test/invite/{}", invitation.id), sealed);
    store.create_invitation(&invitation, T0).await.expect("create the invitation");
    (invitation, secret)
}

async fn delivery(store: &dyn Store, invitation: &Invitation) -> rsvp::domain::Delivery {
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
    rsvp_local::mail::start(&store, sealer, &dir.join("outbox")).expect("start the local mailer");
    let messages = eml::messages(&dir.join("outbox"), 1).await;
    assert!(eml::text_part(&messages[0]).contains(&format!("invite/{}?token={}", invitation.id, secret.expose())));
    for _ in 0..50 {
        if delivery(store.as_ref(), &invitation).await.state == DeliveryState::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Sent);
    std::fs::remove_dir_all(&dir).ok();
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
    rsvp_local::mail::start(&store, sealer, &dir.join("outbox")).expect("start the local mailer");
    let messages = eml::messages(&dir.join("outbox"), 1).await;
    assert!(eml::text_part(&messages[0]).contains(&format!("invite/{}?token={}", invitation.id, secret.expose())));
    for _ in 0..50 {
        if delivery(store.as_ref(), &invitation).await.state == DeliveryState::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Sent);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_sample_stream_event_sends_the_acceptance_notice_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/deliver-emails.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the sample event")).unwrap();
    let records = event["Records"].as_array().expect("Records").clone();
    // The invitation as the record's new image shows it, in a store of its own.
    let image = records.iter().find(|r| r["eventName"] == "MODIFY").expect("the invitation's change");
    let item: serde_dynamo::Item = serde_json::from_value(image["dynamodb"]["NewImage"].clone()).unwrap();
    let invitation: Invitation = serde_dynamo::from_item(item).expect("an invitation item");
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
