//! Page sizes asked for in a query (`limit`), shared by every listing route.
use super::error::{ApiError, ApiResult};
use crate::store::MAX_PAGE;

/// Rows per page unless asked otherwise.
pub const DEFAULT_PAGE: u32 = 100;

/// A page size from the query: 1..=MAX_PAGE.
pub fn page_size(asked: Option<u32>) -> ApiResult<u32> {
    match asked {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(format!(
            "limit {n}: a page has 1 to {MAX_PAGE} rows"
        ))),
    }
}
