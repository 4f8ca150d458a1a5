//! Opaque list cursors: where the next page starts (a record offset, a
//! provider token, the last id seen), tagged with the provider so a cursor
//! of one account type cannot be replayed on another.

use crate::error::UnifiedError;
use crate::registry::Provider;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_runtime::paging::Position;
use serde_json::{Value, json};

pub(crate) fn encode(provider: Provider, position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(json!({"p": provider.key(), "s": position}).to_string())
}

pub(crate) fn decode(provider: Provider, cursor: &str) -> Result<Position, UnifiedError> {
    let invalid = || {
        UnifiedError::invalid(
            "next_cursor",
            "is not a cursor this API returned; pass `next_cursor` from the previous page as is",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if value.get("p").and_then(Value::as_str) != Some(provider.key()) {
        return Err(UnifiedError::invalid(
            "next_cursor",
            format!("belongs to another provider than {provider}"),
        ));
    }
    value
        .get("s")
        .and_then(|state| serde_json::from_value(state.clone()).ok())
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(feature = "close", feature = "copper"))]
    #[test]
    fn round_trips_and_refuses_foreign_cursors() {
        let cursor = encode(Provider::Close, &Position::Offset(100));
        assert_eq!(
            decode(Provider::Close, &cursor).unwrap(),
            Position::Offset(100)
        );
        assert!(decode(Provider::Copper, &cursor).is_err());
        assert!(decode(Provider::Close, "garbage!").is_err());
    }
}
