use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use super::page::{self, ErrorPage};
use crate::domain::collaboration::CollaborationError;
use crate::domain::{
    BudgetError, CommunityInvitationError, EmailError, ExpiryError, IdError, InviteError, KeyError, MetadataError,
    RedirectError, RolesError, SettingsError, TextError, UserInvitationError,
};
use crate::i18n::LocaleError;
use crate::store::StoreError;

/// Everything a request can fail with. Each variant carries the sentence the caller reads as `Reason`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Also the answer for another tenant's resources, so that their existence does not leak.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but cannot be taken as it is (an `Idempotency-Key` reused for another body).
    #[error("{0}")]
    Unprocessable(String),
    /// The caller is signed in, but the tenant's settings forbid what they ask: the reference API's 401 for inviting
    /// while `InviteUnregisteredUsers` is disabled.
    #[error("{0}")]
    ForbiddenBySettings(String),
    #[error("{reason}")]
    TooManyRequests { reason: String, retry_after_seconds: i64 },
    /// A component this request needs (the table, KMS) could not be reached or throttled it: the caller retries
    /// after `Retry-After`. The detail goes to the log only.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The deployment is wrong: a table, index or key missing, a permission refused, no credentials
    /// ([`crate::fault`]). A 500 without `Retry-After`, since no retry mends it; the detail goes to the log only.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// A bug. The detail goes to the log only; the caller gets a generic sentence.
    #[error("internal error: {0}")]
    Internal(String),
}

/// How long a caller waits after a 503: outages of the table are mostly brief throttling.
pub const UNAVAILABLE_RETRY_SECONDS: i64 = 2;

/// The reference API's `ErrorResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorResponse<'a> {
    pub operation_id: &'a str,
    pub error: &'a str,
    pub reason: &'a str,
    pub resolution: &'a str,
}

impl ApiError {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::BadRequest(reason.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ForbiddenBySettings(_) => StatusCode::UNAUTHORIZED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What kind of refusal or failure this is, in a word, for the log line.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unprocessable(_) => "unprocessable",
            Self::ForbiddenBySettings(_) => "forbidden_by_settings",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Misconfigured(_) => "misconfigured",
            Self::Internal(_) => "internal",
        }
    }

    /// Seconds to wait before retrying, for the answers that have one.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Self::TooManyRequests { retry_after_seconds, .. } => Some((*retry_after_seconds).max(1)),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECONDS),
            _ => None,
        }
    }

    fn resolution(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Correct the request as the reason says and send it again.",
            Self::Unauthorized(_) => "Sign in and send the request with a valid bearer token.",
            Self::Forbidden(_) => "Ask an administrator with the required role to do this.",
            Self::NotFound(_) => "Check the identifiers in the path.",
            Self::Conflict(_) => "Read the resource again to see its current state before retrying.",
            Self::Unprocessable(_) => "Send the request with a new Idempotency-Key, or resend the original body.",
            Self::ForbiddenBySettings(_) => {
                "Ask a TenantAdministrator to change the tenant's user settings (PUT /api/businesses/{businessId}/usersettings)."
            }
            Self::TooManyRequests { .. } => "Wait for the time given in the Retry-After header, then try again.",
            Self::Unavailable(_) => "Wait for the time given in the Retry-After header, then send the request again.",
            Self::Misconfigured(_) => {
                "Retrying will not help: report the OperationId to the operators of this deployment."
            }
            Self::Internal(_) => "Try again later; if it persists, report the OperationId to the operators.",
        }
    }

    /// What the caller is told: the reason as it is, but for the service's own failures, whose detail (an AWS
    /// error, a table name) is for the log only. The one masking every wire form uses.
    pub fn public_reason(&self) -> String {
        match self {
            Self::Internal(_) => "The service failed to complete the request.".to_owned(),
            Self::Unavailable(_) => "The service is briefly unavailable; nothing was changed.".to_owned(),
            Self::Misconfigured(_) => "The service is misconfigured: a table, key or permission it needs is missing. \
                                       Nothing was changed."
                .to_owned(),
            other => other.to_string(),
        }
    }

    /// The wire form: the status, and an `ErrorResponse` naming the request as `OperationId`.
    pub fn into_response(self, operation_id: &str) -> Response<Body> {
        let status = self.status();
        let reason = self.public_reason();
        let body = ErrorResponse {
            operation_id,
            error: status.canonical_reason().unwrap_or("Error"),
            reason: &reason,
            resolution: self.resolution(),
        };
        self.with_retry_after(super::response::json(status, &body))
    }

    /// `response` with the `Retry-After` this error calls for, if any: the one place every wire form (JSON, ArcGIS,
    /// HTML page) gets it from.
    pub(super) fn with_retry_after(&self, mut response: Response<Body>) -> Response<Body> {
        if let Some(seconds) = self.retry_after()
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// What a page says when the link leads nowhere. Wrong, used-up and missing links all get this exact page, so it
/// names nothing from the request: whoever holds a guessed or stale link learns nothing from it.
pub const LINK_NOT_VALID: &str = "This invitation link is not valid. It may have been mistyped, answered already, \
     withdrawn, or replaced by a newer invitation. Ask whoever invited you to send it again.";

impl ApiError {
    /// The HTML form, for the public invitation pages: the same status as [`ApiError::into_response`], in words for
    /// whoever opened the link. A 404 page is always the same; only a fault of the service shows the request id.
    pub fn into_page(self, operation_id: &str) -> Response<Body> {
        let status = self.status();
        let (title, message, reference) = match &self {
            Self::NotFound(_) => ("Invitation not found", LINK_NOT_VALID, None),
            Self::BadRequest(reason) => ("This request could not be handled", reason.as_str(), None),
            Self::Conflict(reason) | Self::Unprocessable(reason) => {
                ("This invitation cannot be changed now", reason.as_str(), None)
            }
            Self::Unauthorized(reason) | Self::Forbidden(reason) | Self::ForbiddenBySettings(reason) => {
                ("Not allowed", reason.as_str(), None)
            }
            Self::TooManyRequests { reason, .. } => ("Too many requests", reason.as_str(), None),
            Self::Unavailable(_) => (
                "Briefly unavailable",
                "The service is briefly unavailable and nothing was changed. Try again in a moment.",
                None,
            ),
            Self::Internal(_) => (
                "Something went wrong",
                "The service failed to complete the request. Try again later.",
                Some(operation_id),
            ),
            Self::Misconfigured(_) => (
                "Something went wrong",
                "The service is misconfigured and cannot show this invitation now. Its operators have been told.",
                Some(operation_id),
            ),
        };
        self.with_retry_after(page::render(status, &ErrorPage { style: page::STYLE, title, message, reference }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                Self::Conflict("The resource was changed by another request while this one ran.".into())
            }
            StoreError::AlreadyMember => Self::Conflict("The tenant is already in the community.".into()),
            StoreError::PendingInvitation(id) => {
                Self::Conflict(format!("Invitation {id} is already pending for this recipient in this community."))
            }
            StoreError::PendingRecipients(emails) => Self::Conflict(format!(
                "{} of the addresses already have a pending invitation from this tenant.",
                emails.len()
            )),
            StoreError::LimitReached { used } => Self::TooManyRequests {
                reason: format!("The tenant's daily invitation limit is reached ({used} sent today)."),
                retry_after_seconds: 60,
            },
            StoreError::InvalidCursor => Self::bad_request(
                "continuationToken is not valid for this list; start again from the first page without it.",
            ),
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Misconfigured(detail) => Self::Misconfigured(detail),
            StoreError::Corrupt(detail) => Self::Internal(detail),
        }
    }
}

/// A collaboration file or step refused: a live one changed or a key that moved is a conflict; anything else in the
/// file is the sender's to fix.
impl From<CollaborationError> for ApiError {
    fn from(e: CollaborationError) -> Self {
        match e {
            CollaborationError::NotLive(_) | CollaborationError::KeyChanged { .. } => Self::Conflict(e.to_string()),
            _ => Self::BadRequest(e.to_string()),
        }
    }
}

/// This portal's own signer failing is KMS being unreachable (a retry helps), its key missing or refused (the
/// deployment's fault), or a bug.
impl From<crate::sign::SignError> for ApiError {
    fn from(e: crate::sign::SignError) -> Self {
        match e {
            crate::sign::SignError::Kms(detail) => Self::Unavailable(detail),
            crate::sign::SignError::Misconfigured(detail) => Self::Misconfigured(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A secret that could not be sealed (or a kept one unsealed): KMS was unreachable, so nothing is written without
/// its email and the caller retries; or its key is missing or refused, which is the deployment's to fix.
impl From<crate::seal::SealError> for ApiError {
    fn from(e: crate::seal::SealError) -> Self {
        match e {
            crate::seal::SealError::Failed(detail) => Self::Unavailable(detail),
            crate::seal::SealError::Misconfigured(detail) => Self::Misconfigured(detail),
        }
    }
}

impl From<CommunityInvitationError> for ApiError {
    fn from(e: CommunityInvitationError) -> Self {
        match e {
            CommunityInvitationError::WrongState { .. } => Self::Conflict(e.to_string()),
            CommunityInvitationError::NotPermitted(_) => Self::Forbidden(e.to_string()),
            CommunityInvitationError::ContactEmailRequired => Self::BadRequest(e.to_string()),
            CommunityInvitationError::CommunityGone => Self::NotFound(e.to_string()),
            CommunityInvitationError::ResendTooSoon { retry_after_seconds, .. } => {
                Self::TooManyRequests { reason: e.to_string(), retry_after_seconds }
            }
        }
    }
}

impl From<UserInvitationError> for ApiError {
    fn from(e: UserInvitationError) -> Self {
        match e {
            UserInvitationError::WrongState { .. } => Self::Conflict(e.to_string()),
            UserInvitationError::NotPermitted => Self::Forbidden(e.to_string()),
            UserInvitationError::ResendTooSoon { retry_after_seconds, .. } => {
                Self::TooManyRequests { reason: e.to_string(), retry_after_seconds }
            }
        }
    }
}

/// A spent email budget (the tenant's for the day, or an address's): 429 until the next UTC day.
impl From<BudgetError> for ApiError {
    fn from(e: BudgetError) -> Self {
        Self::TooManyRequests { retry_after_seconds: e.retry_after_seconds(), reason: e.to_string() }
    }
}

/// Input the domain refused, whose message is a whole sentence: a 400 saying it.
macro_rules! bad_request_from {
    ($($error:ty),+) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                Self::BadRequest(e.to_string())
            }
        }
    )+};
}

bad_request_from!(InviteError, SettingsError, KeyError, MetadataError, ExpiryError, RedirectError, LocaleError);

/// A role the caller may not grant is theirs to lack (403); a malformed or non-invitable one is the request's (400).
impl From<RolesError> for ApiError {
    fn from(e: RolesError) -> Self {
        match e {
            RolesError::NotHeld(_) => Self::Forbidden(e.to_string()),
            _ => Self::BadRequest(e.to_string()),
        }
    }
}

impl From<IdError> for ApiError {
    fn from(e: IdError) -> Self {
        Self::BadRequest(format!("{e}."))
    }
}

impl From<TextError> for ApiError {
    fn from(e: TextError) -> Self {
        Self::BadRequest(format!("{e}."))
    }
}

/// An invalid address in `field`; the address itself is not echoed, the field and the fault are.
pub fn invalid_email(field: &str, e: EmailError) -> ApiError {
    ApiError::BadRequest(format!("{field} is not a valid email address: it {e}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON, ArcGIS and HTML forms of one error have its status and the same `Retry-After` (or none), and mask
    /// the service's own failures the same way: no detail of them reaches the caller.
    #[test]
    fn every_wire_form_has_the_same_status_retry_after_and_masking() {
        let cases = [
            (ApiError::Unavailable("table t timed out".into()), Some("2")),
            (ApiError::TooManyRequests { reason: "Slow down.".into(), retry_after_seconds: 30 }, Some("30")),
            (ApiError::Misconfigured("ResourceNotFoundException: table t".into()), None),
            (ApiError::Internal("decoding item k".into()), None),
            (ApiError::bad_request("Name is required."), None),
        ];
        for (error, retry_after) in cases {
            let forms = [
                error.clone().into_response("op-1"),
                error.clone().into_arcgis("op-1"),
                error.clone().into_page("op-1"),
            ];
            for response in forms {
                assert_eq!(response.status(), error.status(), "{error:?}");
                let header = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok());
                assert_eq!(header, retry_after, "{error:?}");
                let Body::Text(body) = response.body() else { panic!("a text body") };
                for detail in ["table t", "decoding item k", "ResourceNotFoundException"] {
                    assert!(!body.contains(detail), "{detail} leaked: {body}");
                }
            }
        }
    }
}
