//! Invitation emails against real components: the outbox consumer reading DynamoDB Local's stream, sealing with
//! moto's KMS, sending with moto's SES (which, like SES, refuses unverified senders), and the local server writing
//! `.eml` files whose link works.
//!
//! `scripts/test` starts moto and exports `RSVP_TEST_MOTO_ENDPOINT`; moto's state is shared by every test, so each
//! test uses addresses and keys of its own and looks only at those.
//!
//! | module | what it tests |
//! |---|---|
//! | [`stream`] | the outbox consumer over DynamoDB Local's stream: KMS's seal, SES's sends and refusals, Resend, notices |
//! | [`local`] | the local server's emails: `.eml` files whose link works, what a previous run left, a kill mid-batch |
//! | [`killed`] | a sender killed mid-send: its claim goes stale, the sweep sends, each email once |

mod killed;
mod local;
mod stream;

use std::path::Path;
use std::sync::Arc;

use rsvp::domain::{Action, CommunityInvitation, DeliveryState, FixedClock, InvitationPolicy, Secret, Timestamp};
use rsvp::mail::Mailer;
use rsvp::mail::deliver::Deliverer;
use rsvp::mail::outbox::OutboxMailer;
use rsvp::mail::ses::SesMailer;
use rsvp::seal::{AesSealer, KmsSealer, Sealer};
use rsvp::store::Store;
use rsvp::store::dynamodb::DynamoStore;
use rsvp_tests::harness::moto;
use rsvp_tests::{T0, admin, as_community_admin, community, email};
use serde_json::Value;

async fn kms_sealer() -> KmsSealer {
    let client = moto::kms();
    let key = client.create_key().send().await.expect("moto creates a KMS key");
    let id = key.key_metadata().expect("key metadata").key_id().to_owned();
    KmsSealer::new(client, id)
}

fn unique_address(who: &str) -> String {
    format!("{who}-{}@mail.example", uuid::Uuid::new_v4().simple())
}

async fn verify(address: &str) {
    moto::ses().verify_email_identity().email_address(address).send().await.expect("VerifyEmailIdentity");
}

/// The messages moto's SES sent to `recipient`.
async fn sent_to(recipient: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto::endpoint()))
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
    let store = rsvp_tests::fresh_dynamo_store().await;
    let name = store.table_name().to_owned();
    (Arc::new(store), name)
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

/// A sealing key kept in `dir`, and an invitation to bob@guest.example written into `store`, its email owed.
async fn owed_in(store: &dyn Store, dir: &Path) -> (Arc<AesSealer>, CommunityInvitation, Secret) {
    let sealer = Arc::new(AesSealer::load_or_create(dir).expect("the local key"));
    let (invitation, secret) = invite(store, sealer.as_ref(), "bob@guest.example").await;
    (sealer, invitation, secret)
}

async fn delivery(store: &dyn Store, invitation: &CommunityInvitation) -> rsvp::domain::Delivery {
    store.get_invitation(invitation.id).await.unwrap().expect("the invitation").delivery.expect("a delivery")
}

/// A consumer over `store` sending through `ses` as `sender`, its clock standing at `at`.
fn by_ses(
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
    ses: aws_sdk_ses::Client,
    sender: &str,
    at: Timestamp,
) -> Deliverer {
    deliverer(store, sealer, SesMailer::new(ses, sender.to_owned(), None), at)
}

/// A consumer over `store` writing `.eml` files into `outbox`, its clock standing at `at`.
fn by_outbox(store: Arc<dyn Store>, sealer: Arc<dyn Sealer>, outbox: &Path, at: Timestamp) -> Deliverer {
    deliverer(store, sealer, OutboxMailer::new(outbox, "rsvp@localhost").expect("the outbox"), at)
}

fn deliverer(
    store: Arc<dyn Store>,
    sealer: Arc<dyn Sealer>,
    mailer: impl Mailer + 'static,
    at: Timestamp,
) -> Deliverer {
    Deliverer { store, sealer, mailer: Arc::new(mailer), clock: Arc::new(FixedClock::at(at)) }
}

/// A Deliverer over `store` sending with moto's SES as `sender` (verified), at `at`.
async fn ses_deliverer(store: Arc<dyn Store>, sealer: Arc<KmsSealer>, at: rsvp::domain::Timestamp) -> Deliverer {
    let sender = unique_address("sender");
    verify(&sender).await;
    by_ses(store, sealer, moto::ses(), &sender, at)
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
