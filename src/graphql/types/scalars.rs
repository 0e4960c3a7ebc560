//! The schema's own date scalars, with descriptions a client developer can act on and a `@specifiedBy`
//! URL (the library's `NaiveDate` and `DateTime` carry its type names and boilerplate instead).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A calendar date (the `Date` scalar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, `YYYY-MM-DD` (RFC 3339 `full-date`), e.g. `2026-11-30`.
/// 日期（不含时区），格式为 `YYYY-MM-DD`，例如 `2026-11-30`。
#[Scalar(name = "Date", specified_by_url = "https://scalars.graphql.org/andimarek/local-date.html")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|_| s.len() == 10).map(Date).ok_or_else(|| {
                    InputValueError::custom("a Date is written YYYY-MM-DD, e.g. 2026-11-30 / 日期格式应为 YYYY-MM-DD")
                })
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Date(d)
    }
}

impl From<Date> for NaiveDate {
    fn from(d: Date) -> Self {
        d.0
    }
}

/// An instant (the `DateTime` scalar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

/// An instant, in RFC 3339 with a time zone offset; the server answers in UTC with milliseconds, e.g.
/// `2026-11-30T08:15:00.000Z`, and reads any offset. 时间点，RFC 3339 格式（含时区）；服务器以 UTC 返回。
#[Scalar(name = "DateTime", specified_by_url = "https://scalars.graphql.org/chillicream/date-time.html")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => DateTime::parse_from_rfc3339(s).map(|t| Timestamp(t.with_timezone(&Utc))).map_err(|_| {
                InputValueError::custom(
                    "a DateTime is RFC 3339 with an offset, e.g. 2026-11-30T08:15:00Z / 时间格式应为 RFC 3339，例如 2026-11-30T08:15:00Z",
                )
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_and_timestamps_take_any_offset() {
        assert!(Date::parse(Value::String("2026-11-30".into())).is_ok());
        for bad in ["2026-1-3", "2026-11-31", "30.11.2026", "2026-11-30T00:00:00Z"] {
            assert!(Date::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        let t = Timestamp::parse(Value::String("2026-11-30T16:15:00+08:00".into())).unwrap();
        assert_eq!(t.to_value(), Value::String("2026-11-30T08:15:00.000Z".into()));
        assert!(Timestamp::parse(Value::String("2026-11-30 08:15".into())).is_err());
    }
}
