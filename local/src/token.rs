//! Bearer tokens for the local server: compact HS256 JWTs signed with a key that never leaves the data directory.
//!
//! In AWS, API Gateway's JWT authorizer verifies the identity provider's tokens and hands the handlers only the
//! claims. Locally there is no identity provider, so this module mints tokens and checks them, and
//! [`flatten_claims`] turns the claims into the strings API Gateway would have passed on.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

/// The file in the data directory that holds the signing key.
pub const KEY_FILE: &str = "local-signing.key";
/// The `iss` of every token minted here; a token naming another issuer is refused.
pub const ISSUER: &str = "rsvp-local";
pub use rsvp::http::token::{MAX_TOKEN_BYTES, flatten_claims};
const KEY_BYTES: usize = 32;
/// The only header minted, and the only algorithm accepted: `alg: none` and friends never verify.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const DAY_SECONDS: i64 = 24 * 60 * 60;

/// The HMAC-SHA256 key that signs and verifies tokens. Its bytes are never printed: `Debug` hides them.
#[derive(Clone)]
pub struct SigningKey {
    mac: Hmac<Sha256>,
}

/// What a token says about its bearer, named as rsvp's default [`rsvp::app::ClaimNames`] expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub tenant_id: String,
    /// Whether the identity provider checked that `email` is the bearer's: only then does rsvp count the address
    /// as the caller's (an invitation sent to it may be accepted as its recipient).
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
}

/// The signed payload: the claims plus the registered claims only minting and verifying care about.
#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    claims: TokenClaims,
    iss: String,
    iat: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

impl TokenClaims {
    /// Claims for `email` in `tenant_id` with `roles`, valid for 24 hours; the subject is the email address.
    pub fn new(tenant_id: &str, email: &str, roles: &[&str]) -> Self {
        Self {
            sub: email.to_owned(),
            email: Some(email.to_owned()),
            tenant_id: tenant_id.to_owned(),
            email_verified: true,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            tenant_name: None,
            exp: now_epoch_seconds() + DAY_SECONDS,
        }
    }
}

impl SigningKey {
    /// A fresh random key, for tests and for a data directory's first use.
    pub fn generate() -> Self {
        // Without the OS random source no key is safe, and nothing could recover: stopping is the only answer.
        let bytes = random_key().expect("the operating system's random source is unavailable");
        Self::from_bytes(&bytes)
    }

    /// The key kept in `dir`, made (readable by its owner only) on first use, so that tokens minted by
    /// `rsvp-local token` stay valid across server restarts.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = dir.join(KEY_FILE);
        match read_key(&file) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => match create_key(&file) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key(&file),
                created => created,
            },
            read => read,
        }
    }

    /// A signed compact JWT carrying `claims`, issued now.
    pub fn mint(&self, claims: &TokenClaims) -> String {
        let payload = Payload { claims: claims.clone(), iss: ISSUER.to_owned(), iat: now_epoch_seconds() };
        // Serialising plain strings and numbers cannot fail; an empty payload would only fail verification.
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
        let signature = self.keyed(&signing_input).finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of `token` if this key signed it, it is HS256, names this issuer and has not expired at
    /// `now_epoch_seconds`; otherwise `None`, without saying why (the caller answers 401 either way).
    pub fn verify(&self, token: &str, now_epoch_seconds: i64) -> Option<TokenClaims> {
        self.verify_payload(token, now_epoch_seconds).map(|(claims, _)| claims)
    }

    /// Like [`SigningKey::verify`], and also every claim of the token as API Gateway's JWT authorizer passes
    /// them to a function: see [`flatten_claims`].
    pub fn authorizer_claims(&self, token: &str, now_epoch_seconds: i64) -> Option<BTreeMap<String, String>> {
        self.verify_payload(token, now_epoch_seconds).map(|(_, all)| flatten_claims(&all))
    }

    fn verify_payload(&self, token: &str, now: i64) -> Option<(TokenClaims, Map<String, Value>)> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // The MAC is checked before anything in the token is parsed, and in constant time.
        self.keyed(&token[..header.len() + 1 + payload.len()]).verify_slice(&signature).ok()?;
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.alg != "HS256" {
            return None;
        }
        let all: Map<String, Value> = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let checked: Payload = serde_json::from_value(Value::Object(all.clone())).ok()?;
        (checked.iss == ISSUER && checked.claims.exp > now).then_some((checked.claims, all))
    }

    fn from_bytes(bytes: &[u8; KEY_BYTES]) -> Self {
        // HMAC takes a key of any length, so this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(bytes).expect("HMAC accepts keys of any length");
        Self { mac }
    }

    fn keyed(&self, signing_input: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The current time in seconds since the Unix epoch, as `exp` and `iat` count it.
pub fn now_epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn random_key() -> io::Result<[u8; KEY_BYTES]> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes)
}

fn read_key(file: &Path) -> io::Result<SigningKey> {
    let mut bytes = Vec::with_capacity(KEY_BYTES);
    std::fs::File::open(file)?.take(KEY_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a {KEY_BYTES}-byte signing key; delete it to make a new one", file.display()),
        )
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Writes a new key to `file`, failing with `AlreadyExists` if another process made one first.
fn create_key(file: &Path) -> io::Result<SigningKey> {
    let bytes = random_key()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    out.write_all(&bytes)?;
    out.sync_all()?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn claims() -> TokenClaims {
        let mut claims = TokenClaims::new("acme", "ada@example.com", &["TenantAdministrator", "TenantMember"]);
        claims.tenant_name = Some("Acme".into());
        claims.exp = NOW + 60;
        claims
    }

    fn encode_json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    #[test]
    fn minted_tokens_verify_to_the_same_claims() {
        let key = SigningKey::generate();
        let claims = claims();
        let token = key.mint(&claims);
        assert!(token.starts_with(&format!("{}.", URL_SAFE_NO_PAD.encode(HEADER))));
        assert_eq!(key.verify(&token, NOW), Some(claims));
    }

    #[test]
    fn new_claims_default_the_subject_to_the_email_and_last_a_day() {
        let claims = TokenClaims::new("acme", "ada@example.com", &["TenantMember"]);
        assert_eq!(claims.sub, "ada@example.com");
        assert_eq!(claims.roles, vec!["TenantMember".to_owned()]);
        assert!((claims.exp - now_epoch_seconds() - DAY_SECONDS).abs() <= 5);
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let key = SigningKey::generate();
        let token = key.mint(&claims());
        let [header, _, signature] = token.split('.').collect::<Vec<_>>()[..] else { panic!("not a JWT") };
        let mut forged = serde_json::to_value(claims()).unwrap();
        forged["tenant_id"] = "other".into();
        forged["iss"] = ISSUER.into();
        forged["iat"] = NOW.into();
        assert_eq!(key.verify(&format!("{header}.{}.{signature}", encode_json(&forged)), NOW), None);
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.verify(&String::from_utf8(flipped).unwrap(), NOW), None);
        assert_eq!(key.verify(&format!("{token}.x"), NOW), None);
        assert_eq!(key.verify("not a token", NOW), None);
    }

    #[test]
    fn tokens_of_another_key_are_refused() {
        let token = SigningKey::generate().mint(&claims());
        assert_eq!(SigningKey::generate().verify(&token, NOW), None);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let key = SigningKey::generate();
        let token = key.mint(&claims());
        assert!(key.verify(&token, NOW + 59).is_some());
        assert_eq!(key.verify(&token, NOW + 60), None);
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let key = SigningKey::generate();
        let none = encode_json(&serde_json::json!({"alg": "none", "typ": "JWT"}));
        let mut payload = serde_json::to_value(claims()).unwrap();
        payload["iss"] = ISSUER.into();
        payload["iat"] = NOW.into();
        let payload = encode_json(&payload);
        assert_eq!(key.verify(&format!("{none}.{payload}."), NOW), None);
        let signed = key.mint(&claims());
        let signature = signed.rsplit('.').next().unwrap();
        assert_eq!(key.verify(&format!("{none}.{payload}.{signature}"), NOW), None);
    }

    #[test]
    fn oversized_tokens_are_refused() {
        let key = SigningKey::generate();
        let mut big = claims();
        big.tenant_name = Some("x".repeat(MAX_TOKEN_BYTES));
        let token = key.mint(&big);
        assert!(token.len() > MAX_TOKEN_BYTES);
        assert_eq!(key.verify(&token, NOW), None);
    }

    #[test]
    fn authorizer_claims_carry_every_claim_of_the_token() {
        let key = SigningKey::generate();
        let flat = key.authorizer_claims(&key.mint(&claims()), NOW).unwrap();
        assert_eq!(flat["roles"], "[TenantAdministrator TenantMember]");
        assert_eq!(flat["iss"], ISSUER);
        assert_eq!(flat["tenant_id"], "acme");
        assert_eq!(flat["exp"], (NOW + 60).to_string());
        assert!(flat.contains_key("iat"));
    }

    #[test]
    fn the_key_file_is_made_once_private_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("rsvp-local-key-{}", uuid::Uuid::new_v4()));
        let first = SigningKey::load_or_create(&dir).unwrap();
        let again = SigningKey::load_or_create(&dir).unwrap();
        let token = first.mint(&claims());
        assert!(again.verify(&token, NOW).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{first:?}"), "SigningKey(..)");
        std::fs::write(dir.join(KEY_FILE), b"short").unwrap();
        assert_eq!(SigningKey::load_or_create(&dir).unwrap_err().kind(), io::ErrorKind::InvalidData);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
