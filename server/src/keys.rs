//! `server keys rotate`: every stored credential re-encrypted under a new
//! key, while servers keep running.
//!
//! With the key file: a new key is appended (servers re-read the file when
//! it changes, so they open values under either key and seal under the new
//! one), every credential not yet under it is re-sealed (a row changed
//! meanwhile is left to its writer and looked at again), and once none is
//! left under an old key, the old keys are removed from the file. With
//! `UNIFIED_SECRET_KEY`: the operator lists the new key last (old ones
//! before it) for the servers and for this command; the values are
//! re-sealed under it, and the old keys can then be dropped from the
//! variable. Values sealed before key ids were recorded are upgraded too
//! (their associated data becomes account, tenant and provider).

use crate::crypto::{self, Cipher, credentials_aad, legacy_aad};
use crate::db::Db;

/// What a rotation did.
#[derive(Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The key everything is sealed under now.
    pub key_id: String,
    /// Whether this command made that key (key file), or took the last of
    /// `UNIFIED_SECRET_KEY`.
    pub generated: bool,
    /// Credentials re-encrypted.
    pub resealed: usize,
    /// Keys removed from the key file.
    pub removed: Vec<String>,
}

const BATCH: u32 = 500;
const MAX_PASSES: usize = 20;

/// Rotates the credentials of `db` under the keys of `cipher` (see the
/// module documentation).
pub async fn rotate(db: &Db, cipher: &Cipher) -> Result<Rotation, String> {
    let generated = match cipher.key_file() {
        Some(path) => {
            let mut keys = crypto::key_file_keys(path).map_err(|error| error.to_string())?;
            keys.push(crypto::new_key().map_err(|error| error.to_string())?);
            crypto::write_key_file(path, &keys).map_err(|error| error.to_string())?;
            cipher.refresh();
            true
        }
        None => false,
    };
    let key_id = cipher.current_key_id().ok_or("the key ring is empty")?;
    let mut resealed = 0;
    let mut done = false;
    for _ in 0..MAX_PASSES {
        let rows = db
            .accounts_not_under(key_id.clone(), BATCH)
            .await
            .map_err(|error| error.to_string())?;
        if rows.is_empty() {
            done = true;
            break;
        }
        for row in rows {
            let old_aad = match &row.key_id {
                Some(_) => credentials_aad(&row.id, row.tenant_id, &row.provider),
                None => legacy_aad(&row.id),
            };
            let plaintext = cipher
                .open(row.key_id.as_deref(), &row.credentials, &old_aad)
                .map_err(|error| format!("account {}: {error}", row.id))?;
            let sealed = cipher
                .seal(
                    &plaintext,
                    &credentials_aad(&row.id, row.tenant_id, &row.provider),
                )
                .map_err(|error| format!("account {}: {error}", row.id))?;
            if sealed.key_id != key_id {
                return Err(
                    "the key file changed during the rotation (another `keys rotate`?); run it again"
                        .into(),
                );
            }
            if db
                .reseal(row.id.clone(), row.credentials, sealed.key_id, sealed.blob)
                .await
                .map_err(|error| error.to_string())?
            {
                resealed += 1;
            }
        }
    }
    if !done {
        return Err(format!(
            "credentials kept changing during {MAX_PASSES} passes; {resealed} were re-encrypted, run `keys rotate` again"
        ));
    }
    let mut removed = Vec::new();
    if let Some(path) = cipher.key_file() {
        let keys = crypto::key_file_keys(path).map_err(|error| error.to_string())?;
        let (keep, old): (Vec<[u8; 32]>, Vec<[u8; 32]>) = keys
            .into_iter()
            .partition(|key| crypto::key_id(key) == key_id);
        if keep.is_empty() {
            return Err(
                "the new key is no longer in the key file (another `keys rotate`?); old keys kept"
                    .into(),
            );
        }
        let usage = db.key_usage().await.map_err(|error| error.to_string())?;
        if usage
            .iter()
            .any(|(id, count)| *count > 0 && id.as_deref() != Some(key_id.as_str()))
        {
            return Err(
                "some credentials are still under an old key; old keys kept, run `keys rotate` again"
                    .into(),
            );
        }
        crypto::write_key_file(path, &keep[..1]).map_err(|error| error.to_string())?;
        removed = old.iter().map(crypto::key_id).collect();
    }
    Ok(Rotation {
        key_id,
        generated,
        resealed,
        removed,
    })
}
