//! A minimal local identity provider, so that clients which fetch their own token by OAuth 2.0 client credentials
//! (AVEVA's ADH client library does) run unchanged against the local server.
//!
//! `rsvp-local client` registers a client in the data directory: who its tokens speak for (tenant, email, roles)
//! and the SHA-256 of its secret, never the secret itself. The server then answers
//! `GET /identity/.well-known/openid-configuration` (where the token endpoint is) and
//! `POST /identity/connect/token` (`grant_type=client_credentials`, `client_id`, `client_secret` in a form body),
//! minting its usual tokens ([`crate::token`]) for the client. In AWS none of this exists: the operator's OIDC
//! provider issues the tokens and API Gateway's JWT authorizer checks them.

use std::collections::HashMap;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, PRAGMA};
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::token::{SigningKey, TokenClaims};

/// The folder of the data directory that holds one file per registered client.
pub const CLIENTS_DIR: &str = "local-clients";
/// Where a client finds the token endpoint, under the server's URL (as ADH's client asks for it).
pub const DISCOVERY_PATH: &str = "/identity/.well-known/openid-configuration";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/identity/connect/token";
/// How long a token minted for a client is valid; clients ask again before it runs out.
pub const TOKEN_SECONDS: i64 = 3600;
/// The largest token request read: three short fields.
pub const MAX_FORM_BYTES: usize = 4 * 1024;
/// The longest value of any field of a token request.
const MAX_FIELD_CHARS: usize = 512;
/// A client file is a few hundred bytes; a bigger one is not read.
const MAX_CLIENT_FILE_BYTES: u64 = 16 * 1024;
const SECRET_BYTES: usize = 32;

/// A registered client as its file holds it: whom its tokens speak for, and its secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub tenant: String,
    pub email: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// base64url (unpadded) of the SHA-256 of the secret. The secret is 32 random bytes, so a fast hash is as good
    /// as a slow one: there is nothing to guess.
    secret_sha256: String,
}

/// A client just registered: its id and its secret, which only `rsvp-local client` ever prints.
pub struct Registered {
    pub id: String,
    pub secret: String,
}

/// Registers a client whose tokens carry `tenant`, `email` and `roles`, in `data_dir`'s clients folder (made
/// readable by its owner only). Its file is written whole under a temporary name and then renamed, so a reader never
/// sees half of it.
pub fn register(
    data_dir: &Path,
    tenant: &str,
    email: &str,
    roles: &[String],
    tenant_name: Option<String>,
) -> io::Result<Registered> {
    let dir = data_dir.join(CLIENTS_DIR);
    create_private_dir(&dir)?;
    let id = Uuid::new_v4().to_string();
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let client = Client {
        id: id.clone(),
        tenant: tenant.to_owned(),
        email: email.to_owned(),
        roles: roles.to_vec(),
        tenant_name,
        secret_sha256: hash(&secret),
    };
    let text = serde_json::to_vec_pretty(&client).map_err(io::Error::other)?;
    write_private(&dir.join(format!("{id}.json")), &text)?;
    Ok(Registered { id, secret })
}

/// The client `id` if `secret` is its secret, compared in constant time. An unknown or malformed id costs the same
/// hash and comparison as a known one, and gets the same `None`.
pub fn authenticate(data_dir: &Path, id: &str, secret: &str) -> io::Result<Option<Client>> {
    let presented = hash(secret);
    let client = match Uuid::try_parse(id) {
        // Only the canonical form names a file, so no id can reach outside the clients folder.
        Ok(uuid) if uuid.to_string() == id => read_client(&data_dir.join(CLIENTS_DIR).join(format!("{id}.json")))?,
        _ => None,
    };
    let stored = client.as_ref().map_or_else(|| hash(""), |c| c.secret_sha256.clone());
    let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
    Ok(client.filter(|_| matches))
}

/// `GET /identity/.well-known/openid-configuration`: where the token endpoint is, and what it supports.
pub fn discovery(base: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "issuer": format!("{base}/identity"),
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "response_types_supported": [],
    });
    answer(StatusCode::OK, &body)
}

/// `POST /identity/connect/token`: a token for a registered client (RFC 6749, section 4.4), or an OAuth error.
pub fn token(
    data_dir: &Path,
    key: &SigningKey,
    headers: &HeaderMap,
    body: &[u8],
    now_epoch_seconds: i64,
) -> Response<Full<Bytes>> {
    match issue(data_dir, key, headers, body, now_epoch_seconds) {
        Ok(token) => {
            let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS});
            answer(StatusCode::OK, &body)
        }
        Err(error) => {
            let (status, code) = error.status_and_code();
            tracing::info!(status = status.as_u16(), error = code, "token request refused");
            answer(status, &json!({"error": code, "error_description": error.description()}))
        }
    }
}

/// Why a token request was refused, as OAuth names it.
#[derive(Debug, PartialEq, Eq)]
enum TokenError {
    InvalidRequest(&'static str),
    UnsupportedGrantType,
    InvalidClient,
    /// The clients folder could not be read: the server's fault, not the client's.
    Unavailable,
}

impl TokenError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
            Self::Unavailable => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(why) => why,
            Self::UnsupportedGrantType => "Only grant_type=client_credentials is supported.",
            Self::InvalidClient => "The client is not registered, or the secret is not its secret.",
            Self::Unavailable => "The registered clients could not be read; see the server's log.",
        }
    }
}

fn issue(data_dir: &Path, key: &SigningKey, headers: &HeaderMap, body: &[u8], now: i64) -> Result<String, TokenError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(TokenError::InvalidRequest("Send the parameters as an application/x-www-form-urlencoded body."));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(TokenError::InvalidRequest("The request body is larger than 4 KiB."));
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(TokenError::InvalidRequest("A parameter is longer than 512 characters."));
        }
        // RFC 6749, section 3.2: a parameter must not be sent twice.
        if fields.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(TokenError::InvalidRequest("A parameter is repeated."));
        }
    }
    match fields.get("grant_type").map(String::as_str) {
        None | Some("") => return Err(TokenError::InvalidRequest("grant_type is required.")),
        Some("client_credentials") => {}
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }
    let (Some(id), Some(secret)) = (fields.get("client_id"), fields.get("client_secret")) else {
        return Err(TokenError::InvalidClient);
    };
    let client = authenticate(data_dir, id, secret)
        .map_err(|error| {
            tracing::error!(%error, "reading the registered clients failed");
            TokenError::Unavailable
        })?
        .ok_or(TokenError::InvalidClient)?;
    let roles: Vec<&str> = client.roles.iter().map(String::as_str).collect();
    let mut claims = TokenClaims::new(&client.tenant, &client.email, &roles);
    // The token speaks for the client, as a client-credentials token does; the email is whose it acts as.
    claims.sub = client.id.clone();
    claims.tenant_name = client.tenant_name.clone();
    claims.exp = now + TOKEN_SECONDS;
    Ok(key.mint(&claims))
}

/// A JSON answer that no cache keeps (RFC 6749, section 5.1).
fn answer(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(rsvp::http::response::JSON));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn hash(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

fn read_client(file: &Path) -> io::Result<Option<Client>> {
    let mut bytes = Vec::new();
    match std::fs::File::open(file) {
        Ok(f) => f.take(MAX_CLIENT_FILE_BYTES + 1).read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if bytes.len() as u64 > MAX_CLIENT_FILE_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is too large", file.display())));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", file.display())))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `file` (mode 0600) through a temporary file in the same folder and a rename.
fn write_private(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp: PathBuf = file.with_extension(format!("tmp-{}", Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut out = options.open(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        std::fs::rename(&tmp, file)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("rsvp-local-identity-{}", Uuid::new_v4()))
    }

    fn form(body: &str) -> (HeaderMap, Vec<u8>) {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        (headers, body.as_bytes().to_vec())
    }

    fn ask(dir: &Path, key: &SigningKey, body: &str) -> (StatusCode, serde_json::Value, HeaderMap) {
        let (headers, body) = form(body);
        let response = token(dir, key, &headers, &body, NOW);
        let (parts, body) = response.into_parts();
        let bytes = futures_body(body);
        (parts.status, serde_json::from_slice(&bytes).unwrap(), parts.headers)
    }

    fn futures_body(body: Full<Bytes>) -> Bytes {
        use http_body_util::BodyExt as _;
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(body.collect()).unwrap().to_bytes()
    }

    fn registered(dir: &Path) -> Registered {
        let roles = vec!["TenantAdministrator".to_owned()];
        register(dir, "acme", "ada@acme.example", &roles, Some("Acme".into())).unwrap()
    }

    #[test]
    fn a_registered_client_gets_a_token_for_whom_it_speaks() {
        let dir = dir();
        let key = SigningKey::generate();
        let client = registered(&dir);
        let body = format!("grant_type=client_credentials&client_id={}&client_secret={}", client.id, client.secret);
        let (status, answer, headers) = ask(&dir, &key, &body);
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!((answer["token_type"].clone(), answer["expires_in"].clone()), (json!("Bearer"), json!(3600)));
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let claims = key.verify(answer["access_token"].as_str().unwrap(), NOW).unwrap();
        assert_eq!((claims.tenant_id.as_str(), claims.email.as_deref()), ("acme", Some("ada@acme.example")));
        assert_eq!((claims.sub.as_str(), claims.exp), (client.id.as_str(), NOW + TOKEN_SECONDS));
        assert_eq!(claims.roles, vec!["TenantAdministrator".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_secret_is_kept_only_hashed_in_a_private_file() {
        let dir = dir();
        let client = registered(&dir);
        let file = dir.join(CLIENTS_DIR).join(format!("{}.json", client.id));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&client.secret), "{text}");
        assert!(text.contains(&hash(&client.secret)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(dir.join(CLIENTS_DIR)).unwrap().permissions().mode() & 0o777, 0o700);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.join(CLIENTS_DIR)).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_requests_get_the_oauth_error_that_names_them() {
        let dir = dir();
        let key = SigningKey::generate();
        let client = registered(&dir);
        let ok = format!("client_id={}&client_secret={}", client.id, client.secret);
        for (body, status, code) in [
            (
                format!("grant_type=client_credentials&client_id={}&client_secret=wrong", client.id),
                401,
                "invalid_client",
            ),
            (
                format!("grant_type=client_credentials&client_id={}&client_secret={}", Uuid::new_v4(), client.secret),
                401,
                "invalid_client",
            ),
            (
                format!("grant_type=client_credentials&client_id=../../etc/passwd&client_secret={}", client.secret),
                401,
                "invalid_client",
            ),
            ("grant_type=client_credentials".to_owned(), 401, "invalid_client"),
            (format!("grant_type=password&{ok}"), 400, "unsupported_grant_type"),
            (ok.clone(), 400, "invalid_request"),
            (format!("grant_type=client_credentials&grant_type=client_credentials&{ok}"), 400, "invalid_request"),
            (format!("grant_type=client_credentials&{ok}&scope={}", "s".repeat(600)), 400, "invalid_request"),
            (format!("grant_type=client_credentials&{ok}&pad={}", "p".repeat(MAX_FORM_BYTES)), 400, "invalid_request"),
        ] {
            let (got, answer, _) = ask(&dir, &key, &body);
            assert_eq!((got.as_u16(), answer["error"].as_str()), (status, Some(code)), "{body:.80}");
            assert!(answer.get("access_token").is_none());
            assert!(!answer.to_string().contains(&client.secret));
        }
        let json_body = token(&dir, &key, &HeaderMap::new(), ok.as_bytes(), NOW);
        assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discovery_names_the_token_endpoint() {
        let response = discovery("http://127.0.0.1:3000");
        let body: serde_json::Value = serde_json::from_slice(&futures_body(response.into_body())).unwrap();
        assert_eq!(body["token_endpoint"], "http://127.0.0.1:3000/identity/connect/token");
        assert_eq!(body["grant_types_supported"], json!(["client_credentials"]));
    }
}
