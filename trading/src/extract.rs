//! Query strings and path parameters, with every failure answered as `{code, msg}` (2006)
//! rather than axum's plain-text rejections; and paging.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{TradingError, TradingResult};

/// A query string read into `T`; unknown parameters are ignored (signed requests carry
/// `timestamp`, `recvWindow` and `signature`).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = TradingError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<QueryParams<T>, TradingError> {
        let query: Result<Query<T>, QueryRejection> = Query::from_request_parts(parts, state).await;
        query.map(|Query(value)| QueryParams(value)).map_err(|rejection| TradingError::invalid(rejection.body_text()))
    }
}

/// The `{orderId}` of a path: a number (2006 otherwise).
pub struct OrderIdPath(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for OrderIdPath {
    type Rejection = TradingError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<OrderIdPath, TradingError> {
        let path: Result<Path<String>, PathRejection> = Path::from_request_parts(parts, state).await;
        let Path(text) = path.map_err(|_| TradingError::invalid("bad path parameter"))?;
        text.parse().map(OrderIdPath).map_err(|_| TradingError::invalid("orderId must be a number"))
    }
}

/// The `{id}` of a path: a number (2006 otherwise).
pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = TradingError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<IdPath, TradingError> {
        let path: Result<Path<String>, PathRejection> = Path::from_request_parts(parts, state).await;
        let Path(text) = path.map_err(|_| TradingError::invalid("bad path parameter"))?;
        text.parse().map(IdPath).map_err(|_| TradingError::invalid("id must be a number"))
    }
}

/// Which page of a list (1-based, default 1), and how long pages are (1 to 500, default
/// 100). Query structs carry the two fields themselves: serde cannot flatten numbers out of
/// a query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

/// A page of a list, with where it sits in the whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub limit: u32,
}

pub const MAX_PAGE_ROWS: u32 = 500;
const DEFAULT_PAGE_ROWS: u32 = 100;

impl PageQuery {
    pub fn page(self) -> TradingResult<Page> {
        let page = self.page.unwrap_or(1);
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_ROWS);
        if page == 0 {
            return Err(TradingError::invalid("page: from 1"));
        }
        bounded("limit", limit, MAX_PAGE_ROWS)?;
        Ok(Page { page, limit })
    }
}

impl Page {
    /// The rows of this page.
    pub fn take<T>(self, rows: impl IntoIterator<Item = T>) -> Vec<T> {
        let skip = (self.page as usize).saturating_sub(1).saturating_mul(self.limit as usize);
        rows.into_iter().skip(skip).take(self.limit as usize).collect()
    }
}

/// `value` between 1 and `max`.
pub fn bounded(field: &str, value: u32, max: u32) -> TradingResult<usize> {
    if value == 0 || value > max {
        return Err(TradingError::invalid(format!("{field}: 1 to {max}")));
    }
    Ok(value as usize)
}

/// Refuses a `startTime` after the `endTime`.
pub fn check_range(start: Option<i64>, end: Option<i64>) -> TradingResult<()> {
    match (start, end) {
        (Some(start), Some(end)) if start > end => Err(TradingError::invalid("startTime must not be after endTime")),
        _ => Ok(()),
    }
}

/// An optional `[startTime, endTime]` window in Unix ms, both ends included.
pub fn time_window(start: Option<i64>, end: Option<i64>) -> TradingResult<impl Fn(i64) -> bool> {
    check_range(start, end)?;
    Ok(move |time: i64| start.is_none_or(|start| time >= start) && end.is_none_or(|end| time <= end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_the_list() {
        let page = PageQuery { page: Some(2), limit: Some(3) }.page().unwrap();
        assert_eq!(page.take(1..=10), [4, 5, 6]);
        assert_eq!(PageQuery::default().page().unwrap(), Page { page: 1, limit: 100 });
        let far = PageQuery { page: Some(u32::MAX), limit: Some(500) }.page().unwrap();
        assert!(far.take(1..=10).is_empty());
        assert_eq!(PageQuery { page: Some(0), limit: None }.page().unwrap_err().code, 2006);
        assert_eq!(PageQuery { page: None, limit: Some(501) }.page().unwrap_err().code, 2006);
        assert_eq!(PageQuery { page: None, limit: Some(0) }.page().unwrap_err().code, 2006);
    }

    #[test]
    fn windows_include_both_ends() {
        let window = time_window(Some(10), Some(20)).unwrap();
        assert!(window(10) && window(20) && !window(9) && !window(21));
        let open = time_window(None, None).unwrap();
        assert!(open(i64::MIN) && open(i64::MAX));
        assert!(time_window(Some(5), Some(4)).is_err());
    }
}
