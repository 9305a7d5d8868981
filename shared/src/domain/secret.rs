use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An invitation's acceptance secret: 32 random bytes, shown once (base64url) and never stored.
///
/// It deliberately has no `Debug` or `Display` that reveals it, so it cannot slip into a log line.
pub struct Secret(String);

impl Secret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The OS random source failing is not something a request can recover from; without it no secret is safe.
        getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a secret that a caller presented. Oversized input is cut, so hashing it costs a bounded amount.
    pub fn presented(value: &str) -> Self {
        Self(value.chars().take(128).collect())
    }

    /// Text that carries a secret and comes from rsvp itself, kept whole: what a seal opens to, or a create answer
    /// kept (sealed) for an idempotent replay. What a caller presents goes through [`Secret::presented`].
    pub fn carrying(text: String) -> Self {
        Self(text)
    }

    /// The text to hand to the invitee (link, create answer). Call only where the secret must leave the service.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The SHA-256 of a secret, which is all the store keeps.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(String);

impl SecretHash {
    /// Whether `secret` is the one this hash was made from, in time that does not depend on where they differ.
    pub fn verifies(&self, secret: &Secret) -> bool {
        self.0.as_bytes().ct_eq(secret.hash().0.as_bytes()).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_32_random_bytes_in_base64url() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn the_hash_verifies_only_its_own_secret() {
        let secret = Secret::generate();
        let hash = secret.hash();
        assert!(hash.verifies(&Secret::presented(secret.expose())));
        assert!(!hash.verifies(&Secret::generate()));
        assert!(!hash.verifies(&Secret::presented("")));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = Secret::generate();
        assert!(!format!("{secret:?} {:?}", secret.hash()).contains(secret.expose()));
    }
}
