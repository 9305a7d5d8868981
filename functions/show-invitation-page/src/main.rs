//! The `show_invitation_page` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::page::show_invitation_page`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::SHOW_INVITATION_PAGE).await
}
