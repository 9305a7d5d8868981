//! The words people read — invitation emails and landing pages — in their language.
//!
//! The words are Fluent messages (`shared/locales/<language>/main.ftl`), compiled into the binary by
//! `fluent-templates`, so a function reads no file at run time. Which language an invitation speaks is chosen once,
//! by [`Language::choose`]: the invitation's own `Locale` if rsvp has words for it, else the tenant's
//! `DefaultLocale`, else English. A tag rsvp has no words for is not an error: it falls back, so a product can send
//! its user's locale as it has it (`fr-CA`) and get the nearest language rsvp speaks.
//!
//! Messages hold no markup: the templates escape every value, and a value people typed (a community's name, a
//! sender's message) is only ever an argument, never part of a message. Fluent's bidi isolation marks are off:
//! every language here is left-to-right, and the marks would reach subjects and plain-text bodies as invisible
//! characters.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_bundle::FluentValue;

use crate::domain::{Branding, UserSettings};
use fluent_templates::{LanguageIdentifier, Loader as _, langid, static_loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The longest language tag taken (BCP 47 allows long ones; real ones are a few characters).
pub const MAX_TAG_CHARS: usize = 35;

/// A language rsvp has words for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    English,
    German,
}

/// Why a `Locale` or `DefaultLocale` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocaleError {
    #[error("{field} must be a language tag such as \"en\" or \"de-AT\" (BCP 47, at most {MAX_TAG_CHARS} characters).")]
    NotATag { field: &'static str },
    #[error("{field} must be a language rsvp has words for: {}.", Language::TAGS.join(", "))]
    NotSpoken { field: &'static str },
}

impl Language {
    /// Every language, in the order the docs list them.
    pub const ALL: [Language; 2] = [Language::English, Language::German];
    /// Their tags, as `Locale` and `DefaultLocale` take them.
    pub const TAGS: [&'static str; 2] = ["en", "de"];

    /// Its tag: `en`, `de`; what the page's `lang` attribute says.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
        }
    }

    /// The language a well-formed tag names, if rsvp speaks it: by its primary subtag, so `de-AT` is German.
    pub fn of(tag: &str) -> Option<Language> {
        let id: LanguageIdentifier = tag.parse().ok()?;
        Language::ALL.into_iter().find(|l| id.language.as_str() == l.tag())
    }

    /// The language of an invitation with `locale` (as its request gave it) from a tenant whose default is
    /// `tenant_default`: the first of the two that rsvp speaks, else English.
    pub fn choose(locale: Option<&str>, tenant_default: Option<&str>) -> Language {
        locale.and_then(Language::of).or_else(|| tenant_default.and_then(Language::of)).unwrap_or_default()
    }

    /// Message `key`, its `{ $name }`s filled from `args`.
    pub fn text(self, key: &str, args: &[(&'static str, &str)]) -> String {
        let id = self.id();
        if args.is_empty() {
            return LOCALES.lookup(&id, key);
        }
        let args: HashMap<Cow<'static, str>, FluentValue> =
            args.iter().map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.to_string()))).collect();
        LOCALES.lookup_with_args(&id, key, &args)
    }

    /// Message `key` without arguments (for the templates, which call it by name).
    pub fn t(&self, key: &str) -> String {
        self.text(key, &[])
    }

    /// Its identifier for the loader, built at compile time (no tag is parsed per message).
    fn id(self) -> LanguageIdentifier {
        match self {
            Language::English => langid!("en"),
            Language::German => langid!("de"),
        }
    }
}

/// How one invitation's emails and page look to its reader: the language chosen for it and its tenant's branding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    pub language: Language,
    pub branding: Branding,
}

impl Look {
    /// The look of an invitation with `locale` from a tenant with `settings` (`None`: it never saved any).
    pub fn of(locale: Option<&str>, settings: Option<&UserSettings>) -> Self {
        Self {
            language: Language::choose(locale, settings.and_then(|s| s.default_locale.as_deref())),
            branding: settings.map(|s| s.branding.clone()).unwrap_or_default(),
        }
    }
}

/// `raw` as a language tag to keep (`Locale` on an invitation): well-formed and short, in its canonical case
/// (`de-AT`). Whether rsvp speaks it is decided when it is used ([`Language::choose`]), so it is kept as given.
pub fn parse_tag(raw: &str, field: &'static str) -> Result<String, LocaleError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_TAG_CHARS {
        return Err(LocaleError::NotATag { field });
    }
    let id: LanguageIdentifier = raw.parse().map_err(|_| LocaleError::NotATag { field })?;
    Ok(id.to_string())
}

/// `raw` as a tenant's `DefaultLocale`: a language rsvp speaks, kept as its tag (`de`).
pub fn parse_spoken(raw: &str, field: &'static str) -> Result<Language, LocaleError> {
    let tag = parse_tag(raw, field)?;
    Language::of(&tag).ok_or(LocaleError::NotSpoken { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message key of one language's file.
    fn keys(ftl: &str) -> Vec<&str> {
        let mut keys: Vec<&str> = ftl
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Every language's file has exactly English's keys, and `locales/` holds a folder for each language and
    /// nothing else: a language added on one side only fails here.
    #[test]
    fn every_language_has_every_message() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let mut folders: Vec<String> = std::fs::read_dir(&root)
            .expect("the locales folder")
            .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort_unstable();
        let mut tags = Language::TAGS.map(str::to_owned).to_vec();
        tags.sort_unstable();
        assert_eq!(folders, tags, "one folder per Language, named by its tag");
        let file = |tag: &str| std::fs::read_to_string(root.join(tag).join("main.ftl")).expect("main.ftl");
        let english_file = file("en");
        let english = keys(&english_file);
        assert!(english.len() > 50, "{english:?}");
        for language in Language::ALL {
            assert_eq!(Language::of(language.tag()), Some(language));
            assert_eq!(language.id().to_string(), language.tag(), "the loader's identifier is the tag");
            let text = file(language.tag());
            assert_eq!(keys(&text), english, "{} must hold exactly the English keys", language.tag());
        }
        // Every argument any message takes, so that each renders whole.
        let names = ["address", "by", "community", "domain", "expires", "id", "invitee", "inviter", "issuer"];
        let more = ["name", "sender", "support", "tenant", "who"];
        let args: Vec<(&'static str, &str)> = names.into_iter().chain(more).map(|n| (n, "ARG")).collect();
        for key in english {
            for language in Language::ALL {
                let text = language.text(key, &args);
                assert!(!text.is_empty() && !text.contains('{') && !text.contains("Unknown"), "{key}: {text}");
            }
        }
    }

    #[test]
    fn arguments_fill_the_message_without_isolation_marks() {
        let args = [("inviter", "mia@acme.example"), ("community", "Acme")];
        assert_eq!(Language::English.text("subject-invitation", &args), "mia@acme.example invites you to join Acme");
        assert_eq!(Language::German.text("subject-invitation", &args), "mia@acme.example lädt Sie zu Acme ein");
    }

    #[test]
    fn the_invitations_locale_wins_then_the_tenants_then_english() {
        assert_eq!(Language::choose(Some("de-AT"), None), Language::German);
        assert_eq!(Language::choose(Some("fr"), Some("de")), Language::German, "unknown: the tenant's default");
        assert_eq!(Language::choose(Some("fr"), None), Language::English);
        assert_eq!(Language::choose(Some("en"), Some("de")), Language::English);
        assert_eq!(Language::choose(None, None), Language::English);
    }

    #[test]
    fn tags_are_checked_for_shape_and_defaults_for_a_spoken_language() {
        assert_eq!(parse_tag(" de-at ", "Locale").unwrap(), "de-AT");
        assert_eq!(parse_tag("fr-CA", "Locale").unwrap(), "fr-CA", "kept though rsvp has no French");
        for bad in ["", "not a tag", "x", &"a".repeat(40), "123456", "en--x"] {
            assert_eq!(parse_tag(bad, "Locale"), Err(LocaleError::NotATag { field: "Locale" }), "{bad:?}");
        }
        assert_eq!(parse_spoken("de-CH", "DefaultLocale"), Ok(Language::German));
        assert_eq!(parse_spoken("fr", "DefaultLocale"), Err(LocaleError::NotSpoken { field: "DefaultLocale" }));
    }
}
