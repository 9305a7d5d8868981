//! The `get_invitation_details` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::get_invitation_details`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_INVITATION_DETAILS).await
}
