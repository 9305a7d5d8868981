//! The emails' words. Bodies are askama templates in `shared/templates/`: HTML escapes every value, so a community
//! name cannot inject markup; the subject goes through [`super::header_text`], so no name can add a header.

use askama::Template;

use super::{Message, header_text};
use crate::domain::{Invitation, MailKind};

/// The longest subject line; longer names are cut.
const MAX_SUBJECT: usize = 150;
/// The longest name put into a subject or body.
const MAX_NAME: usize = 100;

#[derive(Template)]
#[template(path = "mail.txt")]
struct Text<'a> {
    kind: &'a str,
    community: &'a str,
    inviter: &'a str,
    invitee: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "mail.html")]
struct Html<'a> {
    kind: &'a str,
    community: &'a str,
    inviter: &'a str,
    invitee: &'a str,
    link: &'a str,
    expires: &'a str,
}

/// The message `invitation`'s current delivery sends, to `to`; `link` is the landing link with its secret.
pub fn render(invitation: &Invitation, kind: MailKind, to: Vec<String>, link: Option<String>) -> Message {
    let community = header_text(&invitation.community_name, MAX_NAME);
    let inviter = header_text(
        &invitation.inviter_email.as_ref().map_or_else(|| invitation.issuing_tenant.to_string(), |e| e.to_string()),
        MAX_NAME,
    );
    let invitee = header_text(
        &invitation
            .accepted_tenant_name
            .clone()
            .or_else(|| invitation.invited_tenant.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| invitation.recipient.to_string()),
        MAX_NAME,
    );
    let (kind_name, subject) = match kind {
        MailKind::Invitation => ("Invitation", format!("{inviter} invites you to join {community}")),
        MailKind::Accepted => ("Accepted", format!("{invitee} accepted the invitation to {community}")),
        MailKind::Confirmed => ("Confirmed", format!("You are now a member of {community}")),
    };
    let expires = invitation.expires.to_rfc3339();
    let link_text = link.as_deref().unwrap_or_default();
    let text = Text {
        kind: kind_name,
        community: &community,
        inviter: &inviter,
        invitee: &invitee,
        link: link_text,
        expires: &expires,
    };
    let html = Html {
        kind: kind_name,
        community: &community,
        inviter: &inviter,
        invitee: &invitee,
        link: link_text,
        expires: &expires,
    };
    Message {
        to,
        subject: header_text(&subject, MAX_SUBJECT),
        // Rendering plain fields cannot fail (askama fails only on a failing Display); an empty body would still
        // carry the subject, so it is not worth failing the delivery over.
        text: text.render().unwrap_or_default(),
        html: html.render().unwrap_or_default(),
        link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Community, CommunityInput, Email, InvitationPolicy, Principal, Role, TenantId, Timestamp, UserId,
    };

    #[test]
    fn names_are_escaped_in_html_and_kept_out_of_headers() {
        let owner = Principal {
            user: UserId::parse("sub", "u").unwrap(),
            tenant: TenantId::parse("t", "owner").unwrap(),
            email: Some(Email::parse("admin@owner.com").unwrap()),
            tenant_name: None,
            roles: vec![Role::TenantAdministrator],
        };
        let input = CommunityInput::new("<b>Ops</b>\nBcc: x@y.com", None, None).unwrap();
        let (community, _) = Community::create(input, owner.tenant.clone(), Timestamp::from_millis(0));
        let recipient = Email::parse("bob@guest.com").unwrap();
        let (inv, _) =
            Invitation::create(&community, recipient, &owner, Timestamp::from_millis(0), InvitationPolicy::default());
        let link = "https://x.example/invite/1?token=abc".to_owned();
        let m = render(&inv, MailKind::Invitation, vec!["bob@guest.com".into()], Some(link.clone()));
        assert_eq!(m.subject, "admin@owner.com invites you to join <b>Ops</b> Bcc: x@y.com");
        assert!(m.html.contains("&#60;b&#62;Ops") && !m.html.contains("<b>Ops"), "{}", m.html);
        assert!(m.text.contains(&link) && m.html.contains(&link));
    }
}
