//! SQLite storage: tenants, token hashes, integrated accounts (with
//! credentials encrypted) and idempotency keys. Created and migrated on
//! open.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Schema versions, applied in order; `PRAGMA user_version` says how many
/// ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE TABLE integrated_accounts (
    id TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    base_url TEXT,
    credentials BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX integrated_accounts_tenant ON integrated_accounts(tenant_id, created_at);
"#,
    // Token ids (for `token list` / `token revoke`), the sealing key of
    // each credential, account settings, idempotency keys.
    r#"
CREATE TABLE tokens_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
INSERT INTO tokens_v2 (hash, tenant_id, created_at)
    SELECT hash, tenant_id, created_at FROM tokens ORDER BY rowid;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE INDEX tokens_tenant ON tokens(tenant_id, id);
ALTER TABLE integrated_accounts ADD COLUMN key_id TEXT;
ALTER TABLE integrated_accounts ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE integrated_accounts ADD COLUMN updated_at TEXT;
CREATE TABLE idempotency_keys (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
"#,
];

#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct DbError(#[from] rusqlite::Error);

/// A stored integrated account (credentials still sealed).
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: String,
    pub tenant_id: i64,
    pub provider: String,
    pub base_url: Option<String>,
    pub credentials: Vec<u8>,
    /// The id of the key that sealed `credentials`; `None` for values
    /// sealed before key ids were recorded (associated data: the account
    /// id alone).
    pub key_id: Option<String>,
    /// A JSON object of non-secret per-account options.
    pub settings: String,
    pub created_at: String,
    pub updated_at: Option<String>,
}

/// What `PATCH /integrated-accounts/{id}` changes.
#[derive(Clone, Debug)]
pub struct AccountChange {
    pub base_url: Option<Option<String>>,
    pub sealed: Option<(String, Vec<u8>)>,
    pub settings: Option<String>,
}

/// A token, without its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub tenant: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The state of an idempotency key when a request claims it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: this request runs, and its answer is stored.
    New,
    /// The same request already ran: its answer.
    Done { status: u16, body: Vec<u8> },
    /// The same request is still running (since `created_at`, Unix
    /// seconds).
    InFlight { created_at: i64 },
    /// The key was used with another request.
    Mismatch,
}

/// One connection behind a mutex: SQLite serialises writes anyway, and
/// every query here is a single indexed lookup.
#[derive(Clone, Debug)]
pub struct Db {
    connection: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Self::init(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(connection: Connection) -> Result<Self, DbError> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "foreign_keys", true)?;
        // WAL is refused by in-memory databases; that is fine.
        let _ = connection.pragma_update(None, "journal_mode", "WAL");
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            let Ok(number) = i64::try_from(index + 1) else {
                break;
            };
            if number > version {
                connection.execute_batch(&format!(
                    "BEGIN; {migration}; PRAGMA user_version = {number}; COMMIT;"
                ))?;
            }
        }
        Ok(Db {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the connection off the async threads.
    pub async fn call<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(|_| DbError(rusqlite::Error::InvalidQuery))?
        .map_err(DbError)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a token hash for `tenant`, creating the tenant if new;
    /// answers the token's id.
    pub fn create_token_blocking(&self, tenant: &str, hash: &str) -> Result<i64, DbError> {
        let mut connection = self.lock();
        let now = now();
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO tenants (name, created_at) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![tenant, now],
        )?;
        let tenant_id: i64 = transaction.query_row(
            "SELECT id FROM tenants WHERE name = ?1",
            params![tenant],
            |row| row.get(0),
        )?;
        transaction.execute(
            "INSERT INTO tokens (hash, tenant_id, created_at) VALUES (?1, ?2, ?3)",
            params![hash, tenant_id, now],
        )?;
        let id = transaction.last_insert_rowid();
        transaction.commit()?;
        Ok(id)
    }

    /// The tokens of `tenant` (every tenant when `None`), oldest first.
    pub fn tokens_blocking(&self, tenant: Option<&str>) -> Result<Vec<TokenInfo>, DbError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT tokens.id, tenants.name, tokens.created_at, tokens.revoked_at
             FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id
             WHERE ?1 IS NULL OR tenants.name = ?1 ORDER BY tokens.id",
        )?;
        let rows = statement.query_map(params![tenant], |row| {
            Ok(TokenInfo {
                id: row.get(0)?,
                tenant: row.get(1)?,
                created_at: row.get(2)?,
                revoked_at: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes token `id`: from now on it is a 401. Answers the token as it
    /// was, or `None` when there is no such token.
    pub fn revoke_token_blocking(&self, id: i64) -> Result<Option<TokenInfo>, DbError> {
        let connection = self.lock();
        let token = connection
            .query_row(
                "SELECT tokens.id, tenants.name, tokens.created_at, tokens.revoked_at
                 FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id WHERE tokens.id = ?1",
                params![id],
                |row| {
                    Ok(TokenInfo {
                        id: row.get(0)?,
                        tenant: row.get(1)?,
                        created_at: row.get(2)?,
                        revoked_at: row.get(3)?,
                    })
                },
            )
            .optional()?;
        if token
            .as_ref()
            .is_some_and(|token| token.revoked_at.is_none())
        {
            connection.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now()],
            )?;
        }
        Ok(token)
    }

    /// The tenant a token hash belongs to, unless the token was revoked.
    pub async fn tenant_of(&self, hash: String) -> Result<Option<i64>, DbError> {
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT tenant_id FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
                    params![hash],
                    |row| row.get(0),
                )
                .optional()
        })
        .await
    }

    pub async fn insert_account(&self, row: AccountRow) -> Result<(), DbError> {
        self.call(move |connection| {
            connection.execute(
                "INSERT INTO integrated_accounts
                 (id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    row.id,
                    row.tenant_id,
                    row.provider,
                    row.base_url,
                    row.credentials,
                    row.key_id,
                    row.settings,
                    row.created_at,
                    row.updated_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Applies a change to the tenant's account `id`; answers the account
    /// as it is now, or `None` when the tenant has no such account.
    pub async fn update_account(
        &self,
        tenant: i64,
        id: String,
        change: AccountChange,
    ) -> Result<Option<AccountRow>, DbError> {
        self.call(move |connection| {
            let transaction = connection.transaction()?;
            let now = now();
            let mut updated = transaction.execute(
                "UPDATE integrated_accounts SET updated_at = ?3 WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant, now],
            )?;
            if let Some(base_url) = &change.base_url {
                updated = transaction.execute(
                    "UPDATE integrated_accounts SET base_url = ?3 WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, base_url],
                )?;
            }
            if let Some((key_id, credentials)) = &change.sealed {
                updated = transaction.execute(
                    "UPDATE integrated_accounts SET credentials = ?3, key_id = ?4
                     WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, credentials, key_id],
                )?;
            }
            if let Some(settings) = &change.settings {
                updated = transaction.execute(
                    "UPDATE integrated_accounts SET settings = ?3 WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, settings],
                )?;
            }
            if updated == 0 {
                return Ok(None);
            }
            let row = transaction
                .query_row(
                    &format!("SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts WHERE id = ?1 AND tenant_id = ?2"),
                    params![id, tenant],
                    account_row,
                )
                .optional()?;
            transaction.commit()?;
            Ok(row)
        })
        .await
    }

    /// Accounts of every tenant whose credentials are not sealed under
    /// `key_id` (or have no key id), at most `limit`.
    pub fn accounts_not_under_blocking(
        &self,
        key_id: &str,
        limit: u32,
    ) -> Result<Vec<AccountRow>, DbError> {
        let connection = self.lock();
        let mut statement = connection.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
             WHERE key_id IS NULL OR key_id != ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![key_id, limit], account_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces an account's sealed credentials if they are still
    /// `previous` (a concurrent change wins); answers whether it did.
    pub fn reseal_blocking(
        &self,
        id: &str,
        previous: &[u8],
        key_id: &str,
        credentials: &[u8],
    ) -> Result<bool, DbError> {
        let connection = self.lock();
        let updated = connection.execute(
            "UPDATE integrated_accounts SET credentials = ?3, key_id = ?4
             WHERE id = ?1 AND credentials = ?2",
            params![id, previous, credentials, key_id],
        )?;
        Ok(updated > 0)
    }

    /// How many accounts' credentials are sealed under each key id (`None`
    /// for values without one).
    pub fn key_usage_blocking(&self) -> Result<Vec<(Option<String>, i64)>, DbError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT key_id, COUNT(*) FROM integrated_accounts GROUP BY key_id ORDER BY key_id",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Claims idempotency key `key` of `tenant` for a request with hash
    /// `hash`, at Unix time `now`; a stored answer lives until `expires`.
    pub async fn claim_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        hash: String,
        now: i64,
        expires: i64,
    ) -> Result<Claim, DbError> {
        self.call(move |connection| {
            let transaction =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            transaction.execute(
                "DELETE FROM idempotency_keys WHERE expires_at <= ?1",
                params![now],
            )?;
            let existing = transaction
                .query_row(
                    "SELECT request_hash, status, body, created_at FROM idempotency_keys
                     WHERE tenant_id = ?1 AND key = ?2",
                    params![tenant, key],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<u16>>(1)?,
                            row.get::<_, Option<Vec<u8>>>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            let claim = match existing {
                None => {
                    transaction.execute(
                        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![tenant, key, hash, now, expires],
                    )?;
                    Claim::New
                }
                Some((stored, _, _, _)) if stored != hash => Claim::Mismatch,
                Some((_, Some(status), body, _)) => Claim::Done {
                    status,
                    body: body.unwrap_or_default(),
                },
                Some((_, None, _, created_at)) => Claim::InFlight { created_at },
            };
            transaction.commit()?;
            Ok(claim)
        })
        .await
    }

    /// Stores the answer of the request that claimed the key.
    pub async fn complete_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> Result<(), DbError> {
        self.call(move |connection| {
            connection.execute(
                "UPDATE idempotency_keys SET status = ?3, body = ?4
                 WHERE tenant_id = ?1 AND key = ?2 AND status IS NULL",
                params![tenant, key, status, body],
            )?;
            Ok(())
        })
        .await
    }

    /// Frees a key whose request ended without an answer worth keeping
    /// (rate limited, internal error): the next request with it runs.
    pub async fn release_idempotency_key(&self, tenant: i64, key: String) -> Result<(), DbError> {
        self.call(move |connection| {
            connection.execute(
                "DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2 AND status IS NULL",
                params![tenant, key],
            )?;
            Ok(())
        })
        .await
    }

    /// The tenant's account `id`; another tenant's is `None`, like a
    /// missing one.
    pub async fn account(&self, tenant: i64, id: String) -> Result<Option<AccountRow>, DbError> {
        self.call(move |connection| {
            connection
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts WHERE id = ?1 AND tenant_id = ?2"
                    ),
                    params![id, tenant],
                    account_row,
                )
                .optional()
        })
        .await
    }

    pub async fn accounts(&self, tenant: i64) -> Result<Vec<AccountRow>, DbError> {
        self.call(move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
                 WHERE tenant_id = ?1 ORDER BY created_at, id"
            ))?;
            let rows = statement.query_map(params![tenant], account_row)?;
            rows.collect()
        })
        .await
    }

    /// Whether the tenant had that account.
    pub async fn delete_account(&self, tenant: i64, id: String) -> Result<bool, DbError> {
        self.call(move |connection| {
            let deleted = connection.execute(
                "DELETE FROM integrated_accounts WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant],
            )?;
            Ok(deleted > 0)
        })
        .await
    }
}

const ACCOUNT_COLUMNS: &str =
    "id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at";

fn account_row(row: &rusqlite::Row<'_>) -> Result<AccountRow, rusqlite::Error> {
    Ok(AccountRow {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        provider: row.get(2)?,
        base_url: row.get(3)?,
        credentials: row.get(4)?,
        key_id: row.get(5)?,
        settings: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

/// RFC 3339 in UTC, to the millisecond.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_version_1_database_is_migrated_keeping_tokens_and_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(&format!(
                    "BEGIN; {}; PRAGMA user_version = 1; COMMIT;
                     INSERT INTO tenants (name, created_at) VALUES ('acme', 'then');
                     INSERT INTO tokens (hash, tenant_id, created_at) VALUES ('h1', 1, 'then');
                     INSERT INTO tokens (hash, tenant_id, created_at) VALUES ('h2', 1, 'later');
                     INSERT INTO integrated_accounts (id, tenant_id, provider, base_url, credentials, created_at)
                       VALUES ('a1', 1, 'close', NULL, x'00', 'then');",
                    MIGRATIONS[0]
                ))
                .unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.tenant_of("h2".into()).await.unwrap(), Some(1));
        let tokens = db.tokens_blocking(Some("acme")).unwrap();
        let ids: Vec<i64> = tokens.iter().map(|token| token.id).collect();
        assert_eq!(ids, [1, 2]);
        let row = db.account(1, "a1".into()).await.unwrap().unwrap();
        assert_eq!(row.key_id, None);
        assert_eq!(row.settings, "{}");
        assert_eq!(row.tenant_id, 1);
        // Opening again runs nothing twice.
        drop(db);
        let db = Db::open(&path).unwrap();
        assert!(db.revoke_token_blocking(2).unwrap().is_some());
        assert_eq!(db.tenant_of("h2".into()).await.unwrap(), None);
        assert_eq!(db.tenant_of("h1".into()).await.unwrap(), Some(1));
        // A new token never reuses a revoked one's id.
        assert_eq!(db.create_token_blocking("acme", "h3").unwrap(), 3);
    }

    #[tokio::test]
    async fn idempotency_claims() {
        let db = Db::open_in_memory().unwrap();
        db.create_token_blocking("acme", "h").unwrap();
        let claim = |key: &str, hash: &str, now: i64| {
            db.claim_idempotency_key(1, key.into(), hash.into(), now, now + 100)
        };
        assert_eq!(claim("k", "x", 0).await.unwrap(), Claim::New);
        assert_eq!(
            claim("k", "x", 5).await.unwrap(),
            Claim::InFlight { created_at: 0 }
        );
        assert_eq!(claim("k", "y", 5).await.unwrap(), Claim::Mismatch);
        db.complete_idempotency_key(1, "k".into(), 201, b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(
            claim("k", "x", 6).await.unwrap(),
            Claim::Done {
                status: 201,
                body: b"{}".to_vec()
            }
        );
        // Expired: the key is new again.
        assert_eq!(claim("k", "y", 100).await.unwrap(), Claim::New);
        // A released key runs again; a completed one is not released.
        db.release_idempotency_key(1, "k".into()).await.unwrap();
        assert_eq!(claim("k", "z", 101).await.unwrap(), Claim::New);
    }
}
