//! The Communities API over real HTTP: the local server (`rsvp-local`) in front of the embedded store and in front
//! of DynamoDB Local, driven by a client as a user would. Every scenario runs against both stores.

mod community;
mod handshake;
mod invitations;
mod refusals;

use rsvp_tests::TestApp;

async fn memory() -> TestApp {
    TestApp::spawn(rsvp_tests::memory_store()).await
}

async fn dynamodb() -> TestApp {
    TestApp::spawn(rsvp_tests::dynamo_store().await).await
}
