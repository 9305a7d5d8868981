//! The emails' words, in the invitation's language ([`crate::i18n`]) and with its tenant's branding
//! ([`crate::domain::Branding`]): the sender's display name, the product's name as the signature, its logo, accent
//! colour, support address and footer. Bodies are askama templates in `shared/templates/`: HTML escapes every
//! value, so a community name or a sender's message cannot inject markup; the subject goes through
//! [`super::header_text`], so no name can add a header. The text body is plain text (`mail.txt` is not escaped: it
//! is not HTML).

use askama::Template;

use super::{Message, header_text};
use crate::domain::{Claimed, CommunityInvitation, MailKind, UserInvitation};
use crate::i18n::{Language, Look};

/// The longest subject line; longer names are cut.
const MAX_SUBJECT: usize = 150;
/// The longest name put into a subject or body.
const MAX_NAME: usize = 100;
/// Links' colour when the tenant chose none (the pages' own).
const DEFAULT_ACCENT: &str = "#0a63c9";

/// What both bodies say, in the invitation's language, with the tenant's branding.
struct Body<'a> {
    lang: &'static str,
    hello: String,
    lead: String,
    message_intro: String,
    /// The sender's message (platform invitations), empty for none.
    message: &'a str,
    /// The plain-text part's words before the link, and the HTML part's link text.
    open: String,
    button: String,
    /// The link with its secret; empty for a notice, which carries none.
    link: &'a str,
    note: String,
    support: String,
    signature: &'a str,
    footer: &'a str,
    accent: &'a str,
    logo: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail.txt")]
struct Text<'a> {
    body: &'a Body<'a>,
}

#[derive(Template)]
#[template(path = "mail.html")]
struct Html<'a> {
    body: &'a Body<'a>,
}

impl<'a> std::ops::Deref for Text<'a> {
    type Target = Body<'a>;
    fn deref(&self) -> &Self::Target {
        self.body
    }
}

impl<'a> std::ops::Deref for Html<'a> {
    type Target = Body<'a>;
    fn deref(&self) -> &Self::Target {
        self.body
    }
}

/// What an email says, whichever invitation it is for: the subject and the body's sentences.
struct Words {
    subject: String,
    lead: String,
    message: String,
    /// The link's words (text part, HTML part) and what follows it, for an invitation; empty for a notice.
    open: String,
    button: String,
    note: String,
}

/// The message `claimed`'s current delivery sends, to `to`, as `look` has it (the invitation's language and its
/// tenant's branding); `link` is the landing link with its secret.
pub fn render(claimed: &Claimed, kind: MailKind, to: Vec<String>, link: Option<String>, look: &Look) -> Message {
    let language = look.language;
    let words = match claimed {
        Claimed::Community(invitation) => community_words(invitation, kind, language),
        Claimed::Platform(invitation) => platform_words(invitation, language),
    };
    let brand = &look.branding;
    let support = brand
        .support_email
        .as_ref()
        .map(|e| language.text("mail-support", &[("support", e.as_str())]))
        .unwrap_or_default();
    let body = Body {
        lang: language.tag(),
        hello: language.t("mail-hello"),
        lead: words.lead,
        message_intro: language.t("mail-their-message"),
        message: &words.message,
        open: words.open,
        button: words.button,
        link: link.as_deref().unwrap_or_default(),
        note: words.note,
        support,
        signature: brand.product_name.as_deref().unwrap_or("rsvp"),
        footer: brand.footer_text.as_deref().unwrap_or_default(),
        accent: brand.accent_color.as_deref().unwrap_or(DEFAULT_ACCENT),
        logo: brand.logo_url.as_deref(),
    };
    Message {
        to,
        from_name: brand.sender_name.clone(),
        subject: header_text(&words.subject, MAX_SUBJECT),
        // Rendering plain fields cannot fail (askama fails only on a failing Display); an empty body would still
        // carry the subject, so it is not worth failing the delivery over.
        text: Text { body: &body }.render().unwrap_or_default(),
        html: Html { body: &body }.render().unwrap_or_default(),
        link,
        key: None,
        tags: Vec::new(),
    }
}

fn community_words(invitation: &CommunityInvitation, kind: MailKind, language: Language) -> Words {
    let community = header_text(&invitation.community_name, MAX_NAME);
    let inviter = header_text(
        &invitation.inviter_email.as_ref().map_or_else(|| invitation.issuing_tenant.to_string(), |e| e.to_string()),
        MAX_NAME,
    );
    let (c, i) = (community.as_str(), inviter.as_str());
    let expires = invitation.expires.to_readable();
    let none = || (String::new(), String::new(), String::new());
    let (subject, lead, (open, button, note)) = match kind {
        MailKind::Invitation => (
            language.text("subject-invitation", &[("inviter", i), ("community", c)]),
            language.text("mail-community-invites", &[("inviter", i), ("community", c)]),
            (
                language.t("mail-community-open"),
                language.t("mail-community-button"),
                language.text("mail-community-personal", &[("expires", &expires)]),
            ),
        ),
        MailKind::Accepted => {
            // The owner confirms whoever accepted, so the notice names them by what was verified (the address and
            // the tenant id); the tenant's name is only what its token claimed, and says so.
            let who = acceptor(invitation, language);
            let invitee = match &invitation.accepted_tenant_name {
                Some(name) => {
                    language.text("mail-claimed-name", &[("who", &who), ("name", &header_text(name, MAX_NAME))])
                }
                None => who.clone(),
            };
            (
                language.text("subject-accepted", &[("who", &who), ("community", c)]),
                language.text("mail-accepted", &[("invitee", &invitee), ("community", c)]),
                (String::new(), String::new(), language.t("mail-accepted-next")),
            )
        }
        MailKind::Confirmed => (
            language.text("subject-confirmed", &[("community", c)]),
            language.text("mail-confirmed", &[("community", c), ("inviter", i)]),
            none(),
        ),
    };
    Words { subject, lead, message: String::new(), open, button, note }
}

/// Who accepted, by what rsvp verified: `bob@guest.example for tenant tenant-guest`. Not cut to [`MAX_NAME`]:
/// a cut address could read as another (both parts are bounded already: 254 and 64 characters).
fn acceptor(invitation: &CommunityInvitation, language: Language) -> String {
    let address = match &invitation.accepted_user_email {
        Some(email) => email.to_string(),
        None => language.t("mail-an-administrator"),
    };
    let who = match &invitation.invited_tenant {
        Some(tenant) => language.text("mail-acceptor", &[("address", &address), ("tenant", tenant.as_str())]),
        None => address,
    };
    header_text(&who, who.chars().count())
}

/// A platform invitation's only email: the invitation, with the sender's message as they wrote it (the HTML
/// template escapes it; the text part carries it as plain text).
fn platform_words(invitation: &UserInvitation, language: Language) -> Words {
    let tenant = header_text(invitation.tenant_name.as_deref().unwrap_or(invitation.tenant.as_str()), MAX_NAME);
    let inviter = header_text(
        &invitation.inviter_email.as_ref().map_or_else(|| invitation.inviter.as_str().to_owned(), |e| e.to_string()),
        MAX_NAME,
    );
    let args = [("inviter", inviter.as_str()), ("community", tenant.as_str())];
    Words {
        subject: language.text("subject-invitation", &args),
        lead: language.text("mail-user-invites", &args),
        message: invitation.message.clone().unwrap_or_default(),
        open: language.t("mail-user-open"),
        button: language.t("mail-user-button"),
        note: language.text("mail-user-personal", &[("expires", &invitation.expires.to_readable())]),
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

    /// An invitation from [`owner`] to `bob@guest.com` into a new community named `community` (given as written).
    fn invitation_to_bob(community: &str) -> CommunityInvitation {
        let owner = owner();
        let input = CommunityInput::new(community, None, None).unwrap();
        let (community, _) = Community::create(input, owner.tenant.clone(), Timestamp::from_millis(0));
        let recipient = Email::parse("bob@guest.com").unwrap();
        let at = Timestamp::from_millis(0);
        CommunityInvitation::create(&community, recipient, &owner, at, InvitationPolicy::default()).0
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_out_of_headers() {
        let inv = invitation_to_bob("<b>Ops</b>\nBcc: x@y.com");
        let link = "https://x.example/invite/1?token=abc".to_owned();
        let m = render(
            &Claimed::Community(inv),
            MailKind::Invitation,
            vec!["bob@guest.com".into()],
            Some(link.clone()),
            &Look::default(),
        );
        assert_eq!(m.subject, "admin@owner.com invites you to join <b>Ops</b> Bcc: x@y.com");
        assert!(m.html.contains("&#60;b&#62;Ops") && !m.html.contains("<b>Ops"), "{}", m.html);
        assert!(m.text.contains(&link) && m.html.contains(&link));
    }

    #[test]
    fn the_acceptance_notice_names_the_verified_acceptor_and_calls_the_tenant_name_a_claim() {
        let mut inv = invitation_to_bob("Ops");
        inv.invited_tenant = Some(TenantId::parse("t", "t-guest").unwrap());
        inv.accepted_user_email = Some(Email::parse("bob@guest.com").unwrap());
        inv.accepted_tenant_name = Some("Owner Corp Security Team".into());
        let m = render(
            &Claimed::Community(inv),
            MailKind::Accepted,
            vec!["admin@owner.com".into()],
            None,
            &Look::default(),
        );
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
        let m = render(
            &Claimed::Platform(inv),
            MailKind::Invitation,
            vec!["jane@x.com".into()],
            Some(link.clone()),
            &Look::default(),
        );
        assert_eq!(m.subject, "mia@acme.com invites you to join Acme");
        assert!(m.text.contains(&message), "{}", m.text);
        assert!(m.html.contains("Join &#60;us&#62; &#38; &#34;friends&#34;"), "{}", m.html);
        assert!(!m.html.contains("<us>"));
        assert!(m.text.contains(&link) && m.html.contains(&link));
    }

    #[test]
    fn an_invitation_speaks_its_language_and_wears_its_tenants_branding() {
        let inv = invitation_to_bob("Betrieb");
        let branding = crate::domain::Branding::parse(&crate::domain::BrandingInput {
            sender_name: Some("Acme Einladungen".into()),
            product_name: Some("Acme Cloud".into()),
            logo_url: Some("https://cdn.acme.example/logo.png".into()),
            accent_color: Some("#0a7d5a".into()),
            support_email: Some("hilfe@acme.example".into()),
            footer_text: Some("Acme GmbH, Berlin".into()),
        })
        .unwrap();
        let look = Look { language: crate::i18n::Language::German, branding };
        let link = "https://x.example/invite/1?token=abc".to_owned();
        let m = render(&Claimed::Community(inv), MailKind::Invitation, vec!["b@g.com".into()], Some(link), &look);
        assert_eq!(m.subject, "admin@owner.com lädt Sie zu Betrieb ein");
        assert_eq!(m.from_name.as_deref(), Some("Acme Einladungen"));
        for part in [&m.text, &m.html] {
            for words in ["Guten Tag,", "der Community „Betrieb“ beizutreten", "hilfe@acme.example", "Acme Cloud"] {
                assert!(part.contains(words), "{words:?} in {part}");
            }
            assert!(part.contains("Acme GmbH, Berlin") && part.contains("1970-01-15 00:00 UTC"), "{part}");
        }
        assert!(m.html.contains("<html lang=\"de\">") && m.html.contains("color: #0a7d5a"), "{}", m.html);
        assert!(m.html.contains("<img src=\"https://cdn.acme.example/logo.png\""), "{}", m.html);
        assert!(!m.text.contains("rsvp\n"), "the product signs, not rsvp: {}", m.text);
    }
}
