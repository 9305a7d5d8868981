//! The HTTP edge: API Gateway request in, response out. Parsing with limits ([`request`]), where tokens travel
//! and how verified claims look ([`token`]), response builders ([`response`]), the public invitation pages' HTML
//! ([`page`]), the portal routes' ArcGIS conventions ([`arcgis`]), and [`ApiError`], the one error type of this
//! layer, mapped to the wire in one place per dialect ([`ApiError::into_response`] for the API,
//! [`ApiError::into_page`] for the pages, [`ApiError::into_arcgis`] for the portal routes).

pub mod arcgis;
mod error;
pub mod page;
pub mod request;
pub mod response;
pub mod token;

pub use error::{ApiError, ErrorResponse, invalid_email};

/// What every operation returns: its response, or the [`ApiError`] that this module maps to the wire in one place.
pub type Answer = Result<lambda_http::Response<lambda_http::Body>, ApiError>;

/// `text` fit for a log line: every word with an `@` (an address) becomes `<email>`, and every long run of
/// token characters (a bearer token, an invitation secret or code, a key) becomes `<redacted>`. Log lines carry
/// failures' causes, which come from other services and could quote what they were sent.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let tokenish = word.len() >= 24
            && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=+/".contains(c))
            && word.chars().any(|c| c.is_ascii_digit());
        if word.contains('@') {
            out.push_str("<email>");
        } else if tokenish {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || "\"'`,;:()[]{}<>".contains(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_and_secrets_are_masked_and_the_rest_kept() {
        let text = "sending to bob@guest.example failed: token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc123 (HTTP 503)";
        assert_eq!(super::redact(text), "sending to <email> failed: <redacted> (HTTP 503)");
        assert_eq!(super::redact("store unavailable: dispatch failure"), "store unavailable: dispatch failure");
        let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6.Hq4T-8vLmZ2pXc7Wn_Rb3kYs9DfJ1gAe6UoNi0tKw5E";
        assert_eq!(super::redact(&format!("code \"{id}\"")), "code \"<redacted>\"");
    }
}
