//! `GET /api/v1-preview/communityinvitations/{invitationId}/details`: what a recipient needs to decide: the
//! community, the invitation's state and the community's point of contact. For the recipient (a
//! TenantAdministrator, by verified email or `Invitation-Token`) or the community's administrators; anyone else
//! gets the same 404 as for a missing invitation.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

use super::{invitation_not_found, relation};
use crate::app::App;
use crate::domain::InvitationId;
use crate::http::{Answer, request, response};
use crate::ops::caller;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Details {
    community_name: String,
    community_id: String,
    invitation_state: &'static str,
    contact_email: Option<String>,
}

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let caller = caller(&app, &req)?;
    let id = request::path(&req, "invitationId", InvitationId::parse)?;
    let invitation =
        app.store.get_invitation(id).await?.filter(|i| !i.is_deleted()).ok_or_else(|| invitation_not_found(id))?;
    let (is_recipient, is_admin) = relation(&invitation, &caller, &req);
    if !(is_admin || (is_recipient && caller.is_tenant_admin())) {
        return Err(invitation_not_found(id));
    }
    let community = app.store.get_community(invitation.community_id).await?;
    let body = Details {
        community_name: invitation.community_name.clone(),
        community_id: invitation.community_id.to_string(),
        invitation_state: invitation.read_state(app.clock.now()).as_str(),
        contact_email: community.and_then(|c| c.contact_email).map(|e| e.to_string()),
    };
    Ok(response::json(StatusCode::OK, &body))
}
