//! Invitation emails on a laptop: the outbox consumer of `rsvp::mail::deliver`, run in-process in place of the
//! DynamoDB stream and its Lambda. The embedded store tells it of every invitation written with a pending delivery
//! (the stream filter's rule), and it delivers each into `.eml` files in the outbox folder, printing one line per
//! message with the link, so a developer can click through the whole flow.
//!
//! There is no stream to retry a failed send here: a failure is logged and recorded on the invitation
//! (`DeliveryState: failed`), and the sweep (at start and every [`SWEEP_EVERY`]) or Resend sends again.
//!
//! The data folder is one server's, so at start every delivery still `sending` was claimed by a previous run that
//! was killed mid-send: those are recorded failed at once ([`DeliveryFeed::fail_interrupted_sends`]) and the start's
//! sweep sends them, each once — the outbox mailer does not write a message twice for one delivery, even when the
//! run was killed after writing its file and before recording it sent.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rsvp::domain::{Clock as _, SystemClock};
use rsvp::mail::deliver::Deliverer;
use rsvp::mail::outbox::OutboxMailer;
use rsvp::mail::{MailError, Mailer, Message};
use rsvp::seal::Sealer;
use rsvp::store::DeliveryFeed;

/// The sender written into local messages.
pub const LOCAL_SENDER: &str = "rsvp@localhost";

/// The outbox mailer, and a line on standard output for each message it writes.
struct Announcing(OutboxMailer);

#[async_trait]
impl Mailer for Announcing {
    async fn send(&self, message: &Message) -> Result<String, MailError> {
        let file = self.0.send(message).await?;
        let link = message.link.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
        println!(
            "mail to {}: {}{link} ({})",
            message.to.join(", "),
            message.subject,
            self.0.dir().join(&file).display()
        );
        Ok(file)
    }
}

/// How often the local outbox is swept for owed emails (the first sweep is at start).
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts delivering `store`'s outbox into `outbox` (made if missing), beginning with what is still owed from a
/// previous run, and sweeping for owed emails every [`SWEEP_EVERY`]. Call from within the Tokio runtime. Any
/// embedded store will do (the server's SQLite file, the in-process tests' memory): [`DeliveryFeed`] is what
/// stands in for the DynamoDB stream.
pub fn start<S: DeliveryFeed + 'static>(store: &Arc<S>, sealer: Arc<dyn Sealer>, outbox: &Path) -> std::io::Result<()> {
    let mailer = Arc::new(Announcing(OutboxMailer::new(outbox, LOCAL_SENDER)?));
    let deliverer = Deliverer { store: store.clone(), sealer, mailer, clock: Arc::new(SystemClock) };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    store.on_pending_delivery(Box::new(move |item, seq| {
        // The receiver lives as long as the server; if it is gone, so is everything else.
        let _ = tx.send((item, seq));
    }));
    // The sweep: at start and then every minute, whatever is still owed (pending, failed with tries left, or held by
    // a sender killed mid-send) is announced again; the claim keeps each email to one send.
    let sweeper = Arc::clone(store);
    tokio::spawn(async move {
        // First, the sends a killed previous run left `sending` are recorded failed, so this first sweep retries them.
        match sweeper.fail_interrupted_sends(SystemClock.now()).await {
            Ok(0) => {}
            Ok(interrupted) => {
                tracing::info!(interrupted, "a previous run was stopped while sending; its emails are sent again");
            }
            Err(error) => tracing::warn!(%error, "the sends a previous run left could not be recorded failed"),
        }
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            let now = SystemClock.now();
            match rsvp::mail::sweep::record_expiries(sweeper.as_ref(), now, rsvp::mail::sweep::EXPIRY_LIMIT).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "recorded the expiry of invitations that ran out of time"),
                Err(error) => tracing::warn!(%error, "the sweep for expired invitations could not read the store"),
            }
            match sweeper.announce_owed(now).await {
                Ok(0) => {}
                Ok(owed) => tracing::info!(owed, "re-driving owed invitation emails"),
                // The next sweep tries again; nothing is lost, the deliveries stay owed in the store.
                Err(error) => tracing::warn!(%error, "the sweep for owed invitation emails could not read the store"),
            }
        }
    });
    tokio::spawn(async move {
        while let Some((item, seq)) = rx.recv().await {
            match deliverer.deliver(item, seq).await {
                Ok(_) => {}
                // Announced twice (a write and a sweep): the other announcement's send has it.
                Err(rsvp::mail::deliver::DeliverError::Busy) => {
                    tracing::debug!(invitation = %item.id(), seq, "the invitation email is being sent already");
                }
                Err(error) => {
                    tracing::warn!(invitation = %item.id(), seq, %error, "the invitation email was not delivered");
                }
            }
        }
    });
    Ok(())
}
