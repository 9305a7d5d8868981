//! The invitation landing page (`/invite/{invitationId}`), which every emailed invitation of either dialect links
//! to: a public HTML page whose credential is the secret in the link.

pub mod respond_to_invitation_page;
pub mod show_invitation_page;
