//! Two portals, one test: two local servers, each a portal with its own port, store and signing key (made in its
//! own data folder, as `rsvp-local serve --portal-url` makes them), walk a collaboration between them over HTTPS
//! on loopback: the host invites, the guest validates and accepts the downloaded file and exports its response,
//! the host validates and imports it. Each portal's URL is its own `https://127.0.0.1:<port>`, and each fetches
//! the other's published key from there with the real fetcher (`HttpPortalKeys`), trusting the servers'
//! self-signed certificate as `rsvp-local serve --trust-cert` does. Then every attack on the files gets its clear
//! 4xx and changes nothing: tampering, other keys, forgeries re-signed with a forger's key, key changes after
//! pinning, an unreachable portal with and without its fingerprint. Every scenario runs with both portals on the
//! embedded store, and again on DynamoDB Local.

mod collaboration;
mod conventions;
mod forgeries;
mod keys;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsvp::domain::collaboration::{InvitationRequest, InvitationResponse, signed_file};
use rsvp::sign::{LocalSigner, Signer as _};
use rsvp::store::Store;
use rsvp_tests::harness::portal::{TestPortal, Tls};
use serde_json::Value;

/// A guest URL for invitations that are never accepted.
const GUEST: &str = "https://guest.test/portal";

/// The host and the guest, each on its own store of the kind the scenario runs on, and a way to start more
/// portals on that kind of store.
struct Pair {
    host: TestPortal,
    guest: TestPortal,
    more: Portals,
}

/// Starts further portals on the scenario's kind of store, trusting the same certificate.
struct Portals {
    tls: Tls,
    dynamodb: bool,
}

impl Portals {
    async fn store(&self) -> Arc<dyn Store> {
        if self.dynamodb { rsvp_tests::dynamo_store().await } else { rsvp_tests::memory_store() }
    }

    async fn start_at(&self, portal_url: Option<&str>) -> TestPortal {
        TestPortal::start_at(self.store().await, &self.tls, portal_url).await
    }
}

async fn pair(dynamodb: bool) -> Pair {
    let more = Portals { tls: Tls::new(), dynamodb };
    Pair { host: more.start_at(None).await, guest: more.start_at(None).await, more }
}

async fn memory() -> Pair {
    pair(false).await
}

async fn dynamodb() -> Pair {
    pair(true).await
}

/// The signed part (`field`) of a file.
fn signed_part<T: serde::de::DeserializeOwned>(file: &str, field: &str) -> T {
    let file: Value = serde_json::from_str(file).expect("a file");
    serde_json::from_value(file[field].clone()).expect("its signed part")
}

/// `request` with `signer`'s key in it, signed by `signer`: what someone holding that key writes.
async fn sign_invitation(mut request: InvitationRequest, signer: &LocalSigner) -> String {
    request.public_key = signer.public_key().await.expect("a key").to_base64();
    let payload = serde_json::to_string(&request).expect("JSON");
    let signature = STANDARD.encode(signer.sign(payload.as_bytes()).await.expect("a signature"));
    signed_file("invitationRequest", &payload, &signature)
}

/// `response` with `signer`'s key in it, signed by `signer`.
async fn sign_response(mut response: InvitationResponse, signer: &LocalSigner) -> String {
    response.public_key = signer.public_key().await.expect("a key").to_base64();
    let payload = serde_json::to_string(&response).expect("JSON");
    let signature = STANDARD.encode(signer.sign(payload.as_bytes()).await.expect("a signature"));
    signed_file("invitationResponse", &payload, &signature)
}
