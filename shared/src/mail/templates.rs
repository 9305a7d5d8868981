//! The emails' words. Bodies are askama templates in `shared/templates/`: HTML escapes every value, so a community
//! name or a sender's message cannot inject markup; the subject goes through [`super::header_text`], so no name can
//! add a header. The text body is plain text (`mail.txt` is not escaped: it is not HTML).

use askama::Template;

use super::{Message, header_text};
use crate::domain::{Claimed, Invitation, MailKind, UserInvitation};

/// The longest subject line; longer names are cut.
const MAX_SUBJECT: usize = 150;
/// The longest name put into a subject or body.
const MAX_NAME: usize = 100;

#[derive(Template)]
#[template(path = "mail.txt")]
struct Text<'a> {
    kind: &'a str,
    community: &'a str,
    message: &'a str,
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
    message: &'a str,
    inviter: &'a str,
    invitee: &'a str,
    link: &'a str,
    expires: &'a str,
}

/// What an email says, whichever invitation it is for.
struct Words {
    kind: &'static str,
    subject: String,
    community: String,
    inviter: String,
    invitee: String,
    message: String,
    expires: String,
}

/// The message `claimed`'s current delivery sends, to `to`; `link` is the landing link with its secret.
pub fn render(claimed: &Claimed, kind: MailKind, to: Vec<String>, link: Option<String>) -> Message {
    let words = match claimed {
        Claimed::Community(invitation) => community_words(invitation, kind),
        Claimed::Platform(invitation) => platform_words(invitation),
    };
    let link_text = link.as_deref().unwrap_or_default();
    let text = Text {
        kind: words.kind,
        community: &words.community,
        message: &words.message,
        inviter: &words.inviter,
        invitee: &words.invitee,
        link: link_text,
        expires: &words.expires,
    };
    let html = Html {
        kind: words.kind,
        community: &words.community,
        message: &words.message,
        inviter: &words.inviter,
        invitee: &words.invitee,
        link: link_text,
        expires: &words.expires,
    };
    Message {
        to,
        subject: header_text(&words.subject, MAX_SUBJECT),
        // Rendering plain fields cannot fail (askama fails only on a failing Display); an empty body would still
        // carry the subject, so it is not worth failing the delivery over.
        text: text.render().unwrap_or_default(),
        html: html.render().unwrap_or_default(),
        link,
        key: None,
        tags: Vec::new(),
    }
}

fn community_words(invitation: &Invitation, kind: MailKind) -> Words {
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
    let (kind, subject, invitee) = match kind {
        MailKind::Invitation => ("Invitation", format!("{inviter} invites you to join {community}"), invitee),
        MailKind::Accepted => {
            // The owner confirms whoever accepted, so the notice names them by what was verified (the address and
            // the tenant id); the tenant's name is only what its token claimed, and says so.
            let who = acceptor(invitation);
            let invitee = match &invitation.accepted_tenant_name {
                Some(name) => format!(
                    "{who} (the tenant calls itself \"{}\", a name rsvp has not verified)",
                    header_text(name, MAX_NAME)
                ),
                None => who.clone(),
            };
            ("Accepted", format!("{who} accepted the invitation to {community}"), invitee)
        }
        MailKind::Confirmed => ("Confirmed", format!("You are now a member of {community}"), invitee),
    };
    Words {
        kind,
        subject,
        community,
        inviter,
        invitee,
        message: String::new(),
        expires: invitation.expires.to_rfc3339(),
    }
}

/// Who accepted, by what rsvp verified: `bob@guest.example for tenant tenant-guest`. Not cut to [`MAX_NAME`]:
/// a cut address could read as another (both parts are bounded already: 254 and 64 characters).
fn acceptor(invitation: &Invitation) -> String {
    let address = invitation.accepted_user_email.as_ref().map_or("an administrator", |e| e.as_str());
    let who = match &invitation.invited_tenant {
        Some(tenant) => format!("{address} for tenant {tenant}"),
        None => address.to_owned(),
    };
    header_text(&who, who.chars().count())
}

/// A platform invitation's only email: the invitation, with the sender's message as they wrote it (the HTML
/// template escapes it; the text part carries it as plain text).
fn platform_words(invitation: &UserInvitation) -> Words {
    let tenant = header_text(invitation.tenant_name.as_deref().unwrap_or(invitation.tenant.as_str()), MAX_NAME);
    let inviter = header_text(
        &invitation.inviter_email.as_ref().map_or_else(|| invitation.inviter.as_str().to_owned(), |e| e.to_string()),
        MAX_NAME,
    );
    Words {
        kind: "UserInvitation",
        subject: format!("{inviter} invites you to join {tenant}"),
        community: tenant,
        inviter,
        invitee: invitation.recipient.to_string(),
        message: invitation.message.clone().unwrap_or_default(),
        expires: invitation.expires.to_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserInvitation;
    use crate::domain::{
        Community, CommunityInput, Email, InvitationPolicy, Principal, Role, TenantId, Timestamp, UserId,
    };

    /// The owner tenant's administrator, `admin@owner.com`.
    fn owner() -> Principal {
        Principal {
            user: UserId::parse("sub", "u").unwrap(),
            tenant: TenantId::parse("t", "owner").unwrap(),
            email: Some(Email::parse("admin@owner.com").unwrap()),
            tenant_name: None,
            roles: vec![Role::TenantAdministrator],
        }
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_out_of_headers() {
        let owner = owner();
        let input = CommunityInput::new("<b>Ops</b>\nBcc: x@y.com", None, None).unwrap();
        let (community, _) = Community::create(input, owner.tenant.clone(), Timestamp::from_millis(0));
        let recipient = Email::parse("bob@guest.com").unwrap();
        let (inv, _) =
            Invitation::create(&community, recipient, &owner, Timestamp::from_millis(0), InvitationPolicy::default());
        let link = "https://x.example/invite/1?token=abc".to_owned();
        let m =
            render(&Claimed::Community(inv), MailKind::Invitation, vec!["bob@guest.com".into()], Some(link.clone()));
        assert_eq!(m.subject, "admin@owner.com invites you to join <b>Ops</b> Bcc: x@y.com");
        assert!(m.html.contains("&#60;b&#62;Ops") && !m.html.contains("<b>Ops"), "{}", m.html);
        assert!(m.text.contains(&link) && m.html.contains(&link));
    }

    #[test]
    fn the_acceptance_notice_names_the_verified_acceptor_and_calls_the_tenant_name_a_claim() {
        let owner = owner();
        let input = CommunityInput::new("Ops", None, None).unwrap();
        let (community, _) = Community::create(input, owner.tenant.clone(), Timestamp::from_millis(0));
        let recipient = Email::parse("bob@guest.com").unwrap();
        let (mut inv, _) =
            Invitation::create(&community, recipient, &owner, Timestamp::from_millis(0), InvitationPolicy::default());
        inv.invited_tenant = Some(TenantId::parse("t", "t-guest").unwrap());
        inv.accepted_user_email = Some(Email::parse("bob@guest.com").unwrap());
        inv.accepted_tenant_name = Some("Owner Corp Security Team".into());
        let m = render(&Claimed::Community(inv), MailKind::Accepted, vec!["admin@owner.com".into()], None);
        assert_eq!(m.subject, "bob@guest.com for tenant t-guest accepted the invitation to Ops");
        for part in [&m.text, &m.html] {
            assert!(part.contains("bob@guest.com for tenant t-guest"), "{part}");
            assert!(part.contains("a name rsvp has not verified"), "{part}");
        }
        assert!(!m.subject.contains("Owner Corp"), "the claimed name is never the subject");
    }

    #[test]
    fn a_platform_invitation_carries_the_message_escaped_in_html_and_plain_in_text() {
        let by = Principal {
            user: UserId::parse("sub", "u").unwrap(),
            tenant: TenantId::parse("t", "acme").unwrap(),
            email: Some(Email::parse("mia@acme.com").unwrap()),
            tenant_name: Some("Acme".into()),
            roles: vec![Role::TenantMember],
        };
        let message = "Join <us> & \"friends\"\nSee you".to_owned();
        let (inv, _) = UserInvitation::create(
            &by,
            Email::parse("jane@x.com").unwrap(),
            Some(message.clone()),
            Timestamp::from_millis(0),
            &crate::domain::UserSettings::default(),
        );
        let link = "https://x.example/invite/1?token=abc".to_owned();
        let m = render(&Claimed::Platform(inv), MailKind::Invitation, vec!["jane@x.com".into()], Some(link.clone()));
        assert_eq!(m.subject, "mia@acme.com invites you to join Acme");
        assert!(m.text.contains(&message), "{}", m.text);
        assert!(m.html.contains("Join &#60;us&#62; &#38; &#34;friends&#34;"), "{}", m.html);
        assert!(!m.html.contains("<us>"));
        assert!(m.text.contains(&link) && m.html.contains(&link));
    }
}
