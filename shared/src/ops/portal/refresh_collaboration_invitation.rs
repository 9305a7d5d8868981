//! `POST .../invitations/{invitationId}/refresh`: a new file for a live invitation, valid 72 hours from now, with
//! a new nonce: the old file, and any response to it, stop working. It carries the key that signs it now.

use std::sync::Arc;

use lambda_http::Request;

use crate::app::App;
use crate::http::{Answer, ApiError, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let _ = super::read_as_admin(&app, &req).await?;
    let (_, invitation) = super::hosted_invitation(&app, &req).await?;
    let now = app.clock.now();
    let public_key = app.signer.public_key().await?.to_base64();
    let (request, nonce) = invitation.refresh_request(public_key, now)?;
    let payload = serde_json::to_string(&request).map_err(|e| ApiError::Internal(e.to_string()))?;
    let signature = super::sign(&app, &payload).await?;
    let sealed = app.sealer.seal(invitation.id.as_invitation_id(), &nonce).await?;
    let next = invitation.refreshed(request, signature, &nonce, sealed, now);
    app.store.update_collaboration_invitation(&next, invitation.version, None).await?;
    Ok(arcgis::download(&next.file_name(), next.file(&nonce)))
}
