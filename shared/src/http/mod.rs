//! The HTTP edge: API Gateway request in, response out. Parsing with limits ([`request`]), response builders
//! ([`response`]), and [`ApiError`], the one error type of this layer, mapped to the wire in one place
//! ([`ApiError::into_response`]).

mod error;
pub mod request;
pub mod response;

pub use error::{ApiError, ErrorResponse, invalid_email};
