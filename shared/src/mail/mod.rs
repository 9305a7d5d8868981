//! Invitation emails: rendering, the [`Mailer`]s that send them, and the stream consumer that delivers the
//! invitations' outbox ([`deliver`]).
//!
//! | module | what it holds |
//! |---|---|
//! | [`templates`] | subject, text and HTML bodies (askama, HTML escaped by default) |
//! | [`ses`] | [`ses::SesMailer`]: Amazon SES `SendEmail` (Lambda) |
//! | [`outbox`] | [`outbox::OutboxMailer`]: one `.eml` file per message in a folder (the local server) |
//! | [`deliver`] | [`deliver::Deliverer`]: claim, render, send, record; and the DynamoDB stream batch around it |
//! | [`sweep`] | [`sweep::Sweeper`]: re-drives what the stream left or a dead sender held (scheduled in AWS) |
//! | [`fate`] | [`fate::FateRecorder`]: what SES later reports of a message (delivered, bounced, complained), recorded on its delivery |

pub mod deliver;
pub mod fate;
pub mod outbox;
pub mod ses;
pub mod sweep;
pub mod templates;

use async_trait::async_trait;

/// One email, ready to send. Not `Debug`: the text, the HTML and `link` carry the invitation secret.
pub struct Message {
    pub to: Vec<String>,
    /// The sender's display name (the tenant's `Branding.SenderName`), beside the deployment's address.
    pub from_name: Option<String>,
    /// One line, without control characters (see [`header_text`]).
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The landing link with its secret, when the message carries one (the local server prints it).
    pub link: Option<String>,
    /// Which delivery this is (`<invitation>-<seq>`): the same for every attempt at it. A mailer that can, sends a
    /// key once however often it is asked (the local outbox does; SES `SendEmail` has no such key).
    pub key: Option<String>,
    /// Name-value tags the mail service carries back in what it later reports of the message ([`fate::tags`]).
    pub tags: Vec<(&'static str, String)>,
}

/// Why a message was not sent, in the mail service's words (it is stored as the delivery's failure reason).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `message`; the mail service's id for it.
    async fn send(&self, message: &Message) -> Result<String, MailError>;
}

/// `value` made safe for a header: control characters (CR and LF above all, which would start a new header) become
/// spaces, runs of spaces one, and it is cut to `max` characters. Names and subjects that callers typed pass here.
pub fn header_text(value: &str, max: usize) -> String {
    let cleaned: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    words.join(" ").chars().take(max).collect()
}

/// The `From` mailbox: `address` alone, or with `name` as an RFC 2047 encoded word (`=?UTF-8?B?…?= <address>`),
/// which carries any name (quotes, commas, non-ASCII) without quoting rules, and no control character at all.
pub fn mailbox(name: Option<&str>, address: &str) -> String {
    use base64::Engine as _;
    match name.map(|n| header_text(n, 64)).filter(|n| !n.is_empty()) {
        Some(name) => format!("=?UTF-8?B?{}?= <{address}>", base64::engine::general_purpose::STANDARD.encode(name)),
        None => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_name_is_one_encoded_word_before_the_address() {
        assert_eq!(mailbox(None, "i@rsvp.example"), "i@rsvp.example");
        let from = mailbox(Some("Acme, \"Inc\"\r\nBcc: x@evil.example"), "i@rsvp.example");
        assert!(from.starts_with("=?UTF-8?B?") && from.ends_with("?= <i@rsvp.example>"), "{from}");
        assert!(!from.contains(['\r', '\n', ',', '"']), "{from}");
    }

    #[test]
    fn header_text_cannot_start_a_header() {
        assert_eq!(header_text("Ops\r\nBcc: evil@x.com\t\u{7}!", 200), "Ops Bcc: evil@x.com !");
        assert_eq!(header_text("  a   b ", 200), "a b");
        assert_eq!(header_text("abcdef", 3), "abc");
    }
}
