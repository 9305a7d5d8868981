//! The HTTP edge: API Gateway request in, response out. Parsing with limits ([`request`]), response builders
//! ([`response`]), the public invitation pages' HTML ([`page`]), the portal routes' ArcGIS conventions
//! ([`arcgis`]), and [`ApiError`], the one error type of this layer, mapped to the wire in one place per dialect
//! ([`ApiError::into_response`] for the API, [`ApiError::into_page`] for the pages, [`ApiError::into_arcgis`] for
//! the portal routes).

pub mod arcgis;
mod error;
pub mod page;
pub mod request;
pub mod response;

pub use error::{ApiError, ErrorResponse, invalid_email};
