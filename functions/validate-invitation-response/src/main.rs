//! The `validate_invitation_response` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::validate_invitation_response`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::VALIDATE_INVITATION_RESPONSE).await
}
