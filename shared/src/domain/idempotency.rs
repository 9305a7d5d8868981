//! Idempotent creates: a client that retries a create with the same `Idempotency-Key` gets the first answer back,
//! and nothing is created or emailed a second time.
//!
//! A request with a key first claims it (a conditional write of a record with no answer); when the operation
//! succeeds the answer is written onto the record, which then replays for [`KEEP_HOURS`]. The key is scoped to the
//! caller (tenant, user) and the operation, so one caller's key can never replay another caller's answer; a record
//! names the request it answered by a hash of its path and body, so a reused key with another body is refused
//! rather than replayed. A request that fails releases its key, so the client may fix it and try again; a claim
//! whose request died (no answer after [`CLAIM_STALE_SECONDS`]) may be taken over.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{InvitationId, Principal, Timestamp};

/// How long an answer replays.
pub const KEEP_HOURS: i64 = 24;
/// A claim without an answer after this long belongs to a request that died.
pub const CLAIM_STALE_SECONDS: i64 = 60;
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// One key's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 of (tenant, user, operation, key): where the record lives. The key itself is not stored.
    pub scope: String,
    /// SHA-256 of the request's path and body.
    pub fingerprint: String,
    pub claimed: Timestamp,
    pub expires: Timestamp,
    /// Absent (not null) until answered, so that a store's condition can ask whether it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<StoredAnswer>,
}

/// The first answer, as it is replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    /// The JSON body; sealed (see [`crate::seal`]) for invitation `sealed_for` when it carries a secret.
    pub body: String,
    pub sealed_for: Option<InvitationId>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the operation.
    Fresh,
    /// The same request was answered: replay this.
    Replay(StoredAnswer),
    /// The same request is still running elsewhere.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters.")]
pub struct KeyError;

impl IdempotencyRecord {
    /// A claim of `key` for `operation` by `caller` on the request (`path`, `body`), made at `now`.
    pub fn claim(
        caller: &Principal,
        operation: &str,
        key: &str,
        path: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Self, KeyError> {
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError);
        }
        let scope = digest(&[
            caller.tenant.as_str().as_bytes(),
            caller.user.as_str().as_bytes(),
            operation.as_bytes(),
            key.as_bytes(),
        ]);
        let fingerprint = digest(&[path.as_bytes(), body]);
        Ok(Self { scope, fingerprint, claimed: now, expires: now.plus_minutes(KEEP_HOURS * 60), answer: None })
    }

    /// Whether a claim at `now` may replace this record: it has expired, or it is a claim whose request died.
    pub fn replaceable(&self, now: Timestamp) -> bool {
        now >= self.expires || (self.answer.is_none() && self.claimed.plus_seconds(CLAIM_STALE_SECONDS) <= now)
    }

    /// What a claim meeting this (irreplaceable) record means.
    pub fn meets(&self, fingerprint: &str) -> Claim {
        if self.fingerprint != fingerprint {
            return Claim::Mismatch;
        }
        match &self.answer {
            Some(answer) => Claim::Replay(answer.clone()),
            None => Claim::InFlight,
        }
    }
}

/// SHA-256 of the parts, each length-prefixed so that no two different lists hash alike; hex.
fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, TenantId, UserId};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn caller(user: &str) -> Principal {
        Principal {
            user: UserId::parse("sub", user).unwrap(),
            tenant: TenantId::parse("t", "acme").unwrap(),
            email: None,
            tenant_name: None,
            roles: vec![Role::TenantMember],
        }
    }

    #[test]
    fn a_key_is_scoped_to_its_caller_and_operation_and_names_its_request() {
        let a = IdempotencyRecord::claim(&caller("u1"), "invite_users", "k-1", "/p", b"{}", T0).unwrap();
        let same = IdempotencyRecord::claim(&caller("u1"), "invite_users", "k-1", "/p", b"{}", T0).unwrap();
        assert_eq!((a.scope.clone(), a.fingerprint.clone()), (same.scope, same.fingerprint));
        assert_ne!(
            a.scope,
            IdempotencyRecord::claim(&caller("u2"), "invite_users", "k-1", "/p", b"{}", T0).unwrap().scope
        );
        assert_ne!(a.scope, IdempotencyRecord::claim(&caller("u1"), "other", "k-1", "/p", b"{}", T0).unwrap().scope);
        let other_body = IdempotencyRecord::claim(&caller("u1"), "invite_users", "k-1", "/p", b"{ }", T0).unwrap();
        assert_eq!(a.meets(&other_body.fingerprint), Claim::Mismatch);
        assert_eq!(a.meets(&a.fingerprint), Claim::InFlight);
        for bad in ["", "with space", &"k".repeat(256), "tab\t"] {
            assert_eq!(IdempotencyRecord::claim(&caller("u1"), "x", bad, "/p", b"", T0), Err(KeyError), "{bad:?}");
        }
    }

    #[test]
    fn an_answer_replays_for_a_day_and_a_dead_claim_is_taken_over() {
        let mut r = IdempotencyRecord::claim(&caller("u1"), "op", "k", "/p", b"", T0).unwrap();
        assert!(!r.replaceable(T0.plus_seconds(CLAIM_STALE_SECONDS - 1)));
        assert!(r.replaceable(T0.plus_seconds(CLAIM_STALE_SECONDS)));
        r.answer = Some(StoredAnswer { status: 200, body: "[]".into(), sealed_for: None });
        assert!(!r.replaceable(T0.plus_minutes(KEEP_HOURS * 60 - 1)));
        assert!(r.replaceable(T0.plus_minutes(KEEP_HOURS * 60)));
        assert!(matches!(r.meets(&r.fingerprint), Claim::Replay(_)));
    }
}
