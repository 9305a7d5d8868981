//! `POST .../validateCollaborationInvitation` `invitationFile` or `invitationJSON`, optionally
//! `hostKeyFingerprint`: the guest checks a file exactly as `acceptCollaborationInvitation` would, without
//! accepting it (so a file it calls valid is one accept takes): its signature, https host, expiry and cap,
//! addressee, that the collaboration is not already joined, and that its key is the one the host publishes (see
//! `accept_collaboration_invitation::check`). The answer shows the key's fingerprint
//! (`hostKeyFingerprint`), for the administrator to compare with the host's out of band. Contact fields, when
//! given, are checked as accept checks them.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use crate::app::App;
use crate::domain::collaboration::Contact;
use crate::http::{Answer, arcgis};

pub async fn handle(app: Arc<App>, req: Request) -> Answer {
    let r = super::read_as_admin(&app, &req).await?;
    let p = &r.params;
    let fields = ["guestContactFirstname", "guestContactLastname", "guestContactEmailAddress"];
    if fields.iter().any(|f| p.get(f).is_some()) {
        Contact::parse(p.required(fields[0])?, p.required(fields[1])?, p.required(fields[2])?)?;
    }
    let (_, fingerprint) = super::accept_collaboration_invitation::check(&app, &r).await?;
    let body = json!({"success": true, "hostKeyFingerprint": fingerprint.as_str()});
    Ok(arcgis::answer(r.format, StatusCode::OK, "Invitation valid", &body))
}
