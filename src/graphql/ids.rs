//! Relay global ids: `base64("Type:id")`, opaque to clients.

use async_graphql::ID;
use base64::{engine::general_purpose::STANDARD, Engine};

use crate::error::{AppError, ErrorCode};

pub fn encode(kind: &str, id: i64) -> ID {
    ID(STANDARD.encode(format!("{kind}:{id}")))
}

/// Any global id: its type name and database id.
pub fn decode_any(id: &ID) -> Option<(String, i64)> {
    let raw = STANDARD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (kind, num) = text.split_once(':')?;
    Some((kind.to_owned(), num.parse().ok()?))
}

/// A global id that must be of type `kind`; `field` names the input field for the error.
pub fn decode(id: &ID, kind: &str, field: &str) -> Result<i64, AppError> {
    match decode_any(id) {
        Some((k, n)) if k == kind => Ok(n),
        _ => Err(AppError::field(
            ErrorCode::ValidationFailed,
            field,
            format!("not a valid {kind} id / 不是有效的{kind}编号"),
        )),
    }
}

/// A list of global ids that must all be of type `kind` (the first one that is not is the error).
pub fn decode_all(ids: &[ID], kind: &str, field: &str) -> Result<Vec<i64>, AppError> {
    ids.iter().map(|id| decode(id, kind, field)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_type_check() {
        let id = encode("Proposal", 42);
        assert_eq!(decode(&id, "Proposal", "id").unwrap(), 42);
        assert!(decode(&id, "User", "id").is_err());
        assert!(decode(&ID("garbage!".into()), "Proposal", "id").is_err());
    }
}
