//! The platform users API (invite_users and the tenant's invitation policy) over real HTTP: the local server in
//! front of the embedded store, and in front of DynamoDB Local. Every scenario runs against both stores.
//!
//! Emails are real too: with the embedded store the local server's own mailer writes `.eml` files as
//! `rsvp-local serve` does; with DynamoDB Local the test runs the outbox consumer (`rsvp::mail::deliver`) over the
//! invitations' pending deliveries, as the stream's Lambda would, into the same kind of `.eml` outbox. The codes
//! the tests use are read from those emails, never from the store.

mod idempotency;
mod invitations;
mod options;

use std::sync::Arc;

use rsvp::store::memory::MemoryStore;
use rsvp_tests::TestApp;
use rsvp_tests::eml;
use rsvp_tests::harness::User;

const ACME: &str = "tenant-acme";
const MEMBER: &str = "mia@acme.example";
/// The tenant's administrator.
const ADA: User<'static> = (ACME, "ada@acme.example");
/// A member of it.
const MIA: User<'static> = (ACME, MEMBER);
/// Another member.
const TOM: User<'static> = (ACME, "tom@acme.example");
const SETTINGS: &str = "/api/businesses/tenant-acme/usersettings";

async fn memory() -> TestApp {
    TestApp::builder().local_mailer(Arc::new(MemoryStore::new()), &eml::temp_dir()).spawn().await
}

async fn dynamodb() -> TestApp {
    TestApp::builder().store(rsvp_tests::dynamo_store().await).deliver_into(&eml::temp_dir()).spawn().await
}
