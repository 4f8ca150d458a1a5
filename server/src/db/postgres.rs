//! The PostgreSQL store, for several server replicas on one database: a
//! pool of connections (`deadpool-postgres` over `tokio-postgres`),
//! statements prepared once per connection, and migrations applied in one
//! transaction that first takes an advisory lock, so replicas starting at
//! once migrate one after the other (the second finds nothing to do).
//!
//! Connections are plain TCP or a Unix socket (`host=/run/postgresql`):
//! TLS to the database is not built in, so `sslmode=require` is refused;
//! reach a remote database over a private network or a TLS tunnel.

use super::{
    AccountChange, AccountRow, Claim, DbError, Migration, POSTGRES_MIGRATIONS, Store, StoreFuture,
    TokenInfo, now,
};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::{NoTls, Row};

/// The advisory lock held while migrating (any number unique to this
/// application within the database: "unified" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x0075_6e69_6669_6564;
/// Connections per server process.
const POOL_SIZE: usize = 16;
/// How long a request waits for a connection, and a connection for the
/// database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Expired idempotency keys are swept at most this often per process (the
/// key being claimed is always checked).
const PURGE_EVERY_SECONDS: i64 = 60;

/// The PostgreSQL engine.
pub struct PostgresStore {
    pool: Pool,
    last_purge: AtomicI64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish()
    }
}

/// Checks a `postgres://` URL before anything connects: it must parse,
/// and it must not ask for TLS (not built in).
pub(super) fn check_url(url: &str) -> Result<(), String> {
    let config: tokio_postgres::Config = url.parse().map_err(|error| {
        format!(
            "the PostgreSQL URL {} does not parse: {error}",
            redact_url(url)
        )
    })?;
    if config.get_ssl_mode() == SslMode::Require {
        return Err(
            "sslmode=require: TLS to PostgreSQL is not built into this server; connect over a private network, a Unix socket (host=/run/postgresql) or a TLS tunnel, with sslmode=disable or prefer"
                .into(),
        );
    }
    Ok(())
}

/// The URL with its password (in the user info or a `password=`
/// parameter) replaced by `***`, for logs and messages.
pub(super) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{hosts}"),
            None => format!("{user_info}@{hosts}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl PostgresStore {
    /// Connects (a pool; one connection is made at once to migrate) and
    /// applies the migrations not yet applied.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        check_url(url).map_err(DbError::Other)?;
        let mut config: tokio_postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("unified-crm-server");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| DbError::Pool(error.to_string()))?;
        let store = PostgresStore {
            pool,
            last_purge: AtomicI64::new(0),
        };
        store.migrate(POSTGRES_MIGRATIONS).await?;
        Ok(store)
    }

    async fn client(&self) -> Result<Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|error| DbError::Pool(error.to_string()))
    }

    /// Applies the migrations not yet applied, all in one transaction that
    /// holds the advisory lock [`MIGRATION_LOCK`]: a replica starting
    /// while another migrates waits, then finds them applied.
    async fn migrate(&self, migrations: &[Migration]) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
                 CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY,
                     name TEXT NOT NULL,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 );"
            ))
            .await?;
        let applied = transaction
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|row| row.try_get::<_, i64>(0))
            .collect::<Result<Vec<i64>, _>>()?;
        for migration in migrations {
            if applied.contains(&migration.version) {
                continue;
            }
            transaction.batch_execute(migration.sql).await?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[&migration.version, &migration.name],
                )
                .await?;
            tracing::info!(
                engine = "postgres",
                version = migration.version,
                name = migration.name,
                "database migrated"
            );
        }
        let known = migrations.last().map_or(0, |migration| migration.version);
        if applied.iter().any(|version| *version > known) {
            tracing::warn!(
                known,
                "the database was migrated by a newer server; this one knows fewer migrations"
            );
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Deletes expired idempotency keys, at most once a minute per process.
    async fn purge_expired(&self, client: &Object, now: i64) -> Result<(), DbError> {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now - last < PURGE_EVERY_SECONDS
            || self
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        let statement = client
            .prepare_cached("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .await?;
        client.execute(&statement, &[&now]).await?;
        Ok(())
    }
}

const ACCOUNT_COLUMNS: &str = "id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at, revision";

fn account_row(row: &Row) -> Result<AccountRow, DbError> {
    Ok(AccountRow {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        provider: row.try_get(2)?,
        base_url: row.try_get(3)?,
        credentials: row.try_get(4)?,
        key_id: row.try_get(5)?,
        settings: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        revision: row.try_get(9)?,
    })
}

fn token_info(row: &Row) -> Result<TokenInfo, DbError> {
    Ok(TokenInfo {
        id: row.try_get(0)?,
        tenant: row.try_get(1)?,
        created_at: row.try_get(2)?,
        revoked_at: row.try_get(3)?,
    })
}

const TOKEN_COLUMNS: &str = "SELECT tokens.id, tenants.name, tokens.created_at, tokens.revoked_at
     FROM tokens JOIN tenants ON tenants.id = tokens.tenant_id";

impl Store for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn create_token(&self, tenant: String, hash: String) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let now = now();
            let transaction = client.transaction().await?;
            // Two commands creating one new tenant at once: the second
            // insert waits for the first and does nothing; the select then
            // sees the tenant.
            transaction
                .execute(
                    "INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    &[&tenant, &now],
                )
                .await?;
            let tenant_id: i64 = transaction
                .query_one("SELECT id FROM tenants WHERE name = $1", &[&tenant])
                .await?
                .try_get(0)?;
            let id: i64 = transaction
                .query_one(
                    "INSERT INTO tokens (hash, tenant_id, created_at) VALUES ($1, $2, $3) RETURNING id",
                    &[&hash, &tenant_id, &now],
                )
                .await?
                .try_get(0)?;
            transaction.commit().await?;
            Ok(id)
        })
    }

    fn tokens(&self, tenant: Option<String>) -> StoreFuture<'_, Vec<TokenInfo>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = match &tenant {
                Some(tenant) => {
                    client
                        .query(
                            &format!("{TOKEN_COLUMNS} WHERE tenants.name = $1 ORDER BY tokens.id"),
                            &[tenant],
                        )
                        .await?
                }
                None => {
                    client
                        .query(&format!("{TOKEN_COLUMNS} ORDER BY tokens.id"), &[])
                        .await?
                }
            };
            rows.iter().map(token_info).collect()
        })
    }

    fn revoke_token(&self, id: i64) -> StoreFuture<'_, Option<TokenInfo>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let transaction = client.transaction().await?;
            let token = transaction
                .query_opt(
                    &format!("{TOKEN_COLUMNS} WHERE tokens.id = $1 FOR UPDATE OF tokens"),
                    &[&id],
                )
                .await?
                .as_ref()
                .map(token_info)
                .transpose()?;
            if token
                .as_ref()
                .is_some_and(|token| token.revoked_at.is_none())
            {
                transaction
                    .execute(
                        "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                        &[&id, &now()],
                    )
                    .await?;
            }
            transaction.commit().await?;
            Ok(token)
        })
    }

    fn tenant_of(&self, hash: String) -> StoreFuture<'_, Option<i64>> {
        Box::pin(async move {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT tenant_id FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
                )
                .await?;
            match client.query_opt(&statement, &[&hash]).await? {
                Some(row) => Ok(Some(row.try_get(0)?)),
                None => Ok(None),
            }
        })
    }

    fn insert_account(&self, row: AccountRow) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO integrated_accounts
                     (id, tenant_id, provider, base_url, credentials, key_id, settings, created_at, updated_at, revision)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .await?;
            client
                .execute(
                    &statement,
                    &[
                        &row.id,
                        &row.tenant_id,
                        &row.provider,
                        &row.base_url,
                        &row.credentials,
                        &row.key_id,
                        &row.settings,
                        &row.created_at,
                        &row.updated_at,
                        &row.revision,
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn update_account(
        &self,
        tenant: i64,
        id: String,
        change: AccountChange,
    ) -> StoreFuture<'_, Option<AccountRow>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let transaction = client.transaction().await?;
            let updated = transaction
                .execute(
                    "UPDATE integrated_accounts SET updated_at = $3, revision = revision + 1
                     WHERE id = $1 AND tenant_id = $2",
                    &[&id, &tenant, &now()],
                )
                .await?;
            if updated == 0 {
                return Ok(None);
            }
            if let Some(base_url) = &change.base_url {
                transaction
                    .execute(
                        "UPDATE integrated_accounts SET base_url = $3 WHERE id = $1 AND tenant_id = $2",
                        &[&id, &tenant, base_url],
                    )
                    .await?;
            }
            if let Some((key_id, credentials)) = &change.sealed {
                transaction
                    .execute(
                        "UPDATE integrated_accounts SET credentials = $3, key_id = $4
                         WHERE id = $1 AND tenant_id = $2",
                        &[&id, &tenant, credentials, key_id],
                    )
                    .await?;
            }
            if let Some(settings) = &change.settings {
                transaction
                    .execute(
                        "UPDATE integrated_accounts SET settings = $3 WHERE id = $1 AND tenant_id = $2",
                        &[&id, &tenant, settings],
                    )
                    .await?;
            }
            let row = transaction
                .query_opt(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts WHERE id = $1 AND tenant_id = $2"
                    ),
                    &[&id, &tenant],
                )
                .await?
                .as_ref()
                .map(account_row)
                .transpose()?;
            transaction.commit().await?;
            Ok(row)
        })
    }

    fn account(&self, tenant: i64, id: String) -> StoreFuture<'_, Option<AccountRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts WHERE id = $1 AND tenant_id = $2"
                ))
                .await?;
            client
                .query_opt(&statement, &[&id, &tenant])
                .await?
                .as_ref()
                .map(account_row)
                .transpose()
        })
    }

    fn accounts(&self, tenant: i64) -> StoreFuture<'_, Vec<AccountRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
                     WHERE tenant_id = $1 ORDER BY created_at, id"
                ))
                .await?;
            client
                .query(&statement, &[&tenant])
                .await?
                .iter()
                .map(account_row)
                .collect()
        })
    }

    fn delete_account(&self, tenant: i64, id: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let client = self.client().await?;
            let deleted = client
                .execute(
                    "DELETE FROM integrated_accounts WHERE id = $1 AND tenant_id = $2",
                    &[&id, &tenant],
                )
                .await?;
            Ok(deleted > 0)
        })
    }

    fn accounts_not_under(&self, key_id: String, limit: u32) -> StoreFuture<'_, Vec<AccountRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .query(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM integrated_accounts
                         WHERE key_id IS NULL OR key_id <> $1 ORDER BY id LIMIT $2"
                    ),
                    &[&key_id, &i64::from(limit)],
                )
                .await?
                .iter()
                .map(account_row)
                .collect()
        })
    }

    fn reseal(
        &self,
        id: String,
        previous: Vec<u8>,
        key_id: String,
        credentials: Vec<u8>,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let client = self.client().await?;
            let updated = client
                .execute(
                    "UPDATE integrated_accounts SET credentials = $3, key_id = $4
                     WHERE id = $1 AND credentials = $2",
                    &[&id, &previous, &credentials, &key_id],
                )
                .await?;
            Ok(updated > 0)
        })
    }

    fn key_usage(&self) -> StoreFuture<'_, Vec<(Option<String>, i64)>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .query(
                    "SELECT key_id, COUNT(*) FROM integrated_accounts GROUP BY key_id ORDER BY key_id",
                    &[],
                )
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect()
        })
    }

    /// The key's row is inserted with `ON CONFLICT DO NOTHING`: the primary
    /// key (tenant, key) lets exactly one of several racing claims insert
    /// it, on any replica; the others read the row the winner wrote.
    fn claim_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        hash: String,
        now: i64,
        expires: i64,
    ) -> StoreFuture<'_, Claim> {
        Box::pin(async move {
            let client = self.client().await?;
            self.purge_expired(&client, now).await?;
            let expired = client
                .prepare_cached(
                    "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND expires_at <= $3",
                )
                .await?;
            let insert = client
                .prepare_cached(
                    "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, key) DO NOTHING",
                )
                .await?;
            let select = client
                .prepare_cached(
                    "SELECT request_hash, status, body, created_at FROM idempotency_keys
                     WHERE tenant_id = $1 AND key = $2",
                )
                .await?;
            // A row seen in conflict can be released before it is read;
            // then the claim is tried again.
            for _ in 0..5 {
                client.execute(&expired, &[&tenant, &key, &now]).await?;
                let inserted = client
                    .execute(&insert, &[&tenant, &key, &hash, &now, &expires])
                    .await?;
                if inserted == 1 {
                    return Ok(Claim::New);
                }
                let Some(row) = client.query_opt(&select, &[&tenant, &key]).await? else {
                    continue;
                };
                let stored: String = row.try_get(0)?;
                let status: Option<i32> = row.try_get(1)?;
                let body: Option<Vec<u8>> = row.try_get(2)?;
                let created_at: i64 = row.try_get(3)?;
                if stored != hash {
                    return Ok(Claim::Mismatch);
                }
                return Ok(match status {
                    Some(status) => Claim::Done {
                        status: u16::try_from(status).map_err(|_| {
                            DbError::Other(format!("a stored answer has status {status}"))
                        })?,
                        body: body.unwrap_or_default(),
                    },
                    None => Claim::InFlight { created_at },
                });
            }
            Err(DbError::Other(
                "an idempotency key kept being claimed and released; retry".into(),
            ))
        })
    }

    fn complete_idempotency_key(
        &self,
        tenant: i64,
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE idempotency_keys SET status = $3, body = $4
                     WHERE tenant_id = $1 AND key = $2 AND status IS NULL",
                    &[&tenant, &key, &i32::from(status), &body],
                )
                .await?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: i64, key: String) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status IS NULL",
                    &[&tenant, &key],
                )
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/crm?application_name=x"),
            "postgres://app:***@db.internal:5432/crm?application_name=x"
        );
        assert_eq!(
            redact_url("postgresql://app@db/crm?password=s3cret&sslmode=disable"),
            "postgresql://app@db/crm?password=***&sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://db.internal/crm"),
            "postgres://db.internal/crm"
        );
        assert_eq!(
            redact_url("postgres://u:p%40ss@h1,h2/crm"),
            "postgres://u:***@h1,h2/crm"
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("postgres://app@localhost/crm").is_ok());
        assert!(check_url("postgres://app@localhost/crm?sslmode=disable").is_ok());
        let error = check_url("postgres://app:s3cret@localhost/crm?sslmode=require").unwrap_err();
        assert!(error.contains("TLS"), "{error}");
        let error = check_url("postgres://app:s3cret@localhost:notaport/crm").unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
    }
}
