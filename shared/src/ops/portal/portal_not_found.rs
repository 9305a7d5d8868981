//! `ANY /sharing/rest/{proxy+}`: every path under `/sharing/rest` that no other route serves, answered with the
//! dialect's error body. ArcGIS clients read any JSON answer as data unless it is an `{"error": ...}` object, so
//! a gateway's own 404 (`{"message": "Not Found"}`) would be taken for a result. API Gateway prefers every more
//! specific route to this one; the local server tries it last.

use std::sync::Arc;

use lambda_http::Request;

use crate::app::App;
use crate::http::{Answer, ApiError};

pub async fn handle(_app: Arc<App>, req: Request) -> Answer {
    let shown: String = req.uri().path().chars().take(200).collect();
    Err(ApiError::NotFound(format!("{} {shown} is not a resource or operation this portal serves.", req.method())))
}
