//! The landing page (`/invite/{invitationId}?token=<secret>`): what every page it answers must be.

use reqwest::{Method, StatusCode};

use super::{Answer, TestApp};

impl TestApp {
    /// The page at `url` (a link, or a path on this server), as a browser asks for it.
    pub async fn page(&self, url: &str) -> Answer {
        self.send(self.request(Method::GET, url)).await
    }

    /// A POST of `body` as `content_type` to `path`, as a page's form (or something else) sends it.
    pub async fn post_page(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Answer {
        self.send(self.request(Method::POST, path).header("content-type", content_type).body(body)).await
    }
}

impl Answer {
    /// The value of header `name`; fails the test when there is none.
    pub fn expect_header(&self, name: &str) -> &str {
        self.header(name).unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Every page, whatever its status, is HTML that no cache keeps, no referrer leaks, no frame shows, and in which
    /// no script runs.
    pub fn assert_secure_page(&self) {
        assert_eq!(self.expect_header("content-type"), "text/html; charset=utf-8");
        assert_eq!(self.expect_header("cache-control"), "no-store");
        assert_eq!(self.expect_header("referrer-policy"), "no-referrer");
        assert_eq!(self.expect_header("x-content-type-options"), "nosniff");
        assert_eq!(self.expect_header("x-frame-options"), "DENY");
        let policy = self.expect_header("content-security-policy");
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"), "{policy}");
        assert!(!policy.contains("script-src") && !policy.contains("unsafe-"), "{policy}");
        assert!(self.text.starts_with("<!doctype html>"), "{}", self.text);
        assert!(!self.text.contains("<script"), "{}", self.text);
    }

    /// A dead link's page: a 404, byte for byte `not_found` (the page of an invitation that does not exist).
    pub fn assert_not_found_page(&self, not_found: &Answer) {
        assert_eq!(self.status, StatusCode::NOT_FOUND, "{}", self.text);
        assert_eq!(self.text, not_found.text, "every dead link gets the same page, byte for byte");
        self.assert_secure_page();
    }
}
