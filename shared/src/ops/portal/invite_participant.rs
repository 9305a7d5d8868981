//! `POST .../collaborations/{collaborationId}/inviteParticipant` `guestPortalUrl` (https),
//! `collaborationWorkspacesParticipantConfigJSON` (`[{"<workspaceId>": "send|receive|sendAndReceive"}]`),
//! `expiration` (hours, default 24): the host signs an invitation for one guest portal and answers with the file
//! to send it, `collaboration-<guest host>.invite`.

use std::sync::Arc;

use lambda_http::Request;

use crate::app::App;
use crate::domain::collaboration::{CollaborationInvitation, DEFAULT_EXPIRATION_HOURS, MAX_WORKSPACES, PortalUrl};
use crate::http::{Answer, ApiError, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let c = super::hosted(&app, &req).await?;
    let guest = PortalUrl::parse("guestPortalUrl", r.params.required("guestPortalUrl")?, false)?;
    let config = workspace_config(r.params.required("collaborationWorkspacesParticipantConfigJSON")?)?;
    let access = c.access(&config)?;
    let hours = match r.params.get("expiration") {
        None => DEFAULT_EXPIRATION_HOURS,
        Some(v) => {
            v.trim().parse::<i64>().map_err(|_| ApiError::bad_request("expiration must be a whole number of hours."))?
        }
    };
    let public_key = app.signer.public_key().await?.to_base64();
    let (request, nonce) = CollaborationInvitation::request(&c, guest, &access, public_key, app.clock.now(), hours)?;
    let payload = serde_json::to_string(&request).map_err(|e| ApiError::Internal(e.to_string()))?;
    let signature = super::sign(&app, &payload).await?;
    let sealed = app.sealer.seal(request.id.as_invitation_id(), &nonce).await?;
    let invitation = CollaborationInvitation::issued(request, access, signature, &nonce, sealed);
    app.store.create_collaboration_invitation(&invitation).await?;
    Ok(arcgis::download(&invitation.file_name(), invitation.file(&nonce)))
}

/// `[{"<workspaceId>": "<mode>"}, ...]` (one pair per object) as (workspace, mode) text pairs, checked later.
fn workspace_config(json: &str) -> Result<Vec<(String, String)>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "collaborationWorkspacesParticipantConfigJSON must be a JSON array such as [{\"<workspaceId>\": \"send\"}].",
        )
    };
    let entries: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(json).map_err(|_| bad())?;
    if entries.len() > MAX_WORKSPACES {
        return Err(ApiError::bad_request(format!("A participant takes part in at most {MAX_WORKSPACES} workspaces.")));
    }
    let mut out = Vec::new();
    for entry in entries {
        for (workspace, mode) in entry {
            out.push((workspace, mode.as_str().ok_or_else(bad)?.to_owned()));
        }
    }
    if out.len() > MAX_WORKSPACES {
        return Err(bad());
    }
    Ok(out)
}
