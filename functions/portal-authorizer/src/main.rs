//! The portal routes' Lambda authorizer. It only wires the entry point; the verifier is `rsvp::authorizer`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rsvp::lambda::run_portal_authorizer().await
}
