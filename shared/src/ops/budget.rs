//! The mail budget that every operation sending an email on a tenant's behalf draws from: community invitations
//! and their Resend (charged to the community's owner tenant), platform invitations and their Resend.
//!
//! Each email is reserved before it is written: one conditional add on the tenant's day count (against
//! [`MailBudget::tenant_limit`]), then one on each recipient's (against
//! [`MailBudget::per_recipient_per_day`]), so racing requests can never pass either limit. A request that finds a
//! limit spent gets a 429 until the next UTC day and counts nothing (what it had reserved is given back); a request
//! whose write then fails gives its reservation back with [`Reservation::release`].
//!
//! A link-only invitation (`SendEmail: false`) draws on the tenant's day count alone ([`reserve_invitations`]): it
//! is an invitation the tenant's `MaxInvitationsPerDay` counts, but no email, so no address's count moves.
//!
//! Before anything is counted, an address the tenant's mail no longer goes to (a hard bounce, a complaint) refuses
//! the request with a 409 that says how to lift it.
//!
//! [`MailBudget::tenant_limit`]: crate::domain::MailBudget::tenant_limit
//! [`MailBudget::per_recipient_per_day`]: crate::domain::MailBudget::per_recipient_per_day

use futures_util::future::join_all;

use crate::app::App;
use crate::domain::fate::Suppression;
use crate::domain::{
    BudgetError, DailyCounter, Email, RecipientHash, TenantId, Timestamp, UserSettings, next_day, seconds_to_next_day,
    utc_day,
};
use crate::http::ApiError;
use crate::store::StoreError;

/// Emails counted for a request that has not written them yet.
#[must_use = "a reservation whose emails are not written must be released"]
pub(super) struct Reservation {
    tenant: TenantId,
    day: String,
    emails: u32,
    recipients: Vec<DailyCounter>,
}

/// Refuses (409, nothing counted or written) a send to an address the tenant's mail no longer goes to: an email to it
/// bounced for good or drew a complaint ([`crate::domain::fate::Suppression`]). The answer names neither the
/// address nor the invitation; it says how to lift it.
fn refuse_suppressed(tenant: &TenantId, suppressed: &[Suppression], recipients: &[&Email]) -> Result<(), ApiError> {
    let Some(first) = suppressed.first() else { return Ok(()) };
    let why = match first.reason.as_str() {
        "complained" => "its recipient marked an earlier email as spam",
        _ => "an earlier email to it bounced for good",
    };
    let which =
        if recipients.len() == 1 { "The address".to_owned() } else { format!("{} of the addresses", suppressed.len()) };
    Err(ApiError::Conflict(format!(
        "{which} no longer gets this tenant's email: {why}. A TenantAdministrator can lift this with DELETE \
         /api/businesses/{tenant}/suppressions/{{emailAddress}}, then send again."
    )))
}

/// Reserves one email to each of `recipients` on `tenant`'s budget for the day of `now`. `saved` is the tenant's
/// saved settings, if it ever saved any: its `MaxInvitationsPerDay` is then its own, stricter budget.
pub(super) async fn reserve(
    app: &App,
    tenant: &TenantId,
    saved: Option<&UserSettings>,
    recipients: &[&Email],
    now: Timestamp,
) -> Result<Reservation, ApiError> {
    let suppressed = app.store.suppressions(tenant, recipients).await?;
    reserve_known(app, tenant, saved, &suppressed, recipients, now).await
}

/// [`reserve`], the tenant's suppressions among `recipients` read already (with its settings:
/// [`crate::store::SuppressionStore::settings_and_suppressions`], one read for both).
pub(super) async fn reserve_known(
    app: &App,
    tenant: &TenantId,
    saved: Option<&UserSettings>,
    suppressed: &[Suppression],
    recipients: &[&Email],
    now: Timestamp,
) -> Result<Reservation, ApiError> {
    refuse_suppressed(tenant, suppressed, recipients)?;
    let invitations = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
    let mut reservation = reserve_invitations(app, tenant, saved, invitations, now).await?;
    let until = next_day(now).plus_days(1);
    let retry_after_seconds = seconds_to_next_day(now);
    // Each address is its own item, so they are counted concurrently.
    let counters: Vec<DailyCounter> =
        recipients.iter().map(|r| DailyCounter::Recipient(RecipientHash::of(r))).collect();
    let cap = app.config.mail.per_recipient_per_day;
    let results = join_all(
        counters.iter().map(|counter| app.store.reserve_count(tenant, counter, &reservation.day, 1, cap, until)),
    )
    .await;
    let mut spent = 0;
    let mut failure = None;
    for (counter, result) in counters.into_iter().zip(results) {
        match result {
            Ok(()) => reservation.recipients.push(counter),
            Err(StoreError::LimitReached { .. }) => spent += 1,
            Err(e) => failure = Some(e),
        }
    }
    if spent == 0 && failure.is_none() {
        return Ok(reservation);
    }
    reservation.release(app).await;
    Err(match failure {
        Some(e) => e.into(),
        None => BudgetError::RecipientSpent { limit: cap, count: spent, retry_after_seconds }.into(),
    })
}

/// Reserves `invitations` on `tenant`'s day count alone: what a link-only invitation (`SendEmail: false`) draws,
/// since it counts as an invitation but sends no email, so no address's count moves and no suppression applies.
pub(super) async fn reserve_invitations(
    app: &App,
    tenant: &TenantId,
    saved: Option<&UserSettings>,
    invitations: u32,
    now: Timestamp,
) -> Result<Reservation, ApiError> {
    let day = utc_day(now);
    // The counts outlive their day by one, so a request at midnight never finds its own count gone.
    let until = next_day(now).plus_days(1);
    let limit = app.config.mail.tenant_limit(saved);
    match app.store.reserve_count(tenant, &DailyCounter::Emails, &day, invitations, limit, until).await {
        Ok(()) => Ok(Reservation { tenant: tenant.clone(), day, emails: invitations, recipients: Vec::new() }),
        Err(StoreError::LimitReached { used }) => Err(BudgetError::TenantSpent {
            limit,
            used,
            needed: invitations,
            retry_after_seconds: seconds_to_next_day(now),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

impl Reservation {
    /// Gives back what was reserved, when the emails were not written after all. A failure to do so only errs on
    /// the safe side (the day counts a few emails more), so it is logged and not the caller's concern.
    pub(super) async fn release(self, app: &App) {
        let store = &app.store;
        let mut releases = vec![store.release_count(&self.tenant, &DailyCounter::Emails, &self.day, self.emails)];
        releases.extend(self.recipients.iter().map(|c| store.release_count(&self.tenant, c, &self.day, 1)));
        for result in join_all(releases).await {
            if let Err(error) = result {
                tracing::warn!(%error, "a reservation of the day's emails was not given back");
            }
        }
    }
}
