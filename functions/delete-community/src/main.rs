//! The `delete_community` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::delete_community`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::DELETE_COMMUNITY).await
}
