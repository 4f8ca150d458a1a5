//! The SQLite store: one connection behind a mutex (SQLite serialises
//! writes anyway, and every query here is a single indexed lookup), run
//! off the async threads. Migrations by `PRAGMA user_version`, each in an
//! immediate transaction that reads the version again, so two processes
//! opening one new file at once migrate it once.

use super::{
    AccountChange, AccountRow, Claim, DbError, Migration, SQLITE_MIGRATIONS, Store, StoreFuture,
    TokenInfo, now,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The SQLite engine.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Self::init(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut connection: Connection) -> Result<Self, DbError> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "foreign_keys", true)?;
        // WAL is refused by in-memory databases; that is fine.
        let _ = connection.pragma_update(None, "journal_mode", "WAL");
        migrate(&mut connection, SQLITE_MIGRATIONS)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the connection off the async threads.
    fn call<T, F>(&self, work: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let connection = self.connection.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut connection = connection
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                work(&mut connection)
            })
            .await
            .map_err(|error| DbError::Other(format!("a database task failed: {error}")))?
            .map_err(DbError::Sqlite)
        })
    }
}

/// Applies the migrations not yet applied, each in an immediate
/// transaction (the write lock is taken before the version is read).
pub(super) fn migrate(
    connection: &mut Connection,
    migrations: &[Migration],
) -> Result<(), DbError> {
    for migration in migrations {
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 =
            transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if migration.version > version {
            transaction.execute_batch(migration.sql)?;
            transaction.pragma_update(None, "user_version", migration.version)?;
            tracing::info!(
                engine = "sqlite",
                version = migration.version,
                name = migration.name,
                "database migrated"
            );
        }
        transaction.commit()?;
    }
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = migrations.last().map_or(0, |migration| migration.version);
    if version > known {
        tracing::warn!(
            version,
            known,
            "the database was migrated by a newer server; this one knows fewer migrations"
        );
    }
    Ok(())
}

impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    fn create_token(&self, tenant: String, hash: String) -> StoreFuture<'_, i64> {
        self.call(move |connection| {
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
        })
    }

    fn tokens(&self, tenant: Option<String>) -> StoreFuture<'_, Vec<TokenInfo>> {
        self.call(move |connection| {
            let mut statement = connection.prepare(
                "SELECT tokens.id, tenants.name, tokens.created_at, tokens.revoked_at
                 FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id
                 WHERE ?1 IS NULL OR tenants.name = ?1 ORDER BY tokens.id",
            )?;
            let rows = statement.query_map(params![tenant], token_info)?;
            rows.collect()
        })
    }

    fn revoke_token(&self, id: i64) -> StoreFuture<'_, Option<TokenInfo>> {
        self.call(move |connection| {
            let transaction = connection.transaction()?;
            let token = transaction
                .query_row(
                    "SELECT tokens.id, tenants.name, tokens.created_at, tokens.revoked_at
                     FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id WHERE tokens.id = ?1",
                    params![id],
                    token_info,
                )
                .optional()?;
            if token
                .as_ref()
                .is_some_and(|token| token.revoked_at.is_none())
            {
                transaction.execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now()],
                )?;
            }
            transaction.commit()?;
            Ok(token)
        })
    }

    fn tenant_of(&self, hash: String) -> StoreFuture<'_, Option<i64>> {
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT tenant_id FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
                    params![hash],
                    |row| row.get(0),
                )
                .optional()
        })
    }

    fn insert_account(&self, row: AccountRow) -> StoreFuture<'_, ()> {
        self.call(move |connection| {
            connection.execute(
                "INSERT INTO integrated_accounts
                 (id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at, revision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                    row.revision,
                ],
            )?;
            Ok(())
        })
    }

    fn update_account(
        &self,
        tenant: i64,
        id: String,
        change: AccountChange,
    ) -> StoreFuture<'_, Option<AccountRow>> {
        self.call(move |connection| {
            let transaction = connection.transaction()?;
            let now = now();
            let updated = transaction.execute(
                "UPDATE integrated_accounts SET updated_at = ?3, revision = revision + 1
                 WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant, now],
            )?;
            if updated == 0 {
                return Ok(None);
            }
            if let Some(base_url) = &change.base_url {
                transaction.execute(
                    "UPDATE integrated_accounts SET base_url = ?3 WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, base_url],
                )?;
            }
            if let Some((key_id, credentials)) = &change.sealed {
                transaction.execute(
                    "UPDATE integrated_accounts SET credentials = ?3, key_id = ?4
                     WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, credentials, key_id],
                )?;
            }
            if let Some(settings) = &change.settings {
                transaction.execute(
                    "UPDATE integrated_accounts SET settings = ?3 WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant, settings],
                )?;
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
    }

    fn account(&self, tenant: i64, id: String) -> StoreFuture<'_, Option<AccountRow>> {
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
    }

    fn accounts(&self, tenant: i64) -> StoreFuture<'_, Vec<AccountRow>> {
        self.call(move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
                 WHERE tenant_id = ?1 ORDER BY created_at, id"
            ))?;
            let rows = statement.query_map(params![tenant], account_row)?;
            rows.collect()
        })
    }

    fn delete_account(&self, tenant: i64, id: String) -> StoreFuture<'_, bool> {
        self.call(move |connection| {
            let deleted = connection.execute(
                "DELETE FROM integrated_accounts WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant],
            )?;
            Ok(deleted > 0)
        })
    }

    fn accounts_not_under(&self, key_id: String, limit: u32) -> StoreFuture<'_, Vec<AccountRow>> {
        self.call(move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
                 WHERE key_id IS NULL OR key_id != ?1 ORDER BY id LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![key_id, limit], account_row)?;
            rows.collect()
        })
    }

    fn reseal(
        &self,
        id: String,
        previous: Vec<u8>,
        key_id: String,
        credentials: Vec<u8>,
    ) -> StoreFuture<'_, bool> {
        self.call(move |connection| {
            let updated = connection.execute(
                "UPDATE integrated_accounts SET credentials = ?3, key_id = ?4
                 WHERE id = ?1 AND credentials = ?2",
                params![id, previous, credentials, key_id],
            )?;
            Ok(updated > 0)
        })
    }

    fn key_usage(&self) -> StoreFuture<'_, Vec<(Option<String>, i64)>> {
        self.call(|connection| {
            let mut statement = connection.prepare(
                "SELECT key_id, COUNT(*) FROM integrated_accounts GROUP BY key_id ORDER BY key_id",
            )?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
    }

    fn claim_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        hash: String,
        now: i64,
        expires: i64,
    ) -> StoreFuture<'_, Claim> {
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
    }

    fn complete_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreFuture<'_, ()> {
        self.call(move |connection| {
            connection.execute(
                "UPDATE idempotency_keys SET status = ?3, body = ?4
                 WHERE tenant_id = ?1 AND key = ?2 AND status IS NULL",
                params![tenant, key, status, body],
            )?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: i64, key: String) -> StoreFuture<'_, ()> {
        self.call(move |connection| {
            connection.execute(
                "DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2 AND status IS NULL",
                params![tenant, key],
            )?;
            Ok(())
        })
    }
}

fn token_info(row: &rusqlite::Row<'_>) -> Result<TokenInfo, rusqlite::Error> {
    Ok(TokenInfo {
        id: row.get(0)?,
        tenant: row.get(1)?,
        created_at: row.get(2)?,
        revoked_at: row.get(3)?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at, revision";

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
        revision: row.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

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
                    SQLITE_MIGRATIONS[0].sql
                ))
                .unwrap();
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.tenant_of("h2".into()).await.unwrap(), Some(1));
        let tokens = db.tokens(Some("acme".into())).await.unwrap();
        let ids: Vec<i64> = tokens.iter().map(|token| token.id).collect();
        assert_eq!(ids, [1, 2]);
        let row = db.account(1, "a1".into()).await.unwrap().unwrap();
        assert_eq!(row.key_id, None);
        assert_eq!(row.settings, "{}");
        assert_eq!(row.tenant_id, 1);
        assert_eq!(row.revision, 0);
        // Opening again runs nothing twice.
        drop(db);
        let db = Db::open(&path).unwrap();
        assert!(db.revoke_token(2).await.unwrap().is_some());
        assert_eq!(db.tenant_of("h2".into()).await.unwrap(), None);
        assert_eq!(db.tenant_of("h1".into()).await.unwrap(), Some(1));
        // A new token never reuses a revoked one's id.
        assert_eq!(
            db.create_token("acme".into(), "h3".into()).await.unwrap(),
            3
        );
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SQLITE_MIGRATIONS.len() as i64);
    }

    #[test]
    fn processes_opening_a_new_file_at_once_migrate_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}
