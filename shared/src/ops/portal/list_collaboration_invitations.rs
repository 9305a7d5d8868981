//! `GET .../collaborations/{collaborationId}/invitations?start&num`: the host's invitations of a collaboration,
//! oldest first, without their files (which carry the secret nonce).

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;

use super::wire::InvitationBody;
use crate::app::App;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let all: Vec<_> =
        app.store.list_collaboration_invitations(c.id).await?.iter().map(|i| InvitationBody::new(i, None)).collect();
    let body = super::page(&r.params, "collaborationInvitations", all)?;
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitations", &body))
}
