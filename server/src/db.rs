//! SQLite storage: tenants, token hashes and integrated accounts (with
//! credentials encrypted). Created and migrated on open.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Schema versions, applied in order; `PRAGMA user_version` says how many
/// ran.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct DbError(#[from] rusqlite::Error);

/// A stored integrated account (credentials still sealed).
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: String,
    pub provider: String,
    pub base_url: Option<String>,
    pub credentials: Vec<u8>,
    pub created_at: String,
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

    /// Stores a token hash for `tenant`, creating the tenant if new.
    pub fn create_token_blocking(&self, tenant: &str, hash: &str) -> Result<(), DbError> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        transaction.commit()?;
        Ok(())
    }

    /// The tenant a token hash belongs to.
    pub async fn tenant_of(&self, hash: String) -> Result<Option<i64>, DbError> {
        self.call(move |connection| {
            connection
                .query_row(
                    "SELECT tenant_id FROM tokens WHERE hash = ?1",
                    params![hash],
                    |row| row.get(0),
                )
                .optional()
        })
        .await
    }

    pub async fn insert_account(&self, tenant: i64, row: AccountRow) -> Result<(), DbError> {
        self.call(move |connection| {
            connection.execute(
                "INSERT INTO integrated_accounts (id, tenant_id, provider, base_url, credentials, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.id, tenant, row.provider, row.base_url, row.credentials, row.created_at],
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
                    "SELECT id, provider, base_url, credentials, created_at
                     FROM integrated_accounts WHERE id = ?1 AND tenant_id = ?2",
                    params![id, tenant],
                    account_row,
                )
                .optional()
        })
        .await
    }

    pub async fn accounts(&self, tenant: i64) -> Result<Vec<AccountRow>, DbError> {
        self.call(move |connection| {
            let mut statement = connection.prepare(
                "SELECT id, provider, base_url, credentials, created_at
                 FROM integrated_accounts WHERE tenant_id = ?1 ORDER BY created_at, id",
            )?;
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

fn account_row(row: &rusqlite::Row<'_>) -> Result<AccountRow, rusqlite::Error> {
    Ok(AccountRow {
        id: row.get(0)?,
        provider: row.get(1)?,
        base_url: row.get(2)?,
        credentials: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// RFC 3339 in UTC, to the millisecond.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
