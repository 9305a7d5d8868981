//! `DELETE /api/v1-preview/communities/{communityId}/invitations/{invitationId}`: a community admin withdraws an
//! invitation. Its link stops working at once; the record stays for audit (in AWS, for
//! `RSVP_AUDIT_RETENTION_DAYS` after it ended) but reads as missing.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::{Access, invitation_of};
use crate::app::App;
use crate::domain::{CommunityId, InvitationId};
use crate::http::{Answer, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let community = request::path(&req, "communityId", CommunityId::parse)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    // The membership (an owner admin's) and the invitation in one read, as get_community_invitation does.
    let invitation = invitation_of(&app, community, id, &caller, Access::Admin).await?;
    let transition = invitation.delete(&caller, app.clock.now())?;
    app.store.apply(&transition).await?;
    Ok(response::empty(StatusCode::NO_CONTENT))
}
