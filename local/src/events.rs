//! Events on a laptop: the local stand-in for `PublishEventsFunction` and the webhook. The SQLite store keeps the
//! events each write raises in the write's own transaction (`rsvp::store::sqlite::Outlet`); this module hands
//! them, in the order they were raised, to
//!
//! - `<data-dir>/events.jsonl`: one event per line, the envelope of `docs/events/`, synced before it counts as
//!   written;
//! - with `--webhook URL`, a POST of each event to the receiver, signed per the Standard Webhooks spec
//!   (`webhook-id` the event id, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "<id>.<timestamp>.<body>">`) with the secret in `<data-dir>/webhook-secret` (`whsec_<base64>`, made on first
//!   use, readable by its owner only). A refused or failed POST is tried again after 1 s, 2 s, 4 s, ... (at most
//!   [`MAX_BACKOFF`]), the same event first: later events wait, so the receiver sees them in order.
//!
//! Both run in the background: a request never waits for them. A server killed between handing an event on and
//! recording it hands it on again at the next start, with the same id; receivers drop ids they have seen.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use rsvp::store::sqlite::{Outlet, SqliteStore};
use sha2::Sha256;

/// The events file in the data folder.
pub const EVENTS_FILE: &str = "events.jsonl";
/// The webhook signing secret in the data folder.
pub const SECRET_FILE: &str = "webhook-secret";
/// The longest wait between two tries of one webhook POST.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a webhook POST may take before it counts as failed.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the outlets look for events even when no write told them to (a safety net, not the path).
const IDLE: Duration = Duration::from_secs(30);
/// Events read per round.
const BATCH: u32 = 100;

/// Where events go besides the file: the receiver's URL and the secret that signs each POST.
pub struct Webhook {
    pub url: url::Url,
    secret: Vec<u8>,
}

impl Webhook {
    /// The webhook at `url` (http or https), signing with `<data_dir>/webhook-secret`, made if missing.
    pub fn new(url: url::Url, data_dir: &Path) -> io::Result<Self> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("--webhook {url}: not http(s)")));
        }
        let file = data_dir.join(SECRET_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_secret(&file)?,
            Err(e) => return Err(e),
        };
        let secret = text.trim().strip_prefix("whsec_").and_then(|s| STANDARD.decode(s).ok()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{} is not a whsec_ secret", file.display()))
        })?;
        Ok(Self { url, secret })
    }

    /// The Standard Webhooks signature header value of `body` sent as message `id` at `timestamp`.
    pub fn signature(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

fn create_secret(file: &Path) -> io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    let text = format!("whsec_{}\n", STANDARD.encode(bytes));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    Ok(text)
}

/// Starts handing `store`'s events to `<data_dir>/events.jsonl` and, if given, the webhook, beginning with what a
/// previous run left. Call from within the Tokio runtime.
pub fn start(store: &Arc<SqliteStore>, data_dir: &Path, webhook: Option<Webhook>) -> io::Result<()> {
    let file = data_dir.join(EVENTS_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let out = options.open(&file)?;
    // Without a webhook the file is the only outlet: an event written there is done.
    let outlets: &'static [Outlet] = if webhook.is_some() { &[Outlet::File] } else { &[Outlet::File, Outlet::Webhook] };
    tokio::spawn(write_file(Arc::clone(store), out, file, outlets));
    if let Some(webhook) = webhook {
        tokio::spawn(post_webhook(Arc::clone(store), webhook));
    }
    Ok(())
}

/// Waits for the next write (or [`IDLE`]).
async fn next_write(writes: &mut tokio::sync::watch::Receiver<u64>) {
    let _ = tokio::time::timeout(IDLE, writes.changed()).await;
}

async fn write_file(store: Arc<SqliteStore>, mut out: std::fs::File, file: PathBuf, outlets: &'static [Outlet]) {
    let mut writes = store.writes();
    loop {
        writes.borrow_and_update();
        let events = match store.pending_events(Outlet::File, BATCH).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "reading the events failed");
                next_write(&mut writes).await;
                continue;
            }
        };
        if events.is_empty() {
            next_write(&mut writes).await;
            continue;
        }
        let mut lines = String::new();
        for (_, event) in &events {
            lines.push_str(event);
            lines.push('\n');
        }
        if let Err(e) = out.write_all(lines.as_bytes()).and_then(|()| out.sync_data()) {
            tracing::warn!(file = %file.display(), error = %e, "writing the events failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        for (seq, _) in events {
            if let Err(e) = store.events_done(outlets, seq).await {
                tracing::warn!(error = %e, "recording an event written failed");
            }
        }
    }
}

async fn post_webhook(store: Arc<SqliteStore>, webhook: Webhook) {
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the webhook client could not be made; events go to the file only");
            return;
        }
    };
    let mut writes = store.writes();
    loop {
        writes.borrow_and_update();
        let events = store.pending_events(Outlet::Webhook, BATCH).await.unwrap_or_default();
        if events.is_empty() {
            next_write(&mut writes).await;
            continue;
        }
        for (seq, event) in events {
            deliver(&client, &webhook, &event).await;
            if let Err(e) = store.events_done(&[Outlet::Webhook], seq).await {
                tracing::warn!(error = %e, "recording an event posted failed");
            }
        }
    }
}

/// POSTs one event until the receiver takes it (any 2xx), backing off between tries.
async fn deliver(client: &reqwest::Client, webhook: &Webhook, event: &str) {
    let id = serde_json::from_str::<serde_json::Value>(event)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut backoff = Duration::from_secs(1);
    for attempt in 1u32.. {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let sent = client
            .post(webhook.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", webhook.signature(&id, timestamp, event))
            .body(event.to_owned())
            .send()
            .await;
        let why = match sent {
            Ok(answer) if answer.status().is_success() => return,
            Ok(answer) => format!("answered {}", answer.status()),
            Err(e) => e.to_string(),
        };
        tracing::warn!(event = id, attempt, why, retry_in_s = backoff.as_secs(), "the webhook did not take an event");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks spec's own example: this secret, id, timestamp and body sign to this value.
    #[test]
    fn signs_as_the_standard_webhooks_spec_example() {
        let dir = std::env::temp_dir().join(format!("rsvp-webhook-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(SECRET_FILE), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
        let hook = Webhook::new("http://127.0.0.1:1/hook".parse().unwrap(), &dir).unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            hook.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_new_secret_is_private_and_whsec_prefixed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("rsvp-webhook-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        Webhook::new("http://127.0.0.1:1/hook".parse().unwrap(), &dir).unwrap();
        let file = dir.join(SECRET_FILE);
        assert!(std::fs::read_to_string(&file).unwrap().starts_with("whsec_"));
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(Webhook::new("ftp://x/".parse().unwrap(), &dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
