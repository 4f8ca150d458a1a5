//! Opaque, sealed list cursors. A cursor holds where the next page starts
//! (a record offset, a provider token, the last id seen), the provider and
//! the integrated account it belongs to, authenticated with HMAC-SHA256
//! under a key only this process (or the server's key) knows. A forged,
//! edited or another account's cursor is refused as input, so no number or
//! URL in a cursor is ever an attacker's.

use crate::error::UnifiedError;
use crate::registry::Provider;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_runtime::paging::Position;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

/// The key cursors are sealed with.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// A key of this process alone: its cursors are refused by other
    /// processes and after a restart.
    pub fn random() -> Self {
        let mut key = [0; 32];
        // Without the OS's randomness a cursor key would be guessable;
        // there is nothing sensible to do but stop.
        getrandom::fill(&mut key).unwrap_or_else(|error| {
            panic!("the operating system gave no random bytes for the cursor key: {error}")
        });
        CursorKey(key)
    }

    /// A key shared by every replica (derive it from the server's secret),
    /// so a cursor from one is good on another.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        CursorKey(key)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payload);
        mac
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(<redacted>)")
    }
}

pub(crate) fn encode(
    key: &CursorKey,
    provider: Provider,
    account: Uuid,
    position: &Position,
) -> String {
    let payload = json!({"p": provider.key(), "a": account, "s": position}).to_string();
    let tag = key.mac(payload.as_bytes()).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

pub(crate) fn decode(
    key: &CursorKey,
    provider: Provider,
    account: Uuid,
    cursor: &str,
) -> Result<Position, UnifiedError> {
    let invalid = || {
        UnifiedError::invalid(
            "next_cursor",
            "is not a cursor this API returned for this account; pass `next_cursor` from the previous page as is",
        )
    };
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    key.mac(&payload)
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    let belongs = value.get("p").and_then(Value::as_str) == Some(provider.key())
        && value.get("a").and_then(Value::as_str) == Some(account.to_string().as_str());
    if !belongs {
        return Err(invalid());
    }
    value
        .get("s")
        .and_then(|state| serde_json::from_value(state.clone()).ok())
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_provider() -> Option<Provider> {
        Provider::ALL.first().copied()
    }

    #[test]
    fn round_trips_and_refuses_forged_edited_and_foreign_cursors() {
        let Some(provider) = any_provider() else {
            return;
        };
        let key = CursorKey::random();
        let account = Uuid::from_u128(7);
        let cursor = encode(&key, provider, account, &Position::Offset(100));
        assert_eq!(
            decode(&key, provider, account, &cursor).unwrap(),
            Position::Offset(100)
        );
        // Another account, another key, an edited payload, garbage.
        assert!(decode(&key, provider, Uuid::from_u128(8), &cursor).is_err());
        assert!(decode(&CursorKey::random(), provider, account, &cursor).is_err());
        let (_, tag) = cursor.split_once('.').unwrap();
        let forged = json!({"p": provider.key(), "a": account, "s": {"offset": u64::MAX}});
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged.to_string()));
        assert!(decode(&key, provider, account, &forged).is_err());
        assert!(decode(&key, provider, account, "garbage!").is_err());
        assert!(decode(&key, provider, account, "").is_err());
    }
}
