//! The landing page in a real browser: Debian's `chromium`, headless, driven through `playwright-core` by the
//! scripts of `tests/browser/`.
//!
//! The browser tests need two things `scripts/test` installs and names: `RSVP_TEST_CHROMIUM` (the browser) and
//! `RSVP_TEST_NODE_MODULES` (a node_modules holding playwright-core). Without them they fail and say so; they never
//! skip. They leave screenshots of the pages, on a phone-sized screen, in `target/tmp/landing-page/` (replaced on
//! every run; each test prints the path).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rsvp_tests::harness::communities::{BASE, token_of};
use rsvp_tests::harness::{GUEST, OWNER};
use rsvp_tests::{Answer, eml};
use serde_json::{Value, json};

use super::{SIGN_IN, invitation, missing_invitation_page, spawn, state};

/// The longest the browser gets to open the page and decline.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the browser test finds its tools, or a failure that says how to get them.
fn browser_tools() -> (String, String) {
    let named = |variable: &str| {
        let value = std::env::var(variable).unwrap_or_else(|_| {
            panic!(
                "{variable} is not set: the landing page's browser test needs Debian's chromium and playwright-core. \
                 Run it with `scripts/test` (e.g. `scripts/test -p rsvp-tests --test api -- landing_page`), which installs \
                 both and sets RSVP_TEST_CHROMIUM and RSVP_TEST_NODE_MODULES."
            )
        });
        assert!(Path::new(&value).exists(), "{variable}={value} does not exist; run `scripts/test` to install it");
        value
    };
    let chromium = named("RSVP_TEST_CHROMIUM");
    let modules = named("RSVP_TEST_NODE_MODULES");
    assert!(
        Path::new(&modules).join("playwright-core").join("package.json").exists(),
        "RSVP_TEST_NODE_MODULES={modules} holds no playwright-core; run `scripts/test` to install it"
    );
    (chromium, modules)
}

/// Cargo's scratch directory for integration tests, where the browser tests keep their screenshots (each test's
/// own names, replaced on every run).
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("landing-page");
    std::fs::create_dir_all(&dir).expect("a directory for the screenshots");
    dir
}

/// Runs `tests/browser/<script>` in node with `args`, in chromium; what it reported.
async fn browse(script: &str, args: &[String]) -> Value {
    let (chromium, modules) = browser_tools();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser").join(script);
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .args(args)
        .env("RSVP_TEST_CHROMIUM", &chromium)
        .env("RSVP_TEST_NODE_MODULES", &modules)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BROWSER_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("the browser did not finish within {BROWSER_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("could not run node (Node.js 20+ is needed): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser script failed ({}):\n{stderr}\n{stdout}", output.status);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_recipient_opens_the_link_and_declines() {
    let app = spawn().await;
    let (community, id, answered) = invitation(&app, "Shared Operations & Partners").await;
    // The recipient follows the link in the email the local mailer wrote, as a person trying rsvp would.
    let email = app.outbox_messages(1).await.remove(0);
    assert_eq!(eml::header(&email, "To"), GUEST.1);
    let link = eml::link(&email, &format!("{}/invite/{id}?token=", app.url));
    assert_eq!(link, answered, "the email carries the link the create answer showed");
    let screenshots = screenshot_dir();
    let seen = browse("decline.cjs", &[link.clone(), screenshots.display().to_string()]).await;
    eprintln!("browser {}; screenshots in {}", seen["browser"], screenshots.display());

    let before = &seen["before"];
    assert_eq!(before["status"], 200, "{seen}");
    assert_eq!(before["title"], "Invitation to Shared Operations & Partners");
    assert_eq!(before["heading"], "Shared Operations & Partners");
    assert_eq!(before["state"], "Waiting for an answer", "human words, not the API's state name");
    assert_eq!(before["forms"], 1);
    assert_eq!(before["scripts"], 0);
    let accept = format!("{SIGN_IN}?invitation={id}&token={}", token_of(&link));
    assert_eq!(before["acceptHref"], accept.as_str());
    assert_eq!(before["styled"], true, "the stylesheet applied under the page's policy");
    assert_eq!(before["fitsWidth"], true, "no sideways scrolling on a phone");

    let after = &seen["after"];
    assert_eq!(after["status"], 200, "{seen}");
    assert_eq!(after["url"], format!("{}/invite/{id}", app.url), "the form posted to the page's own path");
    assert_eq!(after["state"], "Declined");
    assert!(after["text"].as_str().unwrap_or_default().contains("You declined this invitation."), "{seen}");
    assert_eq!(after["forms"], 0);
    assert_eq!(after["styled"], true);
    assert_eq!(after["fitsWidth"], true);
    // A policy violation (a refused stylesheet, say) shows up as a console error.
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    for shot in ["invitation.png", "declined.png"] {
        let size = std::fs::metadata(screenshots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1_000, "{shot} was taken");
    }

    // The API agrees, and the link is used up.
    assert_eq!(state(&app, &community, &id).await, "InvitationDeclined");
    let not_found = missing_invitation_page(&app, token_of(&link)).await;
    app.page(&link).await.assert_not_found_page(&not_found);
}

/// The owner tenant's branding and default language, as its administrator saves them.
const LOGO_ORIGIN: &str = "https://cdn.acme.test";

fn branded_settings() -> Value {
    json!({
        "DefaultLocale": "de",
        "Branding": {
            "SenderName": "Acme Einladungen",
            "ProductName": "Acme Cloud",
            "LogoUrl": format!("{LOGO_ORIGIN}/logo.png"),
            "AccentColor": "#0A7D5A",
            "SupportEmail": "help@acme.test",
            "FooterText": "Acme GmbH, Berlin"
        }
    })
}

/// In chromium, each invitation's page speaks its language — its own `Locale` (`en-GB`: English), else the
/// tenant's `DefaultLocale` (German) for none or one rsvp has no words for (`fr`) — and wears the tenant's
/// branding: the logo loads under the page's policy (from the one origin it allows), the main button takes the
/// accent colour, the product, support address and footer show, and the policy refuses nothing. The emails say
/// the same in both parts, from the tenant's sender name. Screenshots: `target/tmp/landing-page/branded-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_page_speaks_the_invitations_language_and_wears_the_tenants_branding() {
    let app = spawn().await;
    let owner = app.admin(OWNER);
    let saved = app.put_user_settings(OWNER, branded_settings()).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let Answer { status, body: community, .. } = app
        .call(Method::POST, &format!("{BASE}/communities"), Some(&owner), Some(json!({"Name": "Betrieb & Partner"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{community}");
    let path = format!("{BASE}/communities/{}/invitations", community["Id"].as_str().expect("an id"));
    let mut links = Vec::new();
    for (name, to, locale) in [
        ("de", "bob@guest.example", None),
        ("en", "ann@guest.example", Some("en-GB")),
        ("fr", "zoe@guest.example", Some("fr")),
    ] {
        let mut body = json!({"InvitationRecipient": to});
        if let Some(locale) = locale {
            body["Locale"] = json!(locale);
        }
        let Answer { status, body: created, .. } = app.call(Method::POST, &path, Some(&owner), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["Locale"], locale.map_or(Value::Null, |l| json!(l)), "kept as given: {created}");
        links.push((name, to, created["InvitationUrl"].as_str().expect("the link").to_owned()));
    }

    let screenshots = screenshot_dir();
    let mut args = vec![screenshots.display().to_string(), LOGO_ORIGIN.to_owned()];
    args.extend(links.iter().map(|(name, _, link)| format!("{name}={link}")));
    let seen = browse("branded.cjs", &args).await;
    eprintln!("browser {}; screenshots in {}", seen["browser"], screenshots.display());
    let pages = &seen["pages"];
    for (name, lang, state, decline) in [
        ("de", "de", "Wartet auf Antwort", "Einladung ablehnen"),
        ("en", "en", "Waiting for an answer", "Decline invitation"),
        ("fr", "de", "Wartet auf Antwort", "Einladung ablehnen"),
    ] {
        let page = &pages[name];
        assert_eq!(page["status"], 200, "{name}: {seen}");
        assert_eq!(page["lang"], lang, "{name}: {seen}");
        assert_eq!(page["state"], state, "{name}: {seen}");
        assert_eq!(page["buttons"], json!([decline]), "{name}: {seen}");
        assert_eq!(page["logoSrc"], format!("{LOGO_ORIGIN}/logo.png"), "{name}: {seen}");
        assert_eq!(page["logoLoaded"], true, "{name}: the policy let the logo load: {seen}");
        assert_eq!(page["product"], "Acme Cloud", "{name}: {seen}");
        assert_eq!(page["accent"], "rgb(10, 125, 90)", "{name}: the accent colour applied under the policy: {seen}");
        let footer = page["footer"].as_str().unwrap_or_default();
        assert!(footer.contains("help@acme.test") && footer.contains("Acme GmbH, Berlin"), "{name}: {seen}");
        assert_eq!(page["scripts"], 0, "{name}");
        assert_eq!(page["fitsWidth"], true, "{name}: {seen}");
        let size = std::fs::metadata(screenshots.join(format!("branded-{name}.png"))).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1_000, "branded-{name}.png was taken");
    }
    let german = pages["de"]["text"].as_str().unwrap_or_default();
    assert!(german.contains("lädt Ihre Organisation ein, der Community Betrieb & Partner beizutreten"), "{german}");
    assert_eq!(seen["logoRequests"].as_array().map(Vec::len), Some(3), "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "the policy refused nothing: {seen}");

    // The emails speak the same language as their pages, in both parts, from the tenant's sender name.
    let emails = app.outbox_messages(3).await;
    for (name, to, link) in &links {
        let email = emails.iter().find(|e| eml::header(e, "To") == *to).expect("an email to each");
        assert_eq!(eml::decoded_header(email, "From"), "Acme Einladungen <rsvp@localhost>", "{name}");
        let (text, html) = (eml::text_part(email), eml::html_part(email));
        let (hello, subject) = match *name {
            "en" => ("Hello,", "admin@owner.example invites you to join Betrieb & Partner"),
            _ => ("Guten Tag,", "admin@owner.example lädt Sie zu Betrieb & Partner ein"),
        };
        assert_eq!(eml::decoded_header(email, "Subject"), subject, "{name}");
        assert!(text.contains(hello) && text.contains(link.as_str()), "{name}: {text}");
        assert!(text.contains("-- \nAcme Cloud\nAcme GmbH, Berlin"), "{name}: {text}");
        assert!(text.contains("help@acme.test"), "{name}: {text}");
        assert!(html.contains(&format!("<html lang=\"{}\">", if *name == "en" { "en" } else { "de" })), "{html}");
        assert!(html.contains(hello) && html.contains("Betrieb &#38; Partner") && html.contains("color: #0a7d5a"));
        assert!(html.contains(&format!("<img src=\"{LOGO_ORIGIN}/logo.png\"")), "{name}: {html}");
    }
}
