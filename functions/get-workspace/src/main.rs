//! The `get_workspace` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::get_workspace`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_WORKSPACE).await
}
