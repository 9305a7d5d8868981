//! Sealing the link secret for the outbox.
//!
//! The store keeps only a secret's SHA-256 hash, but the email sent after the change has to carry the secret
//! itself. So the operation seals it with a key the table never holds, and stores only the sealed value; the
//! consumer unseals it to render the link, and the write that records the email as sent removes it. Whoever can
//! read the table or its stream, but cannot use the key, learns nothing. The invitation id is bound into every
//! seal (KMS encryption context, AES-GCM associated data), so a sealed value moved to another invitation does not
//! open.
//!
//! - [`KmsSealer`]: AWS KMS `Encrypt` / `Decrypt` with a symmetric key (in Lambda).
//! - [`AesSealer`]: AES-256-GCM with a key file (the local server), or a key that lives only in memory.

use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::domain::{InvitationId, Secret};

/// Why sealing or unsealing failed. The message names the cause, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// KMS could not be reached, or the sealed value does not open: worth a retry, or a bug.
    #[error("{0}")]
    Failed(String),
    /// The key is missing, disabled or refused to this function ([`crate::fault`]): no retry helps.
    #[error("{0}")]
    Misconfigured(String),
}

impl From<crate::fault::Failure> for SealError {
    fn from(failure: crate::fault::Failure) -> Self {
        match failure {
            crate::fault::Failure::Misconfigured(message) => Self::Misconfigured(message),
            crate::fault::Failure::Outage(message) => Self::Failed(message),
        }
    }
}

#[async_trait]
pub trait Sealer: Send + Sync {
    /// `secret`, sealed for invitation `id`, as text that may be stored.
    async fn seal(&self, id: InvitationId, secret: &Secret) -> Result<String, SealError>;
    /// The secret sealed for `id`; fails if it was sealed with another key or for another invitation.
    async fn unseal(&self, id: InvitationId, sealed: &str) -> Result<Secret, SealError>;
}

/// The KMS encryption context key; `kms:EncryptionContext:invitation` in key policies.
const CONTEXT_KEY: &str = "invitation";

/// Seals with a symmetric KMS key. Encrypt is called by the operations that issue secrets, Decrypt by the consumer.
pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsSealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self { client, key_id: key_id.into() }
    }
}

#[async_trait]
impl Sealer for KmsSealer {
    async fn seal(&self, id: InvitationId, secret: &Secret) -> Result<String, SealError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(secret.expose().as_bytes()))
            .encryption_context(CONTEXT_KEY, id.to_string())
            .send()
            .await
            .map_err(|e| crate::fault::failure("KMS Encrypt", &e))?;
        let blob = out.ciphertext_blob.ok_or_else(|| SealError::Failed("KMS Encrypt returned no ciphertext".into()))?;
        Ok(STANDARD.encode(blob.as_ref()))
    }

    async fn unseal(&self, id: InvitationId, sealed: &str) -> Result<Secret, SealError> {
        let blob = STANDARD.decode(sealed).map_err(|_| SealError::Failed("the sealed secret is not base64".into()))?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, id.to_string())
            .send()
            .await
            .map_err(|e| crate::fault::failure("KMS Decrypt", &e))?;
        let plain = out.plaintext.ok_or_else(|| SealError::Failed("KMS Decrypt returned no plaintext".into()))?;
        let text = std::str::from_utf8(plain.as_ref())
            .map_err(|_| SealError::Failed("the unsealed secret is not text".into()))?;
        Ok(Secret::carrying(text.to_owned()))
    }
}

/// AES-256-GCM with a random 96-bit nonce per seal: `base64(nonce || ciphertext+tag)`.
pub struct AesSealer {
    cipher: Aes256Gcm,
}

/// The local key file's name in the data directory.
pub const LOCAL_KEY_FILE: &str = "local-outbox.key";

impl AesSealer {
    /// A sealer whose key exists only in this process: what it seals opens nowhere else.
    pub fn ephemeral() -> Self {
        Self::from_key(&random_key())
    }

    fn from_key(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }

    /// The key in `dir`/[`LOCAL_KEY_FILE`], made (32 random bytes, readable by the owner only) if missing.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let file = dir.join(LOCAL_KEY_FILE);
        match std::fs::read(&file) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    std::io::Error::other(format!(
                        "{} is not a 32-byte key; delete it to make a new one",
                        file.display()
                    ))
                })?;
                Ok(Self::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&file) {
                    Ok(mut f) => {
                        f.write_all(&key)?;
                        Ok(Self::from_key(&key))
                    }
                    // Another process made it meanwhile: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(dir),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    // As for secrets: without the OS random source no key is safe, and nothing can recover.
    getrandom::fill(&mut key).expect("the operating system's random source is unavailable");
    key
}

#[async_trait]
impl Sealer for AesSealer {
    async fn seal(&self, id: InvitationId, secret: &Secret) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Failed(format!("no random nonce: {e}")))?;
        let aad = id.to_string();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret.expose().as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| SealError::Failed("AES-GCM sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    async fn unseal(&self, id: InvitationId, sealed: &str) -> Result<Secret, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Failed("the sealed secret is not base64".into()))?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Failed("the sealed secret is too short".into()));
        }
        let (nonce, body) = bytes.split_at(12);
        let aad = id.to_string();
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: aad.as_bytes() }).map_err(
            |_| SealError::Failed("the sealed secret does not open with this key for this invitation".into()),
        )?;
        let text = String::from_utf8(plain).map_err(|_| SealError::Failed("the unsealed secret is not text".into()))?;
        Ok(Secret::carrying(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sealed_secret_opens_only_with_its_key_and_for_its_invitation() {
        let sealer = AesSealer::ephemeral();
        let (id, other) = (InvitationId::new(), InvitationId::new());
        let secret = Secret::generate();
        let sealed = sealer.seal(id, &secret).await.unwrap();
        assert!(!sealed.contains(secret.expose()));
        assert_eq!(sealer.unseal(id, &sealed).await.unwrap().expose(), secret.expose());
        assert!(sealer.unseal(other, &sealed).await.is_err());
        assert!(AesSealer::ephemeral().unseal(id, &sealed).await.is_err());
    }
}
