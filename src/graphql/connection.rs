//! Relay cursor connections with `totalCount`, paged forward (`first`/`after`) and backward
//! (`last`/`before`).
//!
//! A cursor is opaque to clients and bound to the list it came from: it names the list (and, for search
//! results, the sort) and a position in it. Lists kept in the database are paged by key — the item's id,
//! which is also their order — so a page stays correct when items are added or removed between two
//! loads: page 2 starts after page 1's last item, whatever was submitted meanwhile. Search results ranked
//! by relevance have no stable key (scores shift as the corpus changes), so their cursors are positions.
//! A cursor of another list is refused, not silently reinterpreted.

use async_graphql::{
    connection::{Connection, CursorType, Edge, EmptyFields},
    OutputType, SimpleObject,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::{db::rows::KeyPage, error::AppError};

/// Extra fields on every connection.
#[derive(SimpleObject)]
pub struct Total {
    /// How many items match in all, across every page. 符合条件的总数（所有页）。
    pub total_count: i64,
}

/// Where a cursor points in its list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    /// An item's key (its id): lists kept in the database.
    Key(i64),
    /// A position in a ranked result: search.
    Offset(i64),
}

/// A cursor: the list it belongs to and a place in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub list: String,
    pub at: At,
}

const PREFIX: &str = "gl1";

impl CursorType for Cursor {
    type Error = AppError;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bad = || AppError::invalid("after", "not a valid cursor / 无效的分页游标");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| bad())?)
            .map_err(|_| bad())?;
        let mut parts = text.splitn(3, '|');
        let (Some(PREFIX), Some(list), Some(at)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let number = |t: &str| t.parse::<i64>().ok().filter(|n| (0..=MAX_OFFSET).contains(n));
        let at = match at.split_at_checked(1) {
            Some(("k", n)) => At::Key(n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(bad)?),
            Some(("o", n)) => At::Offset(number(n).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        Ok(Cursor { list: list.to_owned(), at })
    }

    fn encode_cursor(&self) -> String {
        let at = match self.at {
            At::Key(k) => format!("k{k}"),
            At::Offset(o) => format!("o{o}"),
        };
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}|{}|{at}", self.list))
    }
}

pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_PAGE: i64 = 100;
/// The largest position a cursor may name: far past any result, small enough that `offset + page` never
/// overflows. A position past the last result is an empty page.
pub const MAX_OFFSET: i64 = 1 << 40;

/// The page arguments of a connection, as clients send them.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> PageArgs {
        PageArgs { first, after, last, before }
    }

    /// The page size and direction: `first` (default [`DEFAULT_PAGE`]) forward, or `last` backward.
    fn size(&self) -> Result<(i64, bool), AppError> {
        let check = |n: i32, arg: &str| {
            if (0..=MAX_PAGE as i32).contains(&n) {
                Ok(n as i64)
            } else {
                Err(AppError::invalid(
                    arg,
                    format!("{arg} must be between 0 and {MAX_PAGE} / 每页数量须在0到{MAX_PAGE}之间"),
                ))
            }
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => {
                Err(AppError::invalid("last", "give first or last, not both / first与last只能给一个"))
            }
            (None, Some(n)) => Ok((check(n, "last")?, true)),
            (Some(n), None) => Ok((check(n, "first")?, false)),
            (None, None) => Ok((DEFAULT_PAGE, false)),
        }
    }

    /// The position a cursor argument names: a key when `keyed` (database lists), else an offset (search
    /// results). The cursor must belong to `list` and be of that kind.
    fn position(arg: &str, value: Option<&str>, list: &str, keyed: bool) -> Result<Option<i64>, AppError> {
        let Some(text) = value else { return Ok(None) };
        let c =
            Cursor::decode_cursor(text).map_err(|_| AppError::invalid(arg, "not a valid cursor / 无效的分页游标"))?;
        if c.list != list {
            return Err(AppError::invalid(
                arg,
                format!("this cursor belongs to another list ({}) / 该游标属于另一个列表", c.list),
            ));
        }
        match (c.at, keyed) {
            (At::Key(n), true) | (At::Offset(n), false) => Ok(Some(n)),
            _ => Err(AppError::invalid(arg, "not a cursor of this list / 该游标不属于此列表")),
        }
    }
}

/// A page of a list kept in the database, ordered by id (ascending or descending), by key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keyset {
    /// Items beyond this key, in the list's order.
    pub after: Option<i64>,
    /// Items before this key, in the list's order.
    pub before: Option<i64>,
    /// Items to return; one more is read to tell whether the page has a neighbour.
    pub limit: i64,
    /// `last`: the page ends at `before` (or at the end of the list), so it is read nearest-first from
    /// there, in the reverse of the list's order.
    pub backward: bool,
}

impl Keyset {
    pub fn of(list: &str, args: &PageArgs) -> Result<Keyset, AppError> {
        let (limit, backward) = args.size()?;
        let key = |arg: &str, value: &Option<String>| PageArgs::position(arg, value.as_deref(), list, true);
        Ok(Keyset { after: key("after", &args.after)?, before: key("before", &args.before)?, limit, backward })
    }

    /// What the database reads: one row more than the page, to tell whether it has a neighbour.
    pub fn rows(&self) -> KeyPage {
        KeyPage { after: self.after, before: self.before, fetch: self.limit + 1, backward: self.backward }
    }

    /// The page from the rows read (at most [`Keyset::rows`]' `fetch`, nearest to the cursor first, as the query
    /// returned them), each with its key.
    pub fn page<T: OutputType>(&self, list: &str, mut rows: Vec<(i64, T)>, total: i64) -> Conn<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.backward {
            rows.reverse();
        }
        let (previous, next) = if self.backward { (more, self.before.is_some()) } else { (self.after.is_some(), more) };
        let mut conn = Connection::with_additional_fields(previous, next, Total { total_count: total });
        conn.edges.extend(
            rows.into_iter().map(|(key, node)| Edge::new(Cursor { list: list.to_owned(), at: At::Key(key) }, node)),
        );
        conn
    }
}

/// A window of a ranked result (search), by position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

impl Window {
    /// The window `args` ask for. `total` is asked for only by `last` without `before` (the end of the
    /// result), which needs it.
    pub fn of(list: &str, args: &PageArgs, total: impl FnOnce() -> Option<i64>) -> Result<Window, AppError> {
        let (size, backward) = args.size()?;
        let offset = |arg: &str, value: &Option<String>| PageArgs::position(arg, value.as_deref(), list, false);
        let after = offset("after", &args.after)?;
        let before = offset("before", &args.before)?;
        let start = after.map_or(0, |a| a + 1);
        let end = match before {
            Some(b) => Some(b),
            None if backward => Some(total().unwrap_or(0)),
            None => None,
        };
        Ok(match (backward, end) {
            (true, Some(end)) => {
                let from = (end - size).max(start);
                Window { offset: from, limit: (end - from).max(0) }
            }
            (_, Some(end)) => Window { offset: start, limit: size.min((end - start).max(0)) },
            (_, None) => Window { offset: start, limit: size },
        })
    }

    pub fn cursor(&self, list: &str, i: usize) -> Cursor {
        Cursor { list: list.to_owned(), at: At::Offset(self.offset + i as i64) }
    }

    pub fn has_previous(&self) -> bool {
        self.offset > 0
    }

    pub fn has_next(&self, total: i64) -> bool {
        self.offset + self.limit < total
    }
}

pub type Conn<T, E = EmptyFields> = Connection<Cursor, T, Total, E>;

/// Whether a text is a cursor of the connection field `field` (the document checks, before anything
/// runs): `proposals` takes cursors of `proposals`, `events` those of `events.<proposal>`, and so on.
pub fn is_cursor_of(text: &str, field: &str) -> bool {
    Cursor::decode_cursor(text)
        .is_ok_and(|c| c.list == field || c.list.strip_prefix(field).is_some_and(|rest| rest.starts_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, after: Option<&Cursor>, last: Option<i32>, before: Option<&Cursor>) -> PageArgs {
        PageArgs::new(first, after.map(|c| c.encode_cursor()), last, before.map(|c| c.encode_cursor()))
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { list: "proposals".into(), at: At::Key(7) };
        assert_eq!(Cursor::decode_cursor(&c.encode_cursor()).unwrap(), c);
        let negative = URL_SAFE_NO_PAD.encode("gl1|proposals|k-1");
        let old = base64::engine::general_purpose::STANDARD.encode("o:7");
        for bad in ["nope", "", negative.as_str(), old.as_str()] {
            assert!(Cursor::decode_cursor(bad).is_err(), "{bad}");
        }
        let far = Cursor { list: "search".into(), at: At::Offset(MAX_OFFSET + 1) };
        assert!(Cursor::decode_cursor(&far.encode_cursor()).is_err());
    }

    #[test]
    fn a_cursor_of_another_list_is_refused() {
        let theirs = Cursor { list: "techniques".into(), at: At::Key(3) };
        assert!(Keyset::of("proposals", &args(None, Some(&theirs), None, None)).is_err());
        let search = Cursor { list: "proposals".into(), at: At::Offset(3) };
        assert!(Keyset::of("proposals", &args(None, Some(&search), None, None)).is_err());
    }

    #[test]
    fn keysets_page_both_ways() {
        let after = Cursor { list: "l".into(), at: At::Key(10) };
        let ks = Keyset::of("l", &args(Some(2), Some(&after), None, None)).unwrap();
        assert_eq!(ks, Keyset { after: Some(10), before: None, limit: 2, backward: false });
        let page = ks.page("l", vec![(9, 9), (8, 8), (7, 7)], 20);
        assert_eq!(page.edges.iter().map(|e| e.node).collect::<Vec<_>>(), vec![9, 8]);
        assert!(page.has_next_page && page.has_previous_page);
        // Backward: read nearest-first (5, 6, 7 of a descending list before 4), shown in the list's order.
        let before = Cursor { list: "l".into(), at: At::Key(4) };
        let ks = Keyset::of("l", &args(None, None, Some(2), Some(&before))).unwrap();
        let page = ks.page("l", vec![(5, 5), (6, 6), (7, 7)], 20);
        assert_eq!(page.edges.iter().map(|e| e.node).collect::<Vec<_>>(), vec![6, 5]);
        assert!(page.has_previous_page && page.has_next_page);
        assert!(Keyset::of("l", &args(Some(1), None, Some(1), None)).is_err(), "first and last together");
        assert!(Keyset::of("l", &args(Some(1000), None, None, None)).is_err());
    }

    #[test]
    fn windows_page_both_ways() {
        let at = |o| Cursor { list: "s".into(), at: At::Offset(o) };
        assert_eq!(
            Window::of("s", &args(Some(5), Some(&at(7)), None, None), || None).unwrap(),
            Window { offset: 8, limit: 5 }
        );
        assert_eq!(
            Window::of("s", &args(None, None, Some(5), Some(&at(7))), || None).unwrap(),
            Window { offset: 2, limit: 5 }
        );
        assert_eq!(
            Window::of("s", &args(None, None, Some(5), Some(&at(3))), || None).unwrap(),
            Window { offset: 0, limit: 3 }
        );
        assert_eq!(
            Window::of("s", &args(None, None, Some(5), None), || Some(12)).unwrap(),
            Window { offset: 7, limit: 5 }
        );
        let last = at(MAX_OFFSET);
        assert_eq!(Window::of("s", &args(Some(100), Some(&last), None, None), || None).unwrap().offset, MAX_OFFSET + 1);
    }
}
