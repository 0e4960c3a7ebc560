//! Relay cursor connections with `totalCount`, over ordered, offset-addressable results.

use async_graphql::{
    connection::{Connection, CursorType, Edge, EmptyFields},
    OutputType, SimpleObject,
};
use base64::{engine::general_purpose::STANDARD, Engine};

use crate::error::AppError;

/// Extra fields on every connection.
#[derive(SimpleObject)]
pub struct Total {
    /// How many items match in all, across every page.
    pub total_count: i64,
}

/// A cursor: the position of an item in its ordered result, opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OffsetCursor(pub i64);

impl CursorType for OffsetCursor {
    type Error = AppError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        STANDARD
            .decode(s)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.strip_prefix("o:").and_then(|n| n.parse::<i64>().ok()))
            .filter(|n| (0..=MAX_OFFSET).contains(n))
            .map(OffsetCursor)
            .ok_or_else(|| AppError::invalid("after", "not a valid cursor / 无效的分页游标"))
    }

    fn encode_cursor(&self) -> String {
        STANDARD.encode(format!("o:{}", self.0))
    }
}

pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_PAGE: i64 = 100;
/// The largest position a cursor may name: far past any result, small enough that `offset + page` never
/// overflows. A position past the last result is an empty page.
pub const MAX_OFFSET: i64 = 1 << 40;

/// The window `(offset, limit)` asked for by `first`/`after`.
pub fn window(first: Option<i32>, after: Option<&str>) -> Result<(i64, i64), AppError> {
    let limit = match first {
        None => DEFAULT_PAGE,
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as i64,
        Some(_) => {
            return Err(AppError::invalid(
                "first",
                format!("first must be between 0 and {MAX_PAGE} / 每页数量须在0到{MAX_PAGE}之间"),
            ))
        }
    };
    let offset = match after {
        Some(c) => OffsetCursor::decode_cursor(c)?.0 + 1,
        None => 0,
    };
    Ok((offset, limit))
}

pub type Conn<T, E = EmptyFields> = Connection<OffsetCursor, T, Total, E>;

/// Builds a page from the items at `offset..` and the total count.
pub fn page<T: OutputType>(items: Vec<T>, offset: i64, total: i64) -> Conn<T> {
    page_with(items.into_iter().map(|i| (i, EmptyFields)).collect(), offset, total)
}

pub fn page_with<T: OutputType, E: async_graphql::ObjectType>(
    items: Vec<(T, E)>,
    offset: i64,
    total: i64,
) -> Conn<T, E> {
    let n = items.len() as i64;
    let mut conn = Connection::with_additional_fields(offset > 0, offset + n < total, Total { total_count: total });
    conn.edges.extend(
        items
            .into_iter()
            .enumerate()
            .map(|(i, (node, extra))| Edge::with_additional_fields(OffsetCursor(offset + i as i64), node, extra)),
    );
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = OffsetCursor(7).encode_cursor();
        assert_eq!(OffsetCursor::decode_cursor(&c).unwrap(), OffsetCursor(7));
        assert!(OffsetCursor::decode_cursor("nope").is_err());
        assert_eq!(window(Some(5), Some(&c)).unwrap(), (8, 5));
        assert!(window(Some(1000), None).is_err());
        // Huge and negative positions are not cursors; the largest one still adds up.
        for text in ["o:9223372036854775807", "o:-1", "o:10000000000000000"] {
            assert!(OffsetCursor::decode_cursor(&STANDARD.encode(text)).is_err(), "{text}");
        }
        let last = OffsetCursor(MAX_OFFSET).encode_cursor();
        assert_eq!(window(Some(100), Some(&last)).unwrap(), (MAX_OFFSET + 1, 100));
    }
}
