//! The HTML edge of the public invitation pages (`/invite/{invitationId}`, for community and platform
//! invitations alike): the templates, and the one response
//! builder that every page answer, success or error, goes through, so none can leave without its security headers.
//!
//! The page URL carries the invitation's secret, so every answer forbids caching (`no-store`), never sends the URL
//! on as a referrer, cannot be framed, and runs no script at all: the policy allows only the page's own stylesheet
//! (by its hash) and forms posted back to this site. Values are HTML-escaped by askama, which escapes by default.

use std::sync::LazyLock;

use askama::Template;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};

use crate::domain::{Branding, ReadState, UserReadState};
use crate::i18n::Language;

/// The pages' only stylesheet, inlined so a page is one request; allowed by the policy through its hash.
pub const STYLE: &str = include_str!("../../templates/page/style.css");

/// No script, no images, no fonts, no frames, no plugins: only the inline stylesheet and forms to this site.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| policy(None));

/// The stylesheet's policy source, hashed once.
static STYLE_SOURCE: LazyLock<String> = LazyLock::new(|| hash_source(STYLE));

/// `css` as a policy source: `'sha256-<base64 of its SHA-256>'`.
fn hash_source(css: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(css.as_bytes())))
}

/// The policy of a page with `branding`: the base one, plus the tenant's logo's origin for images only and its
/// one style rule ([`Branding::style`]) by its hash. Nothing a tenant sets can allow a script.
fn policy(branding: Option<&Branding>) -> String {
    let mut styles = STYLE_SOURCE.clone();
    if let Some(css) = branding.and_then(Branding::style) {
        styles = format!("{styles} {}", hash_source(&css));
    }
    let images = match branding.and_then(Branding::logo_origin) {
        Some(origin) => format!("img-src {origin}; "),
        None => String::new(),
    };
    format!(
        "default-src 'none'; {images}style-src {styles}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Where a pending invitation's page stands; decides what it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for an answer: Accept and Decline are offered.
    Pending,
    /// Past its expiry: nothing can be done but ask for it again.
    Expired,
    /// Just declined through this page.
    Declined,
}

/// `page`, answered instead as a `303 See Other` to `onward` when the invitation names where to go once answered
/// (its `RedirectUrl`, checked against the tenant's allowed origins when it was set). The page stays as the body,
/// with its security headers, for a client that does not follow.
pub fn onward(mut page: Response<Body>, onward: Option<&str>) -> Response<Body> {
    if let Some(location) = onward.and_then(|to| HeaderValue::from_str(to).ok()) {
        *page.status_mut() = StatusCode::SEE_OTHER;
        page.headers_mut().insert(header::LOCATION, location);
    }
    page
}

/// A community invitation's state in the words its page shows (the API's names, `InvitationCreated`, are for
/// programs).
pub fn community_state_words(state: ReadState, t: Language) -> String {
    t.t(match state {
        ReadState::InvitationCreated => "state-waiting",
        ReadState::InvitationAccepted => "state-accepted-unconfirmed",
        ReadState::InvitationDeclined => "state-declined",
        ReadState::InvitationExpired => "state-expired",
        ReadState::InvitationCompleted => "state-accepted-confirmed",
    })
}

/// A platform invitation's state in the words its page shows.
pub fn user_state_words(state: UserReadState, t: Language) -> String {
    t.t(match state {
        UserReadState::Pending => "state-waiting",
        UserReadState::Accepted => "state-accepted",
        UserReadState::Declined => "state-declined",
        UserReadState::Expired => "state-expired",
        UserReadState::Revoked => "state-withdrawn",
    })
}

/// The landing page of one invitation, as its link holder sees it.
#[derive(Template)]
#[template(path = "page/invitation.html")]
pub struct InvitationPage<'a> {
    pub style: &'static str,
    /// The invitation's language, whose words the page shows.
    pub t: Language,
    /// The owner tenant's branding.
    pub brand: &'a Branding,
    pub stage: Stage,
    /// The invitation id: the form posts back to the page's own path, relative to it (`/invite/{id}`), so the page
    /// works under whatever base path the public URL has.
    pub id: String,
    pub community: &'a str,
    /// The issuing tenant, and the verified address of the administrator who sent the invitation (when known).
    pub issuer: &'a str,
    pub inviter: Option<String>,
    pub recipient: &'a str,
    pub contact: Option<String>,
    pub state: String,
    /// A human form of the expiry, e.g. `15 March 2026, 09:00 UTC`.
    pub expires: String,
    /// Present while the invitation is pending: the form carries it back for Decline.
    pub token: &'a str,
    /// Where Accept continues (the configured sign-in URL with the invitation and its token), if configured.
    pub accept_url: Option<String>,
    /// Whose sign-in can accept, completing "signed in …": `as bob@guest.example`, or `with an address at
    /// guest.example` when the invitation admits the recipient's domain. The link alone never accepts.
    pub accept_by: String,
}

/// Where a platform invitation's page stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStage {
    /// Waiting for an answer: Accept (with the person's name) and Decline are offered.
    Pending,
    Expired,
    /// Just declined through this page.
    Declined,
    /// Just accepted through this page.
    Accepted,
}

/// The landing page of a platform invitation: the person invited accepts or declines here, signed in or not.
#[derive(Template)]
#[template(path = "page/user_invitation.html")]
pub struct UserInvitationPage<'a> {
    pub style: &'static str,
    pub t: Language,
    pub brand: &'a Branding,
    pub stage: UserStage,
    pub id: String,
    /// The tenant's name (its id when the sender's token named none).
    pub tenant: &'a str,
    pub inviter: String,
    pub recipient: &'a str,
    /// The sender's message, escaped like every value.
    pub message: Option<&'a str>,
    pub state: String,
    pub expires: String,
    /// Present while pending: the forms carry it back.
    pub token: &'a str,
    /// The name given, once accepted.
    pub first_name: &'a str,
}

/// A page that says what went wrong, in words meant for whoever opened the link.
#[derive(Template)]
#[template(path = "page/error.html")]
pub struct ErrorPage<'a> {
    pub style: &'static str,
    pub title: &'a str,
    pub message: &'a str,
    /// The request id, shown for faults of the service only: other pages must not differ from one request to the next.
    pub reference: Option<&'a str>,
}

/// A rendered page with every header the pages need. A template that fails to render (a bug) answers a plain 500
/// page with the same headers rather than panicking.
pub fn render(status: StatusCode, page: &impl Template) -> Response<Body> {
    render_branded(status, page, None)
}

/// [`render`] for a page wearing a tenant's `branding`, whose policy allows what that branding shows.
pub fn render_branded(status: StatusCode, page: &impl Template, branding: Option<&Branding>) -> Response<Body> {
    let policy = policy(branding);
    match page.render() {
        Ok(html) => html_response(status, html, &policy),
        Err(error) => {
            tracing::error!(%error, "a page template failed to render");
            html_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>The service failed to show this page.</p>".to_owned(),
                &CONTENT_SECURITY_POLICY,
            )
        }
    }
}

fn html_response(status: StatusCode, html: String, policy: &str) -> Response<Body> {
    let mut response = Response::new(Body::Text(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The URL holds the secret: no cache may keep the page, and no link may pass the URL on.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(HeaderName::from_static("content-security-policy"), policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(stage: Stage, community: &str) -> String {
        let page = InvitationPage {
            style: STYLE,
            t: Language::English,
            brand: &Branding::default(),
            stage,
            id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            community,
            issuer: "tenant-owner",
            inviter: Some("admin@owner.example".into()),
            recipient: "bob@guest.example",
            contact: Some("ops@owner.example".into()),
            state: "Waiting for an answer".into(),
            expires: "15 March 2026, 09:00 UTC".into(),
            token: "c2VjcmV0",
            accept_url: Some("https://app.example/sign-in?invitation=1&token=c2VjcmV0".into()),
            accept_by: "as bob@guest.example".into(),
        };
        page.render().unwrap()
    }

    #[test]
    fn values_are_escaped() {
        let html = page(Stage::Pending, "<script>alert('x')</script> & \"co\"");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#34;co&#34;"), "{html}");
        assert!(html.contains("<dd>admin@owner.example, tenant-owner</dd>"), "{html}");
        assert!(
            html.contains("invitation=1&#38;token=c2VjcmV0"),
            "the accept link's ampersand is escaped in the attribute"
        );
    }

    #[test]
    fn only_a_pending_invitation_offers_accept_and_decline() {
        let pending = page(Stage::Pending, "Ops");
        assert!(pending.contains("name=\"action\" value=\"decline\"") && pending.contains("sign-in?invitation="));
        for stage in [Stage::Expired, Stage::Declined] {
            let html = page(stage, "Ops");
            assert!(!html.contains("<form") && !html.contains("sign-in?invitation=") && !html.contains("c2VjcmV0"));
        }
    }

    fn user_page(stage: UserStage, message: &str) -> String {
        let page = UserInvitationPage {
            style: STYLE,
            t: Language::English,
            brand: &Branding::default(),
            stage,
            id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            tenant: "Acme",
            inviter: "mia@acme.example".into(),
            recipient: "jane@x.example",
            message: Some(message),
            state: "Waiting for an answer".into(),
            expires: "15 March 2026, 09:00 UTC".into(),
            token: "c2VjcmV0",
            first_name: "",
        };
        page.render().unwrap()
    }

    #[test]
    fn a_platform_invitation_page_escapes_the_message_and_offers_answers_only_while_pending() {
        let html = user_page(UserStage::Pending, "<img src=x onerror=alert(1)> join us");
        assert!(!html.contains("<img") && html.contains("&#60;img src=x onerror=alert(1)&#62; join us"), "{html}");
        assert!(html.contains("value=\"accept\"") && html.contains("value=\"decline\"") && html.contains("c2VjcmV0"));
        for stage in [UserStage::Expired, UserStage::Declined, UserStage::Accepted] {
            let html = user_page(stage, "hi");
            assert!(!html.contains("<form") && !html.contains("c2VjcmV0"), "{stage:?}");
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_stylesheet() {
        let html = page(Stage::Pending, "Ops");
        assert!(html.contains(&format!("<style>{STYLE}</style>")), "the hashed text is the text on the page");
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src") && !CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn a_branded_page_allows_its_logo_for_images_and_its_accent_by_hash_and_nothing_else() {
        let branding = Branding::parse(&crate::domain::BrandingInput {
            logo_url: Some("https://cdn.acme.example/logo.png".into()),
            accent_color: Some("#0a7d5a".into()),
            product_name: Some("Acme <Cloud>".into()),
            ..Default::default()
        })
        .unwrap();
        let page = UserInvitationPage {
            style: STYLE,
            t: Language::German,
            brand: &branding,
            stage: UserStage::Pending,
            id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            tenant: "Acme",
            inviter: "mia@acme.example".into(),
            recipient: "jane@x.example",
            message: None,
            state: user_state_words(UserReadState::Pending, Language::German),
            expires: "2026-03-15 09:00 UTC".into(),
            token: "c2VjcmV0",
            first_name: "",
        };
        let response = render_branded(StatusCode::OK, &page, Some(&branding));
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        let Body::Text(html) = response.into_body() else { panic!("a page is text") };
        assert!(html.starts_with("<!doctype html>\n<html lang=\"de\">"), "{html}");
        assert!(html.contains("Wartet auf Antwort") && html.contains("Einladung annehmen"), "{html}");
        assert!(
            html.contains("<img src=\"https://cdn.acme.example/logo.png\" alt=\"Acme &#60;Cloud&#62;\">"),
            "{html}"
        );
        let css = ":root{--accent:#0a7d5a}";
        assert!(html.contains(&format!("<style>{css}</style>")), "{html}");
        let hash = STANDARD.encode(Sha256::digest(css.as_bytes()));
        assert!(policy.contains("img-src https://cdn.acme.example;"), "{policy}");
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        assert!(policy.starts_with("default-src 'none';") && !policy.contains("script") && !policy.contains("unsafe"));
        let plain = render_branded(StatusCode::OK, &page, Some(&Branding::default()));
        assert_eq!(
            plain.headers()["content-security-policy"],
            CONTENT_SECURITY_POLICY.as_str(),
            "unbranded: as before"
        );
    }
}
