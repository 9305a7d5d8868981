//! A sender killed mid-send (`kill -9`, a Lambda timeout) leaves its claim: the email is no one's to drop while
//! the claim may be live, and once it is stale, a retry or the sweep sends it, exactly once.

use std::sync::Arc;
use std::time::Duration;

use rsvp::domain::{CommunityInvitation, DeliveryOutcome, DeliveryState, InvitationPolicy, MailItem, SystemClock};
use rsvp::mail::deliver::{DeliverError, Delivered, Deliverer};
use rsvp::mail::outbox::OutboxMailer;
use rsvp::seal::{AesSealer, Sealer as _};
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp::store::{OutboxStore as _, Store};
use rsvp_tests::{T0, community, eml};
use serde_json::json;

use super::{
    Parties, assert_both_notices_went_once, by_outbox, delivery, invite, kms_sealer, owed_in, sent_to, ses_deliverer,
    table,
};

/// A sender killed mid-send (`kill -9`, a Lambda timeout) leaves its claim. While that claim may still be live,
/// the delivery is no one's to drop: its stream record fails (to be retried, then dead-lettered), never "skipped".
/// Once the claim is stale, a retry (the stream's, or the local server's sweep) sends the email, exactly once.
async fn a_killed_senders_email_goes_out_once_after_its_claim_goes_stale(store: Arc<dyn Store>, records: bool) {
    let dir = eml::temp_dir();
    let (sealer, invitation, secret) = owed_in(store.as_ref(), &dir).await;
    let item = MailItem::Community(invitation.id);
    let seq = delivery(store.as_ref(), &invitation).await.seq;
    // The sender that died: it claimed the delivery at T0 and was killed before it sent or recorded anything.
    assert!(store.claim_delivery(item, seq, T0).await.expect("the claim").is_some());
    let at =
        |minutes: i64| by_outbox(Arc::clone(&store), sealer.clone(), &dir.join("outbox"), T0.plus_minutes(minutes));
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
    let (_, invitation, _) = owed_in(store.as_ref(), &dir).await;
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
