//! `GET /api/v1-preview/communities/{communityId}/invitations/{invitationId}`: one invitation, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CommunityInvitationBody;
use super::{Access, invitation_of};
use crate::app::App;
use crate::domain::{CommunityId, InvitationId};
use crate::http::{Answer, request, response};
use crate::ops::caller;

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let community = request::path(&req, "communityId", CommunityId::parse)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    // The membership and the invitation in one read: the community itself is not needed to answer.
    let invitation = invitation_of(&app, community, id, &caller, Access::Member).await?;
    Ok(response::json(StatusCode::OK, &CommunityInvitationBody::new(&invitation, app.clock.now())))
}
