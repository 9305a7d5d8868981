use std::sync::atomic::{AtomicI64, Ordering};

/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// Milliseconds keep lists that are ordered by issue time stable even when several invitations are created within
/// one second, while the wire shows whole seconds as the reference API's examples do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, the unit DynamoDB's TTL expects.
    pub const fn epoch_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + seconds * 1000)
    }

    pub const fn plus_minutes(self, minutes: i64) -> Self {
        Self(self.0 + minutes * 60_000)
    }

    pub const fn plus_days(self, days: i64) -> Self {
        self.plus_minutes(days * 24 * 60)
    }

    /// RFC 3339 in UTC with whole seconds, e.g. `2019-08-24T14:15:22Z`.
    pub fn to_rfc3339(self) -> String {
        // Whole seconds carry no fraction, and UTC formats as `Z`.
        ::time::OffsetDateTime::from_unix_timestamp(self.epoch_seconds())
            .ok()
            .and_then(|t| t.format(&::time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
    }

    /// For people, to the minute: `2026-03-15 09:00 UTC`, unambiguous wherever the reader is, in any language
    /// (the emails and the landing page show expiries so).
    pub fn to_readable(self) -> String {
        let text = self.to_rfc3339();
        match (text.get(..10), text.get(11..16)) {
            (Some(date), Some(time)) => format!("{date} {time} UTC"),
            _ => text,
        }
    }
}

/// Where "now" comes from. Injected so that expiry is tested by moving a clock, never by sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        Timestamp(millis)
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.0))
    }

    pub fn advance_minutes(&self, minutes: i64) {
        self.0.fetch_add(minutes * 60_000, Ordering::SeqCst);
    }

    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        assert_eq!(Timestamp::from_millis(1_566_656_122_999).to_rfc3339(), "2019-08-24T14:15:22Z");
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(Timestamp::from_millis(1_000));
        assert_eq!(clock.now(), Timestamp::from_millis(1_000));
        clock.advance_minutes(2);
        assert_eq!(clock.now(), Timestamp::from_millis(121_000));
    }
}
