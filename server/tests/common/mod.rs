//! What the server's test files share: the storage engines the end-to-end
//! suite runs on. SQLite always; PostgreSQL when `UNIFIED_TEST_POSTGRES_URL`
//! names a database the tests may create schemas in (`.ci/run` starts one
//! and always sets it). Each PostgreSQL run gets a fresh schema of its own
//! (through the URL's `options=-c search_path=...`), dropped afterwards.

#![allow(dead_code)]

use server::db::{Database, Db};
use std::sync::Once;

/// The PostgreSQL the tests use: a URL of a database where the role may
/// create schemas.
pub const POSTGRES_URL_ENV: &str = "UNIFIED_TEST_POSTGRES_URL";
/// Set (to anything) where PostgreSQL must be tested: its absence is then
/// a failure, not a skip.
pub const POSTGRES_REQUIRED_ENV: &str = "UNIFIED_TEST_POSTGRES_REQUIRED";

/// A storage engine to run a test on.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite,
    /// The base URL (from `UNIFIED_TEST_POSTGRES_URL`).
    Postgres(String),
}

static SKIP_NOTE: Once = Once::new();

impl Engine {
    /// PostgreSQL when configured; otherwise `None`, with a note printed
    /// once (or a panic when `UNIFIED_TEST_POSTGRES_REQUIRED` is set).
    pub fn postgres() -> Option<Engine> {
        match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Some(Engine::Postgres(url.trim().to_owned())),
            _ => {
                assert!(
                    std::env::var_os(POSTGRES_REQUIRED_ENV).is_none(),
                    "{POSTGRES_REQUIRED_ENV} is set but {POSTGRES_URL_ENV} is not: the PostgreSQL runs cannot be skipped here"
                );
                SKIP_NOTE.call_once(|| {
                    // Straight to stderr: the test harness captures
                    // `eprintln!` of passing tests, and this must be seen.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: {POSTGRES_URL_ENV} is not set, so the PostgreSQL runs are skipped (they pass without running); .ci/run sets it"
                    );
                });
                None
            }
        }
    }

    /// A fresh, empty database on this engine (migrated on open), and what
    /// must live as long as it.
    pub async fn fresh(&self) -> (Db, Database, Scratch) {
        match self {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("unified.sqlite");
                let database = Database::Sqlite(path);
                let db = Db::connect(&database).await.unwrap();
                (db, database, Scratch::Dir(dir))
            }
            Engine::Postgres(url) => {
                let scratch = Scratch::schema(url).await;
                let Scratch::Schema { url: scoped, .. } = &scratch else {
                    unreachable!()
                };
                let database: Database = scoped.parse().unwrap();
                let db = Db::connect(&database).await.unwrap();
                (db, database, scratch)
            }
        }
    }
}

/// A temporary SQLite directory, or a PostgreSQL schema dropped on drop.
pub enum Scratch {
    Dir(tempfile::TempDir),
    Schema {
        /// The base URL.
        base: String,
        /// The base URL with `search_path` set to the schema.
        url: String,
        name: String,
    },
}

impl Scratch {
    /// Creates a new schema in the database of `base`.
    pub async fn schema(base: &str) -> Scratch {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {POSTGRES_URL_ENV}: {error}"));
        let task = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Scratch::Schema {
            base: base.to_owned(),
            url,
            name,
        }
    }

    /// The URL that uses the schema (PostgreSQL only).
    pub fn url(&self) -> Option<&str> {
        match self {
            Scratch::Schema { url, .. } => Some(url),
            Scratch::Dir(_) => None,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Scratch::Schema { base, name, .. } = self else {
            return;
        };
        let (base, name) = (base.clone(), name.clone());
        // Its own thread and runtime: drop may run inside a test's runtime.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&base, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// Defines each listed `async fn NAME(engine: Engine)` as two tests,
/// `sqlite::NAME` and `postgres::NAME` (skipped with a note when no
/// PostgreSQL is configured).
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::common::Engine::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(engine) = super::common::Engine::postgres() {
                        super::$name(engine).await
                    }
                }
            )*
        }
    };
}
