//! The `respond_to_invitation_page` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::page::respond_to_invitation_page`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::RESPOND_TO_INVITATION_PAGE).await
}
