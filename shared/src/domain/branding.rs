//! A tenant's branding: how its invitation emails and landing pages present it, instead of as rsvp.
//!
//! Every field is optional and bounded, and each is shown only where it cannot do harm: names and the footer are
//! text (escaped wherever they appear, on one line where they reach a mail header), the logo is an `https` URL put
//! only in an `<img>` whose origin the page's Content-Security-Policy then allows for images and nothing else, and
//! the accent colour is a `#rrggbb` hex value, so the one style rule built from it ([`Branding::style`]) cannot
//! carry anything but a colour.

use serde::{Deserialize, Serialize};

use super::{Email, bounded_text, one_line_text};

/// The longest sender display name (it goes into the email's `From` header).
pub const MAX_SENDER_NAME_CHARS: usize = 64;
/// The longest product name.
pub const MAX_PRODUCT_NAME_CHARS: usize = 100;
/// The longest logo URL.
pub const MAX_LOGO_URL_CHARS: usize = 2_048;
/// The longest footer.
pub const MAX_FOOTER_CHARS: usize = 500;

/// How a tenant's emails and pages present it; empty for a tenant that set none (rsvp's own look).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// The display name of the emails' sender, beside the deployment's address: `Acme <invites@rsvp.example>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// The product's name, shown at the top of the page and in the emails' sign-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// An `https` image shown at the top of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// `#rrggbb`: the colour of links and the main button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent_color: Option<String>,
    /// Where people write with questions, shown on the page and in the emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_email: Option<Email>,
    /// A line or two at the bottom of the page and the emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer_text: Option<String>,
}

/// A branding as the API takes and shows it (the `Branding` of a tenant's user settings): each field text, or
/// null (on a change also absent or empty) when unset. A change names the whole branding; an unknown field is
/// refused, so a typo cannot look like success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BrandingInput {
    pub sender_name: Option<String>,
    pub product_name: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    pub support_email: Option<String>,
    pub footer_text: Option<String>,
}

impl Branding {
    /// The branding as the API shows it.
    pub fn to_input(&self) -> BrandingInput {
        BrandingInput {
            sender_name: self.sender_name.clone(),
            product_name: self.product_name.clone(),
            logo_url: self.logo_url.clone(),
            accent_color: self.accent_color.clone(),
            support_email: self.support_email.as_ref().map(ToString::to_string),
            footer_text: self.footer_text.clone(),
        }
    }

    /// `input` as a branding, or every fault, each named by its field (`Branding.LogoUrl …`).
    pub fn parse(input: &BrandingInput) -> Result<Self, Vec<String>> {
        let mut faults = Vec::new();
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut keep = |result: Result<String, String>| match result {
            Ok(value) => Some(value),
            Err(fault) => {
                faults.push(fault);
                None
            }
        };
        let sender_name = given(&input.sender_name).and_then(|v| {
            keep(one_line_text("Branding.SenderName", &v, MAX_SENDER_NAME_CHARS).map_err(|e| format!("{e}.")))
        });
        let product_name = given(&input.product_name).and_then(|v| {
            keep(one_line_text("Branding.ProductName", &v, MAX_PRODUCT_NAME_CHARS).map_err(|e| format!("{e}.")))
        });
        let footer_text = given(&input.footer_text)
            .and_then(|v| keep(bounded_text("Branding.FooterText", &v, MAX_FOOTER_CHARS).map_err(|e| format!("{e}."))));
        let logo_url = given(&input.logo_url).and_then(|v| keep(logo_url(&v)));
        let accent_color = given(&input.accent_color).and_then(|v| keep(colour(&v)));
        let support_email = given(&input.support_email).and_then(|v| match Email::parse(&v) {
            Ok(email) => Some(email),
            Err(e) => {
                faults.push(format!("Branding.SupportEmail {e}."));
                None
            }
        });
        let branding = Self { sender_name, product_name, logo_url, accent_color, support_email, footer_text };
        if faults.is_empty() { Ok(branding) } else { Err(faults) }
    }

    /// The logo's origin (`https://cdn.acme.example`), which the page's policy allows images from.
    pub fn logo_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.logo_url.as_deref()?).ok()?;
        Some(url.origin().ascii_serialization())
    }

    /// The page's one branded style rule, when an accent colour is set: built from the checked `#rrggbb` only.
    pub fn style(&self) -> Option<String> {
        self.accent_color.as_ref().map(|c| format!(":root{{--accent:{c}}}"))
    }
}

/// An `https` URL with a host and no credentials, as the logo's `src`.
fn logo_url(raw: &str) -> Result<String, String> {
    let fault = || {
        format!(
            "Branding.LogoUrl must be an https URL of an image, without a user name or password, at most \
             {MAX_LOGO_URL_CHARS} characters."
        )
    };
    if raw.chars().count() > MAX_LOGO_URL_CHARS {
        return Err(fault());
    }
    let url = url::Url::parse(raw).map_err(|_| fault())?;
    let ok = url.scheme() == "https" && url.host().is_some() && url.username().is_empty() && url.password().is_none();
    if ok { Ok(url.to_string()) } else { Err(fault()) }
}

/// `#rrggbb` (or `#rgb`, widened), lower-case.
fn colour(raw: &str) -> Result<String, String> {
    let hex = raw.strip_prefix('#').filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    match hex.map(str::to_ascii_lowercase) {
        Some(h) if h.len() == 6 => Ok(format!("#{h}")),
        Some(h) if h.len() == 3 => Ok(format!("#{}", h.chars().flat_map(|c| [c, c]).collect::<String>())),
        _ => Err(format!("Branding.AccentColor must be a colour as #rrggbb, such as #0a7d5a; it was {raw:.20?}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BrandingInput {
        BrandingInput {
            sender_name: Some(" Acme Invitations ".into()),
            product_name: Some("Acme Cloud".into()),
            logo_url: Some("https://cdn.acme.example/logo.png".into()),
            accent_color: Some("#0A7D5A".into()),
            support_email: Some("help@acme.example".into()),
            footer_text: Some("Acme Ltd, 1 Main St\nLondon".into()),
        }
    }

    #[test]
    fn a_whole_branding_is_kept_in_canonical_form() {
        let b = Branding::parse(&input()).unwrap();
        assert_eq!(b.sender_name.as_deref(), Some("Acme Invitations"));
        assert_eq!(b.accent_color.as_deref(), Some("#0a7d5a"));
        assert_eq!(b.logo_origin().as_deref(), Some("https://cdn.acme.example"));
        assert_eq!(b.style().as_deref(), Some(":root{--accent:#0a7d5a}"));
        assert_eq!(
            Branding::parse(&BrandingInput { accent_color: Some("#AbC".into()), ..Default::default() })
                .unwrap()
                .accent_color
                .as_deref(),
            Some("#aabbcc")
        );
        assert_eq!(Branding::parse(&BrandingInput::default()).unwrap(), Branding::default());
        assert_eq!(Branding::parse(&b.to_input()).unwrap(), b, "what the API shows reads back the same");
    }

    #[test]
    fn every_bad_field_is_named_and_nothing_kept() {
        let bad = BrandingInput {
            sender_name: Some("Acme\r\nBcc: x@evil.example".into()),
            product_name: Some("p".repeat(101)),
            logo_url: Some("javascript:alert(1)".into()),
            accent_color: Some("red;}body{display:none".into()),
            support_email: Some("not an address".into()),
            footer_text: Some("a\u{202E}b".into()),
        };
        let faults = Branding::parse(&bad).unwrap_err();
        for field in ["SenderName", "ProductName", "LogoUrl", "AccentColor", "SupportEmail", "FooterText"] {
            assert!(faults.iter().any(|f| f.contains(&format!("Branding.{field}"))), "{field}: {faults:?}");
        }
        for url in ["http://cdn.acme.example/l.png", "https://u:p@cdn.acme.example/l.png", "data:image/png;base64,AA"] {
            let one = BrandingInput { logo_url: Some(url.into()), ..Default::default() };
            assert!(Branding::parse(&one).is_err(), "{url}");
        }
    }
}
