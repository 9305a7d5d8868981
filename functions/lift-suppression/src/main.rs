//! The `lift_suppression` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::lift_suppression`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIFT_SUPPRESSION).await
}
