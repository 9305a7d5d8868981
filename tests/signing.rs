//! Invitation file signatures against a real KMS stand-in: moto's KMS signs with an ECC_NIST_P256 key, and our own
//! verifier checks its DER signatures with the SubjectPublicKeyInfo its GetPublicKey returns.
//!
//! `scripts/test` starts moto and exports `RSVP_TEST_MOTO_ENDPOINT`; moto's state is shared by every test, so this
//! test creates a key of its own.

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use rsvp::sign::{KmsSigner, LocalSigner, PublicKey, Signer};

const MOTO_VARIABLE: &str = "RSVP_TEST_MOTO_ENDPOINT";

fn kms() -> aws_sdk_kms::Client {
    let endpoint = std::env::var(MOTO_VARIABLE).unwrap_or_else(|_| {
        panic!("{MOTO_VARIABLE} is not set: these tests need moto (KMS). Run them with `scripts/test`.")
    });
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "rsvp-tests"))
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

#[tokio::test]
async fn kms_signatures_verify_with_the_public_key_kms_hands_out() {
    let client = kms();
    let key = client
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates an ECC_NIST_P256 signing key");
    let signer = KmsSigner::new(client, key.key_metadata().expect("key metadata").key_id());

    // The key as it travels in an invitation file, read back as the other portal reads it.
    let public_key = signer.public_key().await.expect("GetPublicKey");
    assert_eq!(signer.public_key().await.expect("the cached key"), public_key);
    let received = PublicKey::from_base64(&public_key.to_base64()).expect("KMS's key is a P-256 SubjectPublicKeyInfo");

    // ECDSA signatures are random: about half of them have a high S, which the verifier must accept as KMS makes them.
    for n in 0..8 {
        let message = format!(r#"{{"collaborationName":"Shared Operations","invitation":{n}}}"#);
        let signature = signer.sign(message.as_bytes()).await.expect("KMS Sign");
        assert!(received.verify(message.as_bytes(), &signature), "KMS signature {n} does not verify");

        let tampered = message.replace("Shared", "Shaved");
        assert!(!received.verify(tampered.as_bytes(), &signature), "a tampered message verifies");
        let other = LocalSigner::ephemeral().sign(message.as_bytes()).await.unwrap();
        assert!(!received.verify(message.as_bytes(), &other), "another key's signature verifies");
    }
}
