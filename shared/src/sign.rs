//! Signing portal-to-portal collaboration invitation files.
//!
//! One portal (one deployment of rsvp) signs the exact bytes of an invitation request and sends them with its
//! public key; the other portal checks the signature with that key before it trusts the request. The private key
//! never leaves its home: in AWS it stays inside KMS, which signs on our behalf; the local server keeps its own key
//! file in its data folder.
//!
//! Both signers make the same thing, so a verifier never needs to know which one signed: an ECDSA P-256 / SHA-256
//! signature, DER-encoded (what KMS `Sign` returns for `ECDSA_SHA_256`), over a public key that travels as base64 of
//! its DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns).
//!
//! - [`KmsSigner`]: AWS KMS `Sign` / `GetPublicKey` with an asymmetric `ECC_NIST_P256` `SIGN_VERIFY` key (in Lambda).
//! - [`LocalSigner`]: a P-256 key in a PKCS#8 file (the local server), or a key that lives only in memory.

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _};

/// The most base64 text [`PublicKey::from_base64`] reads. A P-256 key is 124 characters; the bound keeps a hostile
/// file from making us decode megabytes.
const MAX_PUBLIC_KEY_TEXT: usize = 1024;

/// The most bytes one signature covers: KMS signs a `RAW` message of at most 4096 bytes, and the local signer keeps
/// to the same limit so that what signs locally also signs in AWS. (KMS could sign a SHA-256 digest of a longer
/// message instead, but moto, the emulator the tests run KMS against, does not implement that.)
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Why signing or reading a key failed. The message names the cause, never key material.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A public key from outside (an invitation file) is not usable: the sender's fault.
    #[error("the public key is not {0}")]
    PublicKey(&'static str),
    /// KMS, like the local signer, signs 1 to [`MAX_MESSAGE_BYTES`] bytes.
    #[error("a message to sign has 1 to {MAX_MESSAGE_BYTES} bytes, not {0}")]
    MessageSize(usize),
    /// KMS failed, or answered without what was asked.
    #[error("{0}")]
    Kms(String),
    /// The signing key is missing, disabled or refused to this function ([`crate::fault`]): no retry helps.
    #[error("{0}")]
    Misconfigured(String),
}

impl From<crate::fault::Failure> for SignError {
    fn from(failure: crate::fault::Failure) -> Self {
        match failure {
            crate::fault::Failure::Misconfigured(message) => Self::Misconfigured(message),
            crate::fault::Failure::Outage(message) => Self::Kms(message),
        }
    }
}

/// What signs this portal's invitation files. Implementations differ only in where the private key lives.
#[async_trait]
pub trait Signer: Send + Sync {
    /// A DER-encoded ECDSA P-256 / SHA-256 signature over exactly `message`, which [`PublicKey::verify`] checks.
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The key that checks this signer's signatures: what this portal puts in the files it signs.
    async fn public_key(&self) -> Result<PublicKey, SignError>;
}

/// A P-256 public key, kept as the DER SubjectPublicKeyInfo it was read from (so it is written back unchanged).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
    key: VerifyingKey,
}

impl PublicKey {
    /// The key in an invitation file: standard base64 (with padding) of a P-256 SubjectPublicKeyInfo.
    pub fn from_base64(text: &str) -> Result<Self, SignError> {
        if text.len() > MAX_PUBLIC_KEY_TEXT {
            return Err(SignError::PublicKey("at most 1 KiB of base64"));
        }
        let spki = STANDARD.decode(text.trim()).map_err(|_| SignError::PublicKey("base64"))?;
        Self::from_spki(spki)
    }

    fn from_spki(spki: Vec<u8>) -> Result<Self, SignError> {
        let key = VerifyingKey::from_public_key_der(&spki)
            .map_err(|_| SignError::PublicKey("a P-256 SubjectPublicKeyInfo"))?;
        Ok(Self { spki, key })
    }

    /// The key as an invitation file carries it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.spki)
    }

    /// Whether `signature` (DER-encoded ECDSA P-256 / SHA-256) is this key's over exactly `message`. Anything
    /// malformed is simply not a valid signature.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        DerSignature::from_bytes(signature).is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PublicKey").field(&self.to_base64()).finish()
    }
}

fn check_size(message: &[u8]) -> Result<(), SignError> {
    if message.is_empty() || message.len() > MAX_MESSAGE_BYTES {
        return Err(SignError::MessageSize(message.len()));
    }
    Ok(())
}

/// Signs with an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`); the function's role needs `kms:Sign` and
/// `kms:GetPublicKey` on it.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    /// Fetched once: the public key is not secret and does not change for a key id.
    public_key: OnceLock<PublicKey>,
}

impl KmsSigner {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self { client, key_id: key_id.into(), public_key: OnceLock::new() }
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        check_size(message)?;
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| crate::fault::failure("KMS Sign", &e))?;
        let signature = out.signature.ok_or_else(|| SignError::Kms("KMS Sign returned no signature".into()))?;
        Ok(signature.into_inner())
    }

    async fn public_key(&self) -> Result<PublicKey, SignError> {
        if let Some(key) = self.public_key.get() {
            return Ok(key.clone());
        }
        let out = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(|e| crate::fault::failure("KMS GetPublicKey", &e))?;
        let spki = out.public_key.ok_or_else(|| SignError::Kms("KMS GetPublicKey returned no key".into()))?;
        let key = PublicKey::from_spki(spki.into_inner())
            .map_err(|_| SignError::Kms(format!("KMS key {} is not an ECC_NIST_P256 signing key", self.key_id)))?;
        // Two first calls at once both fetch; either answer is the same key.
        Ok(self.public_key.get_or_init(|| key).clone())
    }
}

/// Signs with a P-256 key held in this process.
pub struct LocalSigner {
    key: SigningKey,
    public_key: PublicKey,
}

/// The local key file's name in the data directory.
pub const LOCAL_KEY_FILE: &str = "portal-signing.key";

impl LocalSigner {
    /// A signer whose key exists only in this process: no other process can sign as it.
    pub fn ephemeral() -> Self {
        // As for secrets: without the OS random source no key is safe, and nothing can recover.
        Self::from_key(SigningKey::generate())
    }

    fn from_key(key: SigningKey) -> Self {
        let verifying = *key.verifying_key();
        let spki = verifying
            .to_public_key_der()
            .expect("a P-256 public key always encodes as a SubjectPublicKeyInfo")
            .into_vec();
        Self { key, public_key: PublicKey { spki, key: verifying } }
    }

    /// The key in `dir`/[`LOCAL_KEY_FILE`] (PKCS#8 DER), made (readable by the owner only) if missing.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let file = dir.join(LOCAL_KEY_FILE);
        match std::fs::read(&file) {
            Ok(der) => SigningKey::from_pkcs8_der(&der).map(Self::from_key).map_err(|_| {
                std::io::Error::other(format!(
                    "{} is not a PKCS#8 P-256 key; delete it to make a new one",
                    file.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(dir, &file),
            Err(e) => Err(e),
        }
    }

    /// Writes a new key whole under a temporary name, then links it into place: no reader ever sees half a key, and
    /// of two processes that race, one key wins and both use it.
    fn create(dir: &Path, file: &Path) -> std::io::Result<Self> {
        let signer = Self::ephemeral();
        let der = signer.key.to_pkcs8_der().map_err(std::io::Error::other)?;
        let temporary = dir.join(format!(".{LOCAL_KEY_FILE}.{}", uuid::Uuid::new_v4().simple()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let placed = options
            .open(&temporary)
            .and_then(|mut f| f.write_all(der.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::hard_link(&temporary, file));
        let removed = std::fs::remove_file(&temporary);
        match placed {
            Ok(()) => removed.map(|()| signer),
            // Another process made it meanwhile: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(dir),
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        check_size(message)?;
        let signature: DerSignature = self.key.sign(message);
        Ok(signature.as_bytes().to_vec())
    }

    async fn public_key(&self) -> Result<PublicKey, SignError> {
        Ok(self.public_key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = br#"{"collaborationName":"Shared Operations","portal":"https://a.example/portal"}"#;

    #[tokio::test]
    async fn a_signature_verifies_only_for_its_message_and_its_key() {
        let signer = LocalSigner::ephemeral();
        let key = signer.public_key().await.unwrap();
        let signature = signer.sign(MESSAGE).await.unwrap();
        assert!(key.verify(MESSAGE, &signature));

        let mut changed = MESSAGE.to_vec();
        changed[10] ^= 1;
        assert!(!key.verify(&changed, &signature));
        assert!(!LocalSigner::ephemeral().public_key().await.unwrap().verify(MESSAGE, &signature));
        // Debug shows the public key and nothing else.
        assert_eq!(format!("{signer:?}"), format!("LocalSigner {{ public_key: {key:?}, .. }}"));
    }

    #[tokio::test]
    async fn malformed_signatures_and_keys_are_refused_without_a_panic() {
        let key = LocalSigner::ephemeral().public_key().await.unwrap();
        let mut truncated = LocalSigner::ephemeral().sign(MESSAGE).await.unwrap();
        truncated.pop();
        for signature in [&[][..], b"not a signature", &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00], &truncated] {
            assert!(!key.verify(MESSAGE, signature));
        }

        for text in ["", "not base64!", "AAAA", &"A".repeat(MAX_PUBLIC_KEY_TEXT + 4)] {
            assert!(matches!(PublicKey::from_base64(text), Err(SignError::PublicKey(_))), "{text:.20}");
        }
        // A well-formed SubjectPublicKeyInfo whose point is not on P-256.
        let mut spki = STANDARD.decode(key.to_base64()).unwrap();
        *spki.last_mut().unwrap() ^= 1;
        assert!(PublicKey::from_base64(&STANDARD.encode(spki)).is_err());
    }

    #[tokio::test]
    async fn a_public_key_round_trips_through_base64() {
        let key = LocalSigner::ephemeral().public_key().await.unwrap();
        let text = key.to_base64();
        assert!(text.ends_with('='), "standard base64 with padding: {text}");
        assert_eq!(PublicKey::from_base64(&text).unwrap(), key);
    }

    #[tokio::test]
    async fn messages_kms_cannot_sign_are_refused_locally_too() {
        let signer = LocalSigner::ephemeral();
        assert!(matches!(signer.sign(b"").await, Err(SignError::MessageSize(0))));
        assert!(signer.sign(&[b'x'; MAX_MESSAGE_BYTES]).await.is_ok());
        assert!(matches!(signer.sign(&[b'x'; MAX_MESSAGE_BYTES + 1]).await, Err(SignError::MessageSize(_))));
    }

    #[tokio::test]
    async fn the_key_file_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("rsvp-sign-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let first = LocalSigner::load_or_create(&dir).unwrap();
        let second = LocalSigner::load_or_create(&dir).unwrap();
        assert_eq!(first.public_key().await.unwrap(), second.public_key().await.unwrap());
        assert!(second.public_key().await.unwrap().verify(MESSAGE, &first.sign(MESSAGE).await.unwrap()));
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(entries, [LOCAL_KEY_FILE]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(LOCAL_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
