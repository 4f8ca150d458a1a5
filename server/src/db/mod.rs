//! Storage: tenants, token hashes, integrated accounts (with credentials
//! sealed) and idempotency keys, behind one trait ([`Store`]) with two
//! engines: SQLite embedded in the process (`sqlite`, the default: a file
//! path or `sqlite://PATH`) and PostgreSQL shared by several replicas
//! (`postgres`: `postgres://USER@HOST/DB`). Each engine has its own
//! versioned migrations (`server/migrations/<engine>/`), applied on open,
//! one process at a time (SQLite: an immediate transaction; PostgreSQL: a
//! transaction holding an advisory lock).
//!
//! Everything that must hold across replicas is decided by the database:
//! an idempotency key is claimed by inserting its row (the primary key
//! makes one claim win), a revoked token is refused by the next lookup,
//! and every account change bumps the account's `revision`, which a
//! server compares with what it cached.

mod postgres;
mod sqlite;

use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A migration: its version (1, 2, ...), its name and its SQL.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($engine:literal, $version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $engine, "/", $name, ".sql")),
        }
    };
}

/// SQLite's migrations, in order (`PRAGMA user_version` says how many ran).
pub const SQLITE_MIGRATIONS: &[Migration] = &[
    migration!("sqlite", 1, "0001_tenants_tokens_accounts"),
    migration!("sqlite", 2, "0002_token_ids_key_ids_settings_idempotency"),
    migration!("sqlite", 3, "0003_account_revision"),
];

/// PostgreSQL's migrations, in order (the table `schema_migrations` says
/// which ran).
pub const POSTGRES_MIGRATIONS: &[Migration] = &[migration!(
    "postgres",
    1,
    "0001_tenants_tokens_accounts_idempotency"
)];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database (sqlite): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database (postgres): {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database (postgres): no connection: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Other(String),
}

/// Where the data lives: `--database` (or `UNIFIED_DATABASE`).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (created on first start).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl std::str::FromStr for Database {
    type Err = String;

    /// `postgres://...` and `postgresql://...` are PostgreSQL;
    /// `sqlite://PATH`, `sqlite:PATH` and any other text are an SQLite
    /// file.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the database is empty: give a file path or a postgres:// URL".into());
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            postgres::check_url(text)?;
            return Ok(Database::Postgres(text.to_owned()));
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        if path.is_empty() {
            return Err("the sqlite database needs a file path (sqlite://PATH)".into());
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

impl std::fmt::Display for Database {
    /// The path, or the URL without its password (for logs and messages).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&postgres::redact_url(url)),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(_) => f
                .debug_tuple("Postgres")
                .field(&format_args!("{self}"))
                .finish(),
        }
    }
}

impl Database {
    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

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
    /// 0 when created, bumped by every change: a server that cached
    /// something for the account at another revision drops it.
    pub revision: i64,
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

/// What a store answers: a boxed future, so the trait is object-safe.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, DbError>>;

/// Everything the server keeps. Both engines answer the same way; the
/// tests in `tests/e2e.rs` run against each.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;

    /// Stores a token hash for `tenant`, creating the tenant if new;
    /// answers the token's id.
    fn create_token(&self, tenant: String, hash: String) -> StoreFuture<'_, i64>;

    /// The tokens of `tenant` (every tenant when `None`), oldest first.
    fn tokens(&self, tenant: Option<String>) -> StoreFuture<'_, Vec<TokenInfo>>;

    /// Revokes token `id`: from now on it is a 401, on every server using
    /// this store. Answers the token as it was, or `None` when there is no
    /// such token.
    fn revoke_token(&self, id: i64) -> StoreFuture<'_, Option<TokenInfo>>;

    /// The tenant a token hash belongs to, unless the token was revoked.
    fn tenant_of(&self, hash: String) -> StoreFuture<'_, Option<i64>>;

    fn insert_account(&self, row: AccountRow) -> StoreFuture<'_, ()>;

    /// Applies a change to the tenant's account `id` (bumping its
    /// revision); answers the account as it is now, or `None` when the
    /// tenant has no such account.
    fn update_account(
        &self,
        tenant: i64,
        id: String,
        change: AccountChange,
    ) -> StoreFuture<'_, Option<AccountRow>>;

    /// The tenant's account `id`; another tenant's is `None`, like a
    /// missing one.
    fn account(&self, tenant: i64, id: String) -> StoreFuture<'_, Option<AccountRow>>;

    /// The tenant's accounts, oldest first.
    fn accounts(&self, tenant: i64) -> StoreFuture<'_, Vec<AccountRow>>;

    /// Whether the tenant had that account.
    fn delete_account(&self, tenant: i64, id: String) -> StoreFuture<'_, bool>;

    /// Accounts of every tenant whose credentials are not sealed under
    /// `key_id` (or have no key id), at most `limit`, by id.
    fn accounts_not_under(&self, key_id: String, limit: u32) -> StoreFuture<'_, Vec<AccountRow>>;

    /// Replaces an account's sealed credentials if they are still
    /// `previous` (a concurrent change wins); answers whether it did.
    fn reseal(
        &self,
        id: String,
        previous: Vec<u8>,
        key_id: String,
        credentials: Vec<u8>,
    ) -> StoreFuture<'_, bool>;

    /// How many accounts' credentials are sealed under each key id (`None`
    /// for values without one).
    fn key_usage(&self) -> StoreFuture<'_, Vec<(Option<String>, i64)>>;

    /// Claims idempotency key `key` of `tenant` for a request with hash
    /// `hash`, at Unix time `now`; a stored answer lives until `expires`.
    /// When several requests (on several servers) claim one key at once,
    /// exactly one gets [`Claim::New`].
    fn claim_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        hash: String,
        now: i64,
        expires: i64,
    ) -> StoreFuture<'_, Claim>;

    /// Stores the answer of the request that claimed the key.
    fn complete_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreFuture<'_, ()>;

    /// Frees a key whose request ended without an answer worth keeping
    /// (rate limited, internal error): the next request with it runs.
    fn release_idempotency_key(&self, tenant: i64, key: String) -> StoreFuture<'_, ()>;
}

/// The store a server or a command uses (cheap to clone).
#[derive(Clone, Debug)]
pub struct Db(Arc<dyn Store>);

impl std::ops::Deref for Db {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl Db {
    /// Opens (creating and migrating) the database `database` names.
    pub async fn connect(database: &Database) -> Result<Self, DbError> {
        match database {
            Database::Sqlite(path) => Self::open(path),
            Database::Postgres(url) => Ok(Db(Arc::new(PostgresStore::connect(url).await?))),
        }
    }

    /// Opens (creating and migrating) the SQLite file `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Ok(Db(Arc::new(SqliteStore::open(path)?)))
    }

    /// A fresh SQLite database in memory (tests).
    pub fn open_in_memory() -> Result<Self, DbError> {
        Ok(Db(Arc::new(SqliteStore::open_in_memory()?)))
    }

    /// Uses a store made elsewhere.
    pub fn from_store(store: Arc<dyn Store>) -> Self {
        Db(store)
    }
}

/// RFC 3339 in UTC, to the millisecond.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_parse_by_scheme_and_show_no_password() {
        let parse = |text: &str| text.parse::<Database>();
        assert_eq!(
            parse("./unified.sqlite").unwrap(),
            Database::Sqlite("./unified.sqlite".into())
        );
        assert_eq!(
            parse("sqlite:///var/lib/unified.sqlite").unwrap(),
            Database::Sqlite("/var/lib/unified.sqlite".into())
        );
        assert_eq!(
            parse("sqlite:data.sqlite").unwrap(),
            Database::Sqlite("data.sqlite".into())
        );
        let postgres = parse("postgres://app:s3cret@db.internal/crm").unwrap();
        assert_eq!(postgres.engine(), "postgres");
        assert!(postgres.sqlite_path().is_none());
        assert_eq!(postgres.to_string(), "postgres://app:***@db.internal/crm");
        assert!(!format!("{postgres:?}").contains("s3cret"));
        assert_eq!(
            parse("postgresql://app@db.internal/crm").unwrap().engine(),
            "postgres"
        );
        for bad in ["", "sqlite://", "postgres://app@db/crm?sslmode=require"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
