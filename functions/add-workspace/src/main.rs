//! The `add_workspace` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::add_workspace`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::ADD_WORKSPACE).await
}
