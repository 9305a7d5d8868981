//! Summaries of timing samples.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `samples` by the nearest-rank method: the smallest sample with at least `p`%
/// of the samples at or below it. `None` for no samples.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Median, 90th and 99th percentile of a series of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub median: Duration,
    pub p90: Duration,
    pub p99: Duration,
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Option<Self> {
        Some(Self {
            count: samples.len(),
            median: percentile(samples, 50.0)?,
            p90: percentile(samples, 90.0)?,
            p99: percentile(samples, 99.0)?,
        })
    }
}

/// Milliseconds with two decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// `a / b`, with two decimals.
pub fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() { "n/a".to_owned() } else { format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = millis(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&samples, 90.0), Some(Duration::from_millis(9)));
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&samples, 100.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&samples, 0.0), Some(Duration::from_millis(1)));
    }

    #[test]
    fn one_sample_and_none() {
        assert_eq!(percentile(&millis(&[7]), 99.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn p99_of_two_thousand_is_the_twentieth_largest() {
        let samples: Vec<Duration> = (1..=2000).map(Duration::from_micros).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.median, Duration::from_micros(1000));
        assert_eq!(s.p99, Duration::from_micros(1980));
    }

    #[test]
    fn formatting() {
        assert_eq!(ms(Duration::from_micros(1234)), "1.23");
        assert_eq!(ratio(Duration::from_millis(3), Duration::from_millis(2)), "1.50");
        assert_eq!(ratio(Duration::from_millis(3), Duration::ZERO), "n/a");
    }
}
