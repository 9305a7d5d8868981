//! `GET /api/v1-preview/communities/{communityId}/invitations/{invitationId}`: one invitation, for a member tenant.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::CommunityInvitation;
use super::{Answer, caller, community_for_member, invitation_in};
use crate::app::App;
use crate::domain::{CommunityId, InvitationId};
use crate::http::{request, response};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let community = request::path(&req, "communityId", CommunityId::parse)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    community_for_member(&app, community, &caller).await?;
    let invitation = invitation_in(&app, community, id).await?;
    Ok(response::json(StatusCode::OK, &CommunityInvitation::new(&invitation, app.clock.now())))
}
