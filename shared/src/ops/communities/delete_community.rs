//! `DELETE /api/v1-preview/communities/{communityId}`: an administrator of the owner tenant deletes the community.
//!
//! Refused with 409 while another tenant is in it (Active or awaiting confirmation) or an invitation of it is not
//! finished (Created, live or expired, or Accepted); the refusal names them. The store deletes the community and
//! the owner's membership in one transaction conditional on the community's counters, so an invite or accept racing
//! the delete either makes it fail or fails itself: no half-deleted community. Finished invitations stay, for audit,
//! and read as missing (in AWS, for `RSVP_AUDIT_RETENTION_DAYS` after they ended).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::{community_for_admin, community_not_found};
use crate::app::App;
use crate::domain::CommunityId;
use crate::http::request::{self, MAX_COUNT};
use crate::http::{Answer, ApiError, response};
use crate::ops::caller;
use crate::store::{PageRequest, StoreError};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "communityId", CommunityId::parse)?;
    community_for_admin(&app, id, &caller).await?;
    // The counters and the tenants in one consistent read; the invitations from their index, to name them.
    let first = PageRequest { skip: 0, count: MAX_COUNT, after: None };
    let ((community, tenants), invitations) = tokio::try_join!(
        app.store.get_community_with_members(id, MAX_COUNT),
        app.store.list_community_invitations(id, &first),
    )?;
    let community = community.ok_or_else(|| community_not_found(id))?;
    let now = app.clock.now();
    let open = invitations
        .items
        .iter()
        .filter(|i| i.is_open())
        .map(|i| (i.id.to_string(), i.read_state(now).as_str()))
        .collect();
    community.check_deletable(&tenants.items, open).map_err(|e| ApiError::Conflict(e.to_string()))?;
    match app.store.delete_community(&community).await {
        Ok(()) => Ok(response::empty(StatusCode::NO_CONTENT)),
        Err(StoreError::Conflict) => Err(ApiError::Conflict(
            "The community changed while it was being deleted (a tenant or an invitation came in, or it is gone); \
             read it again."
                .into(),
        )),
        Err(e) => Err(e.into()),
    }
}
