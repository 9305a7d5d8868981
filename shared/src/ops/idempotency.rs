//! `Idempotency-Key` for the creates (invite_users, create_community_invitation): the same key and body within
//! 24 hours replays the first answer and does nothing else (no second invitation, no second email); the same key
//! with another body is refused with 422; a key whose first request is still running is a 409. The rules are the
//! domain's ([`crate::domain::IdempotencyRecord`]); this is the I/O around them.
//!
//! An operation hands [`once`] a typed answer ([`Idempotent`]: status, JSON body, and whose secret it carries),
//! which `once` both renders and keeps, so what is replayed is exactly what was answered. An answer that carries an
//! invitation secret (create_community_invitation's `InvitationUrl`, a link-only invite's links) is kept sealed,
//! like the outbox's copy, so the table never holds a secret in clear.

use std::future::Future;

use lambda_http::Request;
use lambda_http::http::{HeaderValue, StatusCode};

use crate::app::App;
use crate::domain::{Claim, IdempotencyRecord, InvitationId, Principal, Secret, StoredAnswer};
use crate::http::{Answer, ApiError, request, response};

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set on a replayed answer, so a client can tell it from a first one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What an idempotent operation answers: its status and JSON body, and the invitation whose secret the body carries
/// (the kept copy is sealed for it), if any. [`once`] renders it and keeps exactly that for a replay, so an
/// operation cannot answer one thing and have another replayed.
pub struct Idempotent {
    status: StatusCode,
    body: String,
    sealed_for: Option<InvitationId>,
}

impl Idempotent {
    /// `body` as JSON with `status`; `sealed_for` when the body carries that invitation's secret.
    pub fn json(
        status: StatusCode,
        body: &impl serde::Serialize,
        sealed_for: Option<InvitationId>,
    ) -> Result<Self, ApiError> {
        let body =
            serde_json::to_string(body).map_err(|e| ApiError::Internal(format!("an answer did not serialise: {e}")))?;
        Ok(Self { status, body, sealed_for })
    }
}

/// Runs `create` once per (caller, operation, key): without the header it simply runs.
pub async fn once<F>(app: &App, req: &Request, caller: &Principal, operation: &str, create: F) -> Answer
where
    F: Future<Output = Result<Idempotent, ApiError>>,
{
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return create.await.map(|answer| response::json_text(answer.status, answer.body));
    };
    let key = key.to_str().map_err(|_| ApiError::from(crate::domain::KeyError))?;
    let now = app.clock.now();
    let record = IdempotencyRecord::claim(caller, operation, key, req.uri().path(), request::body_bytes(req), now)?;
    if let Some(existing) = app.store.claim_idempotency(&record, now).await? {
        return match existing.meets(&record.fingerprint) {
            Claim::Replay(answer) => replay(app, &answer).await,
            Claim::InFlight => Err(ApiError::Conflict(
                "A request with this Idempotency-Key is still being processed; retry it in a moment.".into(),
            )),
            Claim::Mismatch => Err(ApiError::Unprocessable(
                "This Idempotency-Key was used for a different request in the last 24 hours.".into(),
            )),
            Claim::Fresh => Err(ApiError::Internal("a held key cannot be fresh".into())),
        };
    }
    match create.await {
        Ok(Idempotent { status, body, sealed_for }) => {
            let response = response::json_text(status, body.clone());
            let body = match sealed_for {
                Some(id) => app.sealer.seal(id, &Secret::carrying(body)).await?,
                None => body,
            };
            let answer = StoredAnswer { status: status.as_u16(), body, sealed_for };
            // The work is done and its answer goes out whatever happens here; a key left unanswered is taken over
            // after a minute, and the creates' own uniqueness rules keep a retry from doubling anything.
            if let Err(error) =
                app.store.answer_idempotency(&IdempotencyRecord { answer: Some(answer), ..record }).await
            {
                tracing::warn!(%error, "the answer for an Idempotency-Key was not stored");
            }
            Ok(response)
        }
        Err(error) => {
            if let Err(release) = app.store.release_idempotency(&record).await {
                tracing::warn!(error = %release, "an Idempotency-Key of a failed request was not released");
            }
            Err(error)
        }
    }
}

async fn replay(app: &App, answer: &StoredAnswer) -> Answer {
    let body = match answer.sealed_for {
        Some(id) => app.sealer.unseal(id, &answer.body).await?.expose().to_owned(),
        None => answer.body.clone(),
    };
    let status = StatusCode::from_u16(answer.status).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = response::json_text(status, body);
    response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    Ok(response)
}
