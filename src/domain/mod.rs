//! The domain: roles, the proposal lifecycle, evaluation and savings arithmetic. Pure Rust, no I/O.

pub mod attachment;
pub mod challenge;
pub mod evaluation;
pub mod impact;
pub mod lifecycle;
pub mod notify;
pub mod organisation;
pub mod oversight;
pub mod people;
pub mod proof;
pub mod proposal;
pub mod recognition;
pub mod savings;
pub mod skill;
pub mod spreadsheet;
pub mod text;

/// Declares an enum that is stored as its SCREAMING_SNAKE_CASE name in the database and exposed as a
/// GraphQL enum under the same names.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* #[graphql(name = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s.trim().to_ascii_uppercase().as_str() { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted spellings, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

/// Today's date where greenline is used: China Standard Time (UTC+8, no daylight saving). Dates people
/// give (a review's due date, an adoption, a milestone done) are checked against it, not against UTC,
/// which is still yesterday until 08:00 in China.
pub fn today(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    now.with_timezone(&notify::china()).date_naive()
}

#[cfg(test)]
mod today_tests {
    #[test]
    fn a_chinese_morning_is_already_today() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        assert_eq!(super::today(at("2026-11-30T17:30:00Z")).to_string(), "2026-12-01");
        assert_eq!(super::today(at("2026-11-30T15:59:59Z")).to_string(), "2026-11-30");
    }
}
