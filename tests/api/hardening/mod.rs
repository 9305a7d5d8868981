//! Hardening: outages of the table answer 503 with `Retry-After` and change nothing, the log never carries a
//! secret, a token or an address, races of many requests on one thing have one winner, and racing emails never
//! pass the mail budgets — against DynamoDB Local (the mail budgets against both stores) and real HTTP.
//!
//! The test binary captures its own log (every request's one JSON line) in memory, as CloudWatch would hold it,
//! from the first of these tests on: it holds the other suites' requests too, so a test looks for its own lines.

mod budgets;
mod log;
mod outages;
mod races;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use rsvp::domain::{MailBudget, Timestamp};
use rsvp::store::Store;
use rsvp_tests::TestApp;
use rsvp_tests::harness::Builder;
use rsvp_tests::harness::communities::BASE;
use serde_json::json;

/// What the tracing subscriber of this binary wrote.
static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once (the same JSON format `rsvp::lambda::init_tracing` writes in Lambda).
fn capture_log() -> Arc<Mutex<Vec<u8>>> {
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .with_target(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
    .clone()
}

fn log_text() -> String {
    String::from_utf8_lossy(&capture_log().lock().unwrap()).into_owned()
}

/// A server over `store`, once the log is captured.
fn server(store: Arc<dyn Store>) -> Builder {
    capture_log();
    TestApp::builder().store(store)
}

async fn spawn(store: Arc<dyn Store>) -> TestApp {
    spawn_with(store, MailBudget::default(), rsvp_tests::present()).await
}

/// A community named `name` of `owner`'s tenant: the path of its invitations.
async fn create_community(app: &TestApp, owner: &str, name: &str) -> String {
    format!("{BASE}/communities/{}/invitations", app.create_community_as(owner, json!({"Name": name})).await)
}

/// A server with the deployment's mail budget `mail`, its clock standing at `now`.
async fn spawn_with(store: Arc<dyn Store>, mail: MailBudget, now: Timestamp) -> TestApp {
    server(store).mail_budget(mail).clock_at(now).spawn().await
}
