//! The local server's mailer: each message becomes one `.eml` file (RFC 5322, MIME multipart/alternative) in a
//! folder, which any mail client opens. Nothing leaves the machine.
//!
//! A message with a [`Message::key`] is written once: asked again for the same key (a retry after the sender was
//! killed between writing the file and recording it sent), the mailer answers with the file already there.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{MailError, Mailer, Message, header_text};
use crate::domain::{Clock as _, SystemClock, Timestamp};

pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    /// Writes into `dir` (made if missing) as sender `from`.
    pub fn new(dir: &Path, from: impl Into<String>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_owned(), from: from.into() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A header value as RFC 2047 encoded-word when it is not plain ASCII; it has no control characters either way.
fn encoded(value: &str) -> String {
    let value = header_text(value, 998);
    if value.is_ascii() { value } else { format!("=?UTF-8?B?{}?=", STANDARD.encode(value.as_bytes())) }
}

/// Base64 in lines of 76 characters, as MIME wants.
fn base64_lines(data: &str) -> String {
    let encoded = STANDARD.encode(data.as_bytes());
    let lines: Vec<&str> =
        encoded.as_bytes().chunks(76).map(|chunk| std::str::from_utf8(chunk).unwrap_or_default()).collect();
    lines.join("\r\n")
}

/// The message as an `.eml` file's bytes, with `id` as its Message-ID.
pub fn to_eml(message: &Message, from: &str, id: &str, date: &str) -> String {
    let boundary = format!("rsvp-{id}");
    let mut out = String::new();
    out.push_str(&format!("From: {}\r\n", super::mailbox(message.from_name.as_deref(), from)));
    out.push_str(&format!("To: {}\r\n", encoded(&message.to.join(", "))));
    out.push_str(&format!("Subject: {}\r\n", encoded(&message.subject)));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("Message-ID: <{id}@rsvp.local>\r\n"));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str(&format!("Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"));
    for (kind, body) in [("text/plain", &message.text), ("text/html", &message.html)] {
        out.push_str(&format!("--{boundary}\r\nContent-Type: {kind}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&base64_lines(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &Message) -> Result<String, MailError> {
        if let Some(sent) = message.key.as_deref().and_then(|key| self.already_sent(key)) {
            return Ok(sent);
        }
        let id = message.key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let now = now_and_date();
        let eml = to_eml(message, &self.from, &id, &now.1);
        // Named so that a listing sorts by time; written whole, then renamed, so a reader never sees half a file.
        let name = format!("{:015}-{id}.eml", now.0.millis());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let file = self.dir.join(&name);
        // Small local files: blocking briefly is simpler than a blocking pool, and only the local server does it.
        write_private(&tmp, eml.as_bytes()).map_err(|e| MailError(format!("writing {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &file).map_err(|e| MailError(format!("writing {}: {e}", file.display())))?;
        Ok(name)
    }
}

impl OutboxMailer {
    /// The file already written for delivery `key`, if any (named `<time>-<key>.eml`).
    fn already_sent(&self, key: &str) -> Option<String> {
        let suffix = format!("-{key}.eml");
        std::fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .find(|name| name.ends_with(&suffix) && !name.starts_with('.'))
    }
}

/// Writes `bytes` to a new file only its owner may read: a message carries a live invitation secret.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// Now, and the same instant as an RFC 5322 date.
fn now_and_date() -> (Timestamp, String) {
    let now = SystemClock.now();
    let date = ::time::OffsetDateTime::from_unix_timestamp(now.epoch_seconds())
        .ok()
        .and_then(|t| t.format(&::time::format_description::well_known::Rfc2822).ok())
        .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 +0000".to_owned());
    (now, date)
}
