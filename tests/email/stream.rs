//! The outbox consumer over DynamoDB Local's stream (and the embedded store's announcements): the secret sealed
//! with moto's KMS, each email sent once through moto's SES, its failures and Resend, and the notices.

use std::path::Path;
use std::sync::Arc;

use rsvp::domain::{Action, Actor, CommunityInvitation, DeliveryState, InvitationPolicy, MailItem, Secret};
use rsvp::seal::KmsSealer;
use rsvp::seal::{AesSealer, Sealer as _};
use rsvp::store::CommunityStore as _;
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::memory::MemoryStore;
use rsvp_tests::harness::moto;
use rsvp_tests::{T0, admin, as_community_admin, community, eml, stream_records};
use serde_json::{Value, json};

use super::{
    Parties, assert_both_notices_went_once, by_outbox, by_ses, delivery, invite, kms_sealer, sent_to, ses_deliverer,
    table, unique_address, verify,
};

/// Whether SES may send as the sender yet (moto, like SES, refuses an unverified one).
#[derive(PartialEq)]
enum Sender {
    Verified,
    Unverified,
}

/// A table of its own with a KMS key, a sender and a recipient of their own, and an invitation to the recipient
/// whose email is owed.
struct Owed {
    store: Arc<DynamoStore>,
    table: String,
    sealer: Arc<KmsSealer>,
    sender: String,
    recipient: String,
    invitation: CommunityInvitation,
    secret: Secret,
}

async fn owed(sender: Sender) -> Owed {
    let (store, table) = table().await;
    let sealer = Arc::new(kms_sealer().await);
    let (address, recipient) = (unique_address("sender"), unique_address("bob"));
    if sender == Sender::Verified {
        verify(&address).await;
    }
    let (invitation, secret) = invite(store.as_ref(), sealer.as_ref(), &recipient).await;
    Owed { store, table, sealer, sender: address, recipient, invitation, secret }
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
    let Owed { store, table, sealer, sender, recipient, invitation, secret } = owed(Sender::Verified).await;
    let stored = delivery(store.as_ref(), &invitation).await;
    assert_eq!(stored.state, DeliveryState::Pending);
    let sealed = stored.sealed_secret.clone().expect("the sealed secret waits in the outbox");
    assert!(!sealed.contains(secret.expose()), "the table holds the secret only sealed");

    let records = stream_records(&table).await;
    // The community, its owner's membership, the invitation, its lock, and the community's count of open
    // invitations moved in the same transaction.
    assert_eq!(records.len(), 5, "{records:#?}");
    let deliverer = by_ses(store.clone(), sealer, moto::ses(), &sender, T0);
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
    let Owed { store, table, sealer, sender, recipient, invitation, .. } = owed(Sender::Verified).await;
    // The recipient declines through the link (e.g. from another channel) before the consumer runs.
    let c = store.get_community(invitation.community_id).await.unwrap().expect("the community");
    let declined = invitation
        .process(&c, Action::Decline, Actor::link_holder(), None, T0, InvitationPolicy::default())
        .expect("a link holder may decline");
    store.apply(&declined).await.expect("the decline is written");
    let withdrawn = delivery(store.as_ref(), &invitation).await;
    assert_eq!((withdrawn.state, withdrawn.sealed_secret.as_deref()), (DeliveryState::Cancelled, None));

    let deliverer = by_ses(store.clone(), sealer, moto::ses(), &sender, T0);
    let answer = deliverer.handle_records(&stream_records(&table).await).await;
    assert!(answer.batch_item_failures.is_empty(), "a withdrawn email is no failure: {:?}", answer.batch_item_failures);
    assert_eq!(sent_to(&recipient).await, Vec::<Value>::new(), "no email with a dead link goes out");
    assert_eq!(delivery(store.as_ref(), &invitation).await.state, DeliveryState::Cancelled);
}

#[tokio::test]
async fn a_failing_ses_fails_the_record_with_its_reason_and_the_retry_sends() {
    let Owed { store, table, sealer, sender, recipient, invitation, secret } = owed(Sender::Unverified).await;
    let records = stream_records(&table).await;
    let pending: Vec<&Value> = records.iter().filter(|r| r["dynamodb"]["Keys"]["SK"]["S"] == "#INVITATION").collect();
    assert_eq!(pending.len(), 1);
    let sequence = pending[0]["dynamodb"]["SequenceNumber"].as_str().expect("a sequence number").to_owned();
    let deliverer = |ses: aws_sdk_ses::Client| by_ses(store.clone(), sealer.clone(), ses, &sender, T0);

    // SES cannot be reached: the record fails, and the item says why.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        format!("http://{}", listener.local_addr().expect("its address"))
    };
    let answer = deliverer(moto::ses_at(&closed)).handle_records(&records).await;
    let failed: Vec<_> = answer.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, [Some(sequence.clone())], "only the invitation's record fails, by its sequence number");
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 1));
    assert!(d.failure.as_deref().is_some_and(|f| f.contains("SendEmail")), "{:?}", d.failure);

    // SES answers but refuses the unverified sender, as real SES does: failed again, with SES's own reason.
    let answer = deliverer(moto::ses()).handle_records(&records).await;
    assert_eq!(answer.batch_item_failures.len(), 1);
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 2));
    assert!(d.failure.as_deref().is_some_and(|f| f.contains("not verified")), "{:?}", d.failure);
    assert!(sent_to(&recipient).await.is_empty());

    // Lambda retries the record once the sender is verified: sent, once, with the original link.
    verify(&sender).await;
    let answer = deliverer(moto::ses()).handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    let d = delivery(store.as_ref(), &invitation).await;
    assert_eq!((d.state, d.attempts, d.failure), (DeliveryState::Sent, 3, None));
    let sent = sent_to(&recipient).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["body"].as_str().unwrap_or_default().contains(secret.expose()));
}

#[tokio::test]
async fn resend_after_a_failure_sends_the_new_link() {
    let Owed { store, table, sealer, sender, recipient, invitation, secret: old_secret } =
        owed(Sender::Unverified).await;
    let deliverer = by_ses(store.clone(), sealer.clone(), moto::ses(), &sender, T0);
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
    let deliverer = by_outbox(store.clone(), Arc::new(AesSealer::ephemeral()), &dir, T0);
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
    let deliverer = by_outbox(store.clone(), Arc::new(AesSealer::ephemeral()), &dir, T0);
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
