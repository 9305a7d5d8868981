//! The `import_invitation_response` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::import_invitation_response`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::IMPORT_INVITATION_RESPONSE).await
}
