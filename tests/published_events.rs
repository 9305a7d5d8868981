//! The events publisher against real components: changes written to DynamoDB Local, its stream read as Lambda reads
//! it, `rsvp::publish::Publisher` putting the events on moto's EventBridge, and a rule on the bus sending them to
//! moto's SQS, where the test reads what a subscriber would get.
//!
//! SES's later records of a message (the `events/record-mail-fate-*.json` samples) go through
//! `rsvp::mail::fate::FateRecorder` onto the delivery, and out as their events the same way.
//!
//! `scripts/test` starts moto and DynamoDB Local and exports their endpoints; every test makes its own table, bus
//! and queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use rsvp::domain::event::Event;
use rsvp::domain::fate::Fate;
use rsvp::domain::{
    Action, DeliveryOutcome, Email, InvitationPolicy, MailItem, SystemClock, Timestamp, UserInvitation, UserSettings,
};
use rsvp::mail::fate::{FateRecorder, Recorded};
use rsvp::publish::eventbridge::EventBridgeSink;
use rsvp::publish::{EventSink, PublishError, Publisher};
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::{CommunityStore, OutboxStore, SuppressionStore, UserInvitationStore};
use rsvp_tests::harness::moto::{eventbridge, sqs};
use rsvp_tests::{Answer, T0, TestApp, admin, as_community_admin, as_recipient, community, email, stream_records};
use serde_json::Value;

/// A bus of its own with a rule that sends every rsvp event to a queue of its own, as a subscriber sets one up.
struct Subscriber {
    bus: String,
    queue_url: String,
}

impl Subscriber {
    async fn new() -> Self {
        let name = format!("rsvp-events-{}", uuid::Uuid::new_v4().simple());
        let events = eventbridge();
        events.create_event_bus().name(&name).send().await.expect("CreateEventBus");
        let queue_url = sqs().create_queue().queue_name(&name).send().await.expect("CreateQueue").queue_url.unwrap();
        let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&name)
            .event_pattern(r#"{"source": ["rsvp"]}"#)
            .send()
            .await
            .expect("PutRule");
        let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(arn).build().unwrap();
        events.put_targets().rule(&name).event_bus_name(&name).targets(target).send().await.expect("PutTargets");
        Self { bus: name, queue_url }
    }

    /// Every event the queue got, in order: the `detail` of each EventBridge message.
    async fn received(&self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let page = sqs()
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = page.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("a JSON message");
                assert_eq!(body["source"], "rsvp");
                assert_eq!(body["detail-type"], body["detail"]["type"]);
                out.push(body["detail"].clone());
                sqs()
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// A table of its own in DynamoDB Local, with its stream.
async fn table() -> (Arc<DynamoStore>, String) {
    let store = rsvp_tests::fresh_dynamo_store().await;
    let name = store.table_name().to_owned();
    (Arc::new(store), name)
}

fn publisher(store: &Arc<DynamoStore>, sink: Arc<dyn EventSink>) -> Publisher {
    Publisher { sink, log: store.clone(), clock: Arc::new(SystemClock), metrics_namespace: None }
}

/// Writes a whole community handshake (with its invitation email sent) and a platform sign-up, as the operations
/// and the email consumer write them. Their subjects' ids.
async fn handshake_and_sign_up(store: &DynamoStore) -> (String, String) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, membership) = community(&owner, "Shared Operations", T0);
    store.create_community(&c, &membership).await.expect("create the community");
    let policy = InvitationPolicy::default();
    let (created, _) =
        rsvp::domain::CommunityInvitation::create(&c, email("admin@guest.example.com"), &owner, T0, policy);
    store.create_invitation(&created, T0).await.expect("create the invitation");
    let item = MailItem::Community(created.id);
    store.claim_delivery(item, 1, T0).await.expect("claim").expect("claimed");
    let sent = DeliveryOutcome::Sent { message_id: "ses-1".into() };
    store.finish_delivery(item, 1, &sent, T0).await.expect("record the outcome");
    let delivered = store.get_invitation(created.id).await.unwrap().unwrap();
    let contact = Some(email("ops@guest.example"));
    let accepted = delivered.process(&c, Action::Accept, as_recipient(&guest), contact, T0, policy).unwrap();
    store.apply(&accepted).await.expect("accept");
    let confirmed =
        accepted.invitation.process(None, Action::Confirm, as_community_admin(&owner), None, T0, policy).unwrap();
    store.apply(&confirmed).await.expect("confirm");

    let settings = UserSettings::default();
    let jane = Email::parse("jane@example.com").unwrap();
    let (user, _) = UserInvitation::create(&owner, jane, None, T0, &settings);
    store.create_user_invitations(std::slice::from_ref(&user), T0).await.expect("invite a user");
    let verified = user.verify(T0).unwrap().expect("the first check of the code is a change");
    store.apply_user_invitation(&verified).await.expect("verify the code");
    assert!(verified.invitation.verify(T0).unwrap().is_none(), "a second check changes nothing");
    let signed_up =
        verified.invitation.accept("Jane".into(), "Mead".into(), Timestamp::from_millis(T0.millis() + 1)).unwrap();
    store.apply_user_invitation(&signed_up).await.expect("sign up");
    (created.id.to_string(), user.id.to_string())
}

/// Publishes every record of `table`'s stream to `subscriber`'s bus, then the same records again (a retried batch,
/// a second consumer); what the subscriber got, each event once.
async fn publish_twice(store: &Arc<DynamoStore>, table: &str, subscriber: &Subscriber) -> Vec<Value> {
    let publisher = publisher(store, Arc::new(EventBridgeSink::new(eventbridge(), &subscriber.bus)));
    let records = stream_records(table).await;
    for _ in 0..2 {
        let answer = publisher.handle_records(&records).await;
        assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    }
    let received = subscriber.received().await;
    assert_each_once(&received);
    received
}

fn types_of(events: &[Value], subject: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["subject"]["id"] == subject)
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn assert_each_once(events: &[Value]) {
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap_or_default()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "an event was delivered twice: {events:#?}");
}

const HANDSHAKE: [&str; 4] =
    ["community.invitation.created", "email.sent", "community.invitation.accepted", "community.invitation.confirmed"];
const SIGN_UP: [&str; 3] = ["user.invitation.created", "user.invitation.verified", "user.invitation.accepted"];

#[tokio::test]
async fn a_handshake_and_a_sign_up_publish_exactly_their_events_in_order_once_even_when_replayed() {
    let (store, table) = table().await;
    let subscriber = Subscriber::new().await;
    let (invitation, user) = handshake_and_sign_up(&store).await;
    let publisher = publisher(&store, Arc::new(EventBridgeSink::new(eventbridge(), &subscriber.bus)));

    let records = stream_records(&table).await;
    let answer = publisher.handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty(), "{:?}", answer.batch_item_failures);
    // The same records again (a retried batch, a second consumer): nothing more goes out.
    let answer = publisher.handle_records(&records).await;
    assert!(answer.batch_item_failures.is_empty());

    let received = subscriber.received().await;
    assert_each_once(&received);
    assert_eq!(types_of(&received, &invitation), HANDSHAKE);
    assert_eq!(types_of(&received, &user), SIGN_UP);
    assert_eq!(received.len(), HANDSHAKE.len() + SIGN_UP.len(), "nothing else: {received:#?}");
    let accepted = &received.iter().find(|e| e["type"] == "community.invitation.accepted").unwrap();
    assert_eq!(
        (accepted["tenant"].as_str(), accepted["data"]["invitedTenant"].as_str()),
        (Some("owner"), Some("guest"))
    );
    let text = serde_json::to_string(&received).unwrap();
    assert!(!text.contains("secret_hash") && !text.contains("/invite/"), "{text}");
}

/// The real sink, refusing its `nth` call (counting from 0) as an unreachable bus would.
struct Failing {
    inner: EventBridgeSink,
    calls: AtomicUsize,
    nth: usize,
}

#[async_trait]
impl EventSink for Failing {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.nth {
            return Err(PublishError::Sink("the bus is unreachable".into()));
        }
        self.inner.publish(events).await
    }
}

#[tokio::test]
async fn a_failed_record_stops_the_batch_and_only_it_and_what_follows_are_retried() {
    let (store, table) = table().await;
    let subscriber = Subscriber::new().await;
    let (invitation, user) = handshake_and_sign_up(&store).await;
    let records = stream_records(&table).await;
    // The third publish is the Accept's; the records before it went out.
    let failing =
        Failing { inner: EventBridgeSink::new(eventbridge(), &subscriber.bus), calls: AtomicUsize::new(0), nth: 2 };
    let answer = publisher(&store, Arc::new(failing)).handle_records(&records).await;
    assert_eq!(answer.batch_item_failures.len(), 1, "the first failure, and only it, is named");
    let failed = answer.batch_item_failures[0].item_identifier.clone().expect("a sequence number");
    let at = records.iter().position(|r| r["dynamodb"]["SequenceNumber"] == failed.as_str()).expect("a record");
    let before = subscriber.received().await;
    assert_eq!(types_of(&before, &invitation), HANDSHAKE[..2], "nothing after the failed record went out");

    // Lambda hands the batch again from the failed record on.
    let sink = Arc::new(EventBridgeSink::new(eventbridge(), &subscriber.bus));
    let answer = publisher(&store, sink).handle_records(&records[at..]).await;
    assert!(answer.batch_item_failures.is_empty());
    let mut all = before;
    all.extend(subscriber.received().await);
    assert_each_once(&all);
    assert_eq!(types_of(&all, &invitation), HANDSHAKE);
    assert_eq!(types_of(&all, &user), SIGN_UP);
}

#[tokio::test]
async fn records_the_publisher_does_not_understand_are_skipped_not_failed() {
    let (store, _) = table().await;
    let subscriber = Subscriber::new().await;
    let publisher = publisher(&store, Arc::new(EventBridgeSink::new(eventbridge(), &subscriber.bus)));
    let junk = serde_json::json!([
        "not a record",
        { "eventName": "REMOVE", "dynamodb": { "SequenceNumber": "1", "OldImage": { "SK": { "S": "#INVITATION" } } } },
        { "eventName": "INSERT", "dynamodb": { "SequenceNumber": "2", "NewImage": { "SK": { "S": "#LOCK" } } } },
        { "eventName": "MODIFY", "dynamodb": { "SequenceNumber": "3", "NewImage": { "SK": { "S": "#INVITATION" }, "id": { "S": "x" } } } },
    ]);
    let answer = publisher.handle_records(junk.as_array().unwrap()).await;
    assert!(answer.batch_item_failures.is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(subscriber.received().await.is_empty());
}

/// An invitation left unanswered: the sweep finds it in the sparse index (its email sent, it owes nothing) once it
/// expired, records that once, and the publisher raises `expired` once, after what came before, even replayed.
#[tokio::test]
async fn an_unanswered_invitation_raises_expired_once_when_the_sweep_records_it() {
    let (store, table) = table().await;
    let subscriber = Subscriber::new().await;
    let owner = admin("owner");
    let (c, membership) = community(&owner, "Shared Operations", T0);
    store.create_community(&c, &membership).await.expect("create the community");
    let (created, _) = rsvp::domain::CommunityInvitation::create(
        &c,
        email("bob@guest.example"),
        &owner,
        T0,
        InvitationPolicy::default(),
    );
    store.create_invitation(&created, T0).await.expect("create the invitation");
    let item = MailItem::Community(created.id);
    store.claim_delivery(item, 1, T0).await.expect("claim").expect("claimed");
    store.finish_delivery(item, 1, &DeliveryOutcome::Sent { message_id: "ses-1".into() }, T0).await.unwrap();

    let limit = rsvp::mail::sweep::EXPIRY_LIMIT;
    let early = created.expires.plus_minutes(-1);
    assert_eq!(rsvp::mail::sweep::record_expiries(store.as_ref(), early, limit).await.unwrap(), 0, "not yet");
    let late = created.expires.plus_minutes(5);
    assert_eq!(rsvp::mail::sweep::record_expiries(store.as_ref(), late, limit).await.unwrap(), 1);
    assert_eq!(rsvp::mail::sweep::record_expiries(store.as_ref(), late, limit).await.unwrap(), 0, "once");

    let received = publish_twice(&store, &table, &subscriber).await;
    let invitation = created.id.to_string();
    assert_eq!(
        types_of(&received, &invitation),
        ["community.invitation.created", "email.sent", "community.invitation.expired"]
    );
    let expired = received.iter().find(|e| e["type"] == "community.invitation.expired").unwrap();
    assert_eq!(
        (expired["state"].as_str(), expired["time"].as_str(), expired.get("actor")),
        (Some("InvitationExpired"), Some(created.expires.to_rfc3339().as_str()), None)
    );
}

/// A two-portal collaboration as each portal's operations write it (each with its own table): the host creates
/// the collaboration and invites the guest, makes the file anew, the guest accepts it, the host imports its
/// response, invalidates a second invitation and removes the guest, which then leaves. The invitation's id.
async fn two_portals(host: &DynamoStore, guest: &DynamoStore) -> (String, String) {
    use rsvp::domain::Secret;
    use rsvp::domain::collaboration::{
        AccessMode, Collaboration, CollaborationInvitation, Contact, InvitationResponse, Participant, Portal, PortalId,
        PortalUrl, Side, Workspace,
    };
    use rsvp::store::PortalStore;
    let portal = |id: &str| Portal {
        id: PortalId::parse("id", id).unwrap(),
        url: PortalUrl::parse("url", &format!("https://{id}.example/portal"), false).unwrap(),
        name: format!("{id} portal"),
    };
    let ada = Contact::parse("Ada", "Admin", "ada@host.example").unwrap();
    let gus = Contact::parse("Gus", "Guest", "gus@guest.example").unwrap();
    let c =
        Collaboration::create(portal("host"), "Flood data", None, Workspace::create("Maps", None).unwrap(), ada, T0)
            .unwrap();
    host.put_collaboration(&c, None).await.expect("create the collaboration");
    let access = vec![(c.workspaces[0].id, AccessMode::Send)];
    let issue = |at: Timestamp| {
        let (request, nonce) =
            CollaborationInvitation::request(&c, portal("guest").url, &access, "host-key".into(), at, 72).unwrap();
        CollaborationInvitation::issued(request, access.clone(), "signed".into(), &nonce, "sealed".into())
    };
    let invitation = issue(T0);
    host.create_collaboration_invitation(&invitation).await.expect("invite");
    let later = T0.plus_minutes(60);
    let (request, nonce) = invitation.refresh_request("host-key".into(), later).unwrap();
    let refreshed = invitation.refreshed(request.clone(), "signed-2".into(), &nonce, "sealed-2".into(), later);
    host.update_collaboration_invitation(&refreshed, invitation.version, None).await.expect("refresh");

    let joined = Collaboration::joined(&request, gus.clone(), later).unwrap();
    let recorded = |side: Side, at: Timestamp| Participant {
        collaboration_id: c.id,
        portal: portal(if side == Side::Host { "host" } else { "guest" }),
        side,
        public_key: "key".into(),
        contact: gus.clone(),
        access: access.clone(),
        invitation_id: invitation.id,
        joined: at,
        sealed_nonce: None,
        host_portal_id: (side == Side::Guest).then(|| c.host.id.clone()),
    };
    let the_host = recorded(Side::Host, later);
    guest.join_collaboration(&joined, &the_host).await.expect("accept");

    let response = InvitationResponse {
        invitation_id: invitation.id,
        collaboration_id: c.id,
        nonce: Secret::expose(&nonce).to_owned(),
        guest_portal_id: portal("guest").id,
        guest_portal_url: portal("guest").url,
        guest_portal_name: "guest portal".into(),
        public_key: "guest-key".into(),
        contact_firstname: "Gus".into(),
        contact_lastname: "Guest".into(),
        contact_email_address: "gus@guest.example".into(),
        created: later.millis(),
    };
    let imported = refreshed.import(&response, later).unwrap();
    let the_guest = recorded(Side::Guest, later);
    host.update_collaboration_invitation(&imported, refreshed.version, Some(&the_guest)).await.expect("import");
    let other = issue(later);
    host.create_collaboration_invitation(&other).await.expect("invite again");
    host.update_collaboration_invitation(&other.invalidate(later).unwrap(), other.version, None)
        .await
        .expect("invalidate");
    host.remove_participant(c.id, &the_guest.portal.id, later.plus_minutes(1)).await.expect("remove the guest");
    guest.leave_collaboration(&joined, &[the_host], later.plus_minutes(2)).await.expect("leave");
    (invitation.id.to_string(), other.id.to_string())
}

const HOST: [&str; 4] = [
    "collaboration.invitation.created",
    "collaboration.invitation.refreshed",
    "collaboration.invitation.imported",
    "collaboration.participant.removed",
];
const GUEST: [&str; 2] = ["collaboration.invitation.accepted", "collaboration.participant.removed"];

#[tokio::test]
async fn a_two_portal_collaboration_publishes_exactly_its_events_on_each_portal_in_order_once_even_when_replayed() {
    let ((host, host_table), (guest, guest_table)) = (table().await, table().await);
    let (on_host, on_guest) = (Subscriber::new().await, Subscriber::new().await);
    let (invitation, other) = two_portals(&host, &guest).await;
    let host_events = publish_twice(&host, &host_table, &on_host).await;
    let guest_events = publish_twice(&guest, &guest_table, &on_guest).await;
    assert_eq!(types_of(&host_events, &invitation), HOST);
    assert_eq!(
        types_of(&host_events, &other),
        ["collaboration.invitation.created", "collaboration.invitation.invalidated"]
    );
    assert_eq!(host_events.len(), HOST.len() + 2, "nothing else: {host_events:#?}");
    assert_eq!(types_of(&guest_events, &invitation), GUEST);
    assert_eq!(guest_events.len(), GUEST.len(), "nothing else: {guest_events:#?}");
    let removed = host_events.iter().find(|e| e["type"] == "collaboration.participant.removed").unwrap();
    assert_eq!(
        (removed["data"]["portalId"].as_str(), removed["data"]["side"].as_str()),
        (Some("guest"), Some("guest"))
    );
    for event in host_events.iter().chain(&guest_events) {
        assert_eq!(event["tenant"], "host", "a collaboration's events are its host's: {event:#}");
    }
    let text = serde_json::to_string(&(host_events, guest_events)).unwrap();
    for secret in ["sealed", "signed", "-key", "nonce"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

fn sample(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../events/record-mail-fate-{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the sample event")).expect("JSON")
}

/// SES's sample bounce and complaint (AWS's documented examples, tagged as rsvp tags its messages) turn the sent
/// delivery `bounced` then `complained`, each published once as its event, and stop the tenant's mail to the
/// address (Resend answers 409 and writes nothing) until an administrator lifts it; what is not about that message,
/// or not SES's, or malformed, is skipped and changes nothing.
#[tokio::test]
async fn a_sample_bounce_and_complaint_are_recorded_on_the_delivery_and_published_once() {
    let (store, table) = table().await;
    let subscriber = Subscriber::new().await;
    let bounce = sample("bounce");
    let tag = |name: &str| bounce["detail"]["mail"]["tags"][name][0].as_str().unwrap().to_owned();
    let message_id = bounce["detail"]["mail"]["messageId"].as_str().unwrap().to_owned();
    let owner = admin("owner");
    let (c, membership) = community(&owner, "Shared Operations", T0);
    store.create_community(&c, &membership).await.unwrap();
    let (mut invitation, _) = rsvp::domain::CommunityInvitation::create(
        &c,
        email("bob@guest.example"),
        &owner,
        T0,
        InvitationPolicy::default(),
    );
    invitation.id = rsvp::domain::InvitationId::parse("id", &tag("rsvp-invitation")).unwrap();
    store.create_invitation(&invitation, T0).await.unwrap();
    let item = MailItem::Community(invitation.id);
    let seq: u64 = tag("rsvp-seq").parse().unwrap();
    store.claim_delivery(item, seq, T0).await.unwrap().expect("claimed");
    store.finish_delivery(item, seq, &DeliveryOutcome::Sent { message_id: message_id.clone() }, T0).await.unwrap();
    let sent = store.get_invitation(invitation.id).await.unwrap().unwrap();

    let recorder = FateRecorder { store: store.clone() };
    let mut other_message = bounce.clone();
    other_message["detail"]["mail"]["messageId"] = "EXAMPLE-another-message".into();
    let mut unknown_invitation = bounce.clone();
    unknown_invitation["detail"]["mail"]["tags"]["rsvp-invitation"][0] = uuid::Uuid::new_v4().to_string().into();
    let mut no_tags = bounce.clone();
    no_tags["detail"]["mail"]["tags"] = serde_json::json!({});
    let junk = [
        other_message,
        unknown_invitation,
        no_tags,
        serde_json::json!({ "source": "aws.ses", "detail": { "eventType": "Bounce" } }),
        serde_json::json!({ "source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification" }),
        serde_json::json!("not an event"),
    ];
    for event in &junk {
        assert_eq!(recorder.record(event).await.unwrap(), Recorded::Skipped, "{event}");
    }
    assert_eq!(store.get_invitation(invitation.id).await.unwrap().unwrap(), sent, "nothing was written");

    assert!(matches!(recorder.record(&bounce).await.unwrap(), Recorded::Learned(_)));
    assert_eq!(recorder.record(&bounce).await.unwrap(), Recorded::Skipped, "the same record again is no news");
    let bounced = store.get_invitation(invitation.id).await.unwrap().unwrap();
    let fate = bounced.delivery.as_ref().and_then(|d| d.fate.clone());
    let Some(Fate::Bounced { permanent: true, diagnostic, .. }) = fate else { panic!("a hard bounce: {fate:?}") };
    assert_eq!(diagnostic.as_deref(), Some("smtp; 550 5.1.1 user unknown"));
    assert!(matches!(recorder.record(&sample("complaint")).await.unwrap(), Recorded::Learned(_)));
    let complained = store.get_invitation(invitation.id).await.unwrap().unwrap();
    let fate = complained.delivery.as_ref().and_then(|d| d.fate.as_ref()).map(Fate::as_str);
    assert_eq!(fate, Some("complained"));
    assert_eq!(recorder.record(&sample("delivery")).await.unwrap(), Recorded::Skipped, "a late Delivery is no news");

    // The hard bounce suppressed the address for the owner tenant: Resend is refused, and nothing changes, until
    // an administrator lifts it.
    let suppressed = store.suppressions(&owner.tenant, &[&invitation.recipient]).await.unwrap();
    assert_eq!(suppressed.iter().map(|s| s.reason.as_str()).collect::<Vec<_>>(), ["complained"]);
    // The API over the store, served as rsvp-local serves it (with the system's clock, as the functions), called
    // as the owner tenant's administrator.
    let api = TestApp::builder().store(store.clone()).no_public_url().real_clock().spawn().await;
    let token = api.admin(("owner", "admin@owner.example.com"));
    let resend = format!("/api/v1-preview/communityinvitations/{}", invitation.id);
    let before = store.get_invitation(invitation.id).await.unwrap().unwrap();
    let Answer { status, text: body, .. } =
        api.call(Method::PUT, &resend, Some(&token), Some(serde_json::json!({"Action": "Resend"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("suppressions") && !body.contains("bob@guest.example"), "{body}");
    assert_eq!(store.get_invitation(invitation.id).await.unwrap().unwrap(), before, "nothing was written");
    let lift = format!("/api/businesses/{}/suppressions/bob%40guest.example", owner.tenant);
    assert_eq!(api.call(Method::DELETE, &lift, Some(&token), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.call(Method::DELETE, &lift, Some(&token), None).await.status, StatusCode::NOT_FOUND, "lifted once");
    let Answer { status, text: body, .. } =
        api.call(Method::PUT, &resend, Some(&token), Some(serde_json::json!({"Action": "Resend"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let received = publish_twice(&store, &table, &subscriber).await;
    let id = invitation.id.to_string();
    let fates: Vec<&Value> = received.iter().filter(|e| e["subject"]["id"] == id.as_str()).collect();
    let types: Vec<&str> = fates.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "community.invitation.created",
            "email.sent",
            "email.bounced",
            "email.complained",
            "community.invitation.resent"
        ]
    );
    assert_eq!(
        (fates[2]["data"]["permanent"].as_bool(), fates[2]["data"]["bounceType"].as_str()),
        (Some(true), Some("Permanent"))
    );
    assert_eq!(fates[3]["data"]["feedback"], "abuse");
    assert_eq!(fates[2]["data"]["messageId"], message_id.as_str());
}
