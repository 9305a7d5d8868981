//! `IdempotencyStore`: an idempotency key is claimed once, answered once and replayed; an unanswered claim is
//! released or taken over once its request must have died.

use rsvp::domain::{IDEMPOTENCY_CLAIM_STALE_SECONDS, IdempotencyRecord, StoredAnswer};
use rsvp::store::{Store, StoreError};
use rsvp_tests::T0;

use crate::users::sender;

contract!(an_idempotency_key_is_claimed_once_answered_once_and_replayable);

async fn an_idempotency_key_is_claimed_once_answered_once_and_replayable(store: &dyn Store) {
    let mia = sender("mia");
    let claim = IdempotencyRecord::claim(&mia, "invite_users", "key-1", "/api/users/invitations", b"{}", T0).unwrap();
    assert_eq!(store.claim_idempotency(&claim, T0).await.unwrap(), None, "a fresh key is ours");
    assert_eq!(store.claim_idempotency(&claim, T0).await.unwrap(), Some(claim.clone()), "held while in flight");
    let answered = IdempotencyRecord {
        answer: Some(StoredAnswer { status: 200, body: "[\"a@x.example.com\"]".into(), sealed_for: None }),
        ..claim.clone()
    };
    store.answer_idempotency(&answered).await.expect("answer");
    assert_fails!(store.answer_idempotency(&answered).await, StoreError::Conflict);
    store.release_idempotency(&claim).await.expect("releasing an answered key does nothing");
    let later = T0.plus_minutes(60);
    assert_eq!(store.claim_idempotency(&claim, later).await.unwrap(), Some(answered.clone()), "replays");

    // A claim that got no answer is released, or taken over once its request must have died.
    let other = IdempotencyRecord::claim(&mia, "invite_users", "key-2", "/p", b"{}", T0).unwrap();
    assert_eq!(store.claim_idempotency(&other, T0).await.unwrap(), None);
    store.release_idempotency(&other).await.unwrap();
    assert_eq!(store.claim_idempotency(&other, T0).await.unwrap(), None, "released: free again");
    let takeover = IdempotencyRecord::claim(
        &mia,
        "invite_users",
        "key-2",
        "/p",
        b"{}",
        T0.plus_seconds(IDEMPOTENCY_CLAIM_STALE_SECONDS),
    )
    .unwrap();
    assert_eq!(store.claim_idempotency(&takeover, takeover.claimed).await.unwrap(), None, "a dead claim is taken over");
    assert_fails!(
        store.answer_idempotency(&IdempotencyRecord { answer: answered.answer.clone(), ..other }).await,
        StoreError::Conflict
    );
    // A day later the answer no longer replays.
    let next_day = T0.plus_days(1);
    let again = IdempotencyRecord::claim(&mia, "invite_users", "key-1", "/p", b"{}", next_day).unwrap();
    assert_eq!(store.claim_idempotency(&again, next_day).await.unwrap(), None);
}
