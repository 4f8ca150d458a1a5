//! `server serve [--listen ADDR] [--database PATH|URL] [--key-file PATH]
//! [--allow-host HOST[:PORT]]... [--max-provider-body BYTES]
//! [--tenant-rate-limit N/PERIOD] [--account-rate-limit N/PERIOD]
//! [--max-streams-per-tenant N]`, `server token create --tenant NAME`,
//! `server token list [--tenant NAME]`, `server token revoke ID` and
//! `server keys rotate [--key-file PATH]` (each with `[--database
//! PATH|URL]`). The database is an SQLite file (the default,
//! `./unified.sqlite`, or `sqlite://PATH`) or a PostgreSQL URL
//! (`postgres://USER@HOST/DB`); `UNIFIED_DATABASE` sets it too.

use crate::db::Database;
use crate::limits::RateOption;
use crate::outbound::AllowedHost;
use crate::{AppState, Config, crypto, db};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The environment variable that names the database, like `--database`
/// (keeps a PostgreSQL password off the command line).
pub const DATABASE_ENV: &str = "UNIFIED_DATABASE";

/// `--database`, shared by every command.
#[derive(Clone, Debug, clap::Args)]
pub struct DatabaseArg {
    /// An SQLite file (created on first start; also `sqlite://PATH`), or a
    /// PostgreSQL URL, `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, for
    /// several replicas sharing one database.
    #[arg(
        long,
        env = DATABASE_ENV,
        hide_env_values = true,
        value_name = "PATH|URL",
        default_value = "./unified.sqlite"
    )]
    pub database: Database,
}

/// The environment variable that adds allowed hosts (comma-separated),
/// like `--allow-host`.
pub const ALLOW_HOSTS_ENV: &str = "UNIFIED_ALLOW_HOSTS";

#[derive(Debug, Parser)]
#[command(name = "server", about = "The unified CRM API over HTTP")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API (creates and migrates the database on first start).
    Serve(ServeArgs),
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Credential encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArg,
    /// The credentials key file (one base64 key a line, newest last).
    /// Default: `<database>.key` beside an SQLite file; with PostgreSQL,
    /// UNIFIED_SECRET_KEY or this file, the same for every replica.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// A host (name or IP address, with an optional port) an account's
    /// base_url may name besides the providers' public hosts; plain http is
    /// allowed to it, and it may resolve to a private address. Repeatable;
    /// UNIFIED_ALLOW_HOSTS adds more (comma-separated).
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    pub allow_host: Vec<AllowedHost>,
    /// The largest provider response body read, in bytes (or with a KiB,
    /// MiB or GiB suffix); a larger one is a 502.
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = parse_size)]
    pub max_provider_body: usize,
    /// Requests per tenant: N/PERIOD (500/10s, 50/1m, 5/500ms), or 0 for
    /// no limit.
    #[arg(long, value_name = "N/PERIOD", default_value = "500/10s")]
    pub tenant_rate_limit: RateOption,
    /// Requests per integrated account (unified endpoints): N/PERIOD, or 0
    /// for no limit.
    #[arg(long, value_name = "N/PERIOD", default_value = "50/10s")]
    pub account_rate_limit: RateOption,
    /// Concurrent NDJSON streams per tenant; 0 for no cap.
    #[arg(long, value_name = "N", default_value_t = crate::DEFAULT_MAX_STREAMS_PER_TENANT)]
    pub max_streams_per_tenant: usize,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Prints a new token for the tenant (created if new); only its
    /// SHA-256 is stored. The token's id goes to stderr.
    Create {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Lists tokens (id, tenant, creation time, revocation time), never the
    /// tokens themselves.
    List {
        /// Only this tenant's tokens.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Revokes a token by id: it is refused (401) from the next request on.
    Revoke {
        id: i64,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypts every stored credential under a new key (appended to
    /// the key file; with UNIFIED_SECRET_KEY, the last key listed there),
    /// then drops the old keys from the key file. Servers keep running.
    Rotate {
        #[command(flatten)]
        database: DatabaseArg,
        /// The credentials key file (default: `<database>.key` beside an
        /// SQLite file); with UNIFIED_SECRET_KEY set, none is used.
        #[arg(long, value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
}

/// `16777216`, `16MiB`, `512KiB`, `1GiB` (also `KB`/`MB`/`GB`/`K`/`M`/`G`,
/// all powers of 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 16MiB, 1048576)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit (use KiB, MiB or GiB)"
            ));
        }
    };
    let bytes = number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(bytes)
}

impl ServeArgs {
    /// The server's configuration: the flags, plus the hosts of
    /// `UNIFIED_ALLOW_HOSTS`.
    pub fn config(&self, env_hosts: Option<&str>) -> Result<Config, String> {
        let mut allow_hosts = self.allow_host.clone();
        for host in env_hosts
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|host| !host.is_empty())
        {
            allow_hosts.push(
                host.parse()
                    .map_err(|error| format!("{ALLOW_HOSTS_ENV}: {error}"))?,
            );
        }
        Ok(Config {
            allow_hosts,
            max_provider_body: self.max_provider_body,
            tenant_rate_limit: self.tenant_rate_limit.0,
            account_rate_limit: self.account_rate_limit.0,
            max_streams_per_tenant: self.max_streams_per_tenant,
        })
    }
}

async fn open_db(database: &DatabaseArg) -> Result<db::Db, String> {
    db::Db::connect(&database.database).await.map_err(|error| {
        format!(
            "{} ({}): {error}",
            database.database.engine(),
            database.database
        )
    })
}

/// Runs the command; the error is printed by `main`.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let env_hosts = std::env::var(ALLOW_HOSTS_ENV).ok();
            let config = args.config(env_hosts.as_deref())?;
            serve(args.listen, args.database, args.key_file, config).await
        }
        Command::Token {
            command: TokenCommand::Create { tenant, database },
        } => {
            let tenant = tenant.trim();
            if tenant.is_empty() || tenant.chars().count() > 200 {
                return Err("--tenant must be 1 to 200 characters".into());
            }
            let db = open_db(&database).await?;
            let token = crypto::new_token().map_err(|error| error.to_string())?;
            let id = db
                .create_token(tenant.to_owned(), crypto::token_hash(&token))
                .await
                .map_err(|error| error.to_string())?;
            println!("{token}");
            eprintln!("token {id} created for tenant {tenant}");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::List { tenant, database },
        } => {
            let db = open_db(&database).await?;
            let tokens = db
                .tokens(tenant.as_deref().map(|tenant| tenant.trim().to_owned()))
                .await
                .map_err(|error| error.to_string())?;
            println!("ID\tTENANT\tCREATED_AT\tREVOKED_AT");
            for token in tokens {
                println!(
                    "{}\t{}\t{}\t{}",
                    token.id,
                    token.tenant,
                    token.created_at,
                    token.revoked_at.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { id, database },
        } => {
            let db = open_db(&database).await?;
            match db
                .revoke_token(id)
                .await
                .map_err(|error| error.to_string())?
            {
                None => Err(format!("there is no token {id}")),
                Some(token) if token.revoked_at.is_some() => {
                    println!("token {id} of tenant {} was already revoked", token.tenant);
                    Ok(())
                }
                Some(token) => {
                    println!("token {id} of tenant {} revoked", token.tenant);
                    Ok(())
                }
            }
        }
        Command::Keys {
            command: KeysCommand::Rotate { database, key_file },
        } => {
            let db = open_db(&database).await?;
            let cipher = crypto::Cipher::load_for(&database.database, key_file.as_deref())
                .map_err(|error| error.to_string())?;
            let rotation = crate::keys::rotate(&db, &cipher).await?;
            println!(
                "{} credentials re-encrypted under key {}{}",
                rotation.resealed,
                rotation.key_id,
                if rotation.generated {
                    " (new, in the key file)"
                } else {
                    " (the last key of UNIFIED_SECRET_KEY; the others can be removed from it)"
                }
            );
            if !rotation.removed.is_empty() {
                println!(
                    "old keys removed from the key file: {}",
                    rotation.removed.join(", ")
                );
            }
            Ok(())
        }
    }
}

async fn serve(
    listen: SocketAddr,
    database: DatabaseArg,
    key_file: Option<PathBuf>,
    config: Config,
) -> Result<(), String> {
    // The keys first: a replica without them must not touch the database.
    let cipher = crypto::Cipher::load_for(&database.database, key_file.as_deref())
        .map_err(|error| error.to_string())?;
    let db = open_db(&database).await?;
    check_keys(&db, &cipher).await;
    let allowed: Vec<String> = config.allow_hosts.iter().map(ToString::to_string).collect();
    let state = AppState::new(db, cipher, config)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(
        %address,
        engine = %database.database.engine(),
        database = %database.database,
        allowed_hosts = %allowed.join(","),
        "listening"
    );
    crate::serve(listener, Arc::new(state), shutdown_signal())
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// Warns when stored credentials are sealed under keys this server does
/// not have: replicas given different keys (each would fail to open the
/// others' accounts), or a key dropped too early after a rotation.
async fn check_keys(db: &db::Db, cipher: &crypto::Cipher) {
    let known = cipher.key_ids();
    match db.key_usage().await {
        Ok(usage) => {
            let unknown: Vec<String> = usage
                .iter()
                .filter_map(|(id, count)| match id {
                    Some(id) if !known.contains(id) => Some(format!("{id} ({count})")),
                    _ => None,
                })
                .collect();
            if !unknown.is_empty() {
                tracing::warn!(
                    unknown_keys = %unknown.join(", "),
                    "some stored credentials are sealed under keys this server does not have: every replica needs the same keys (UNIFIED_SECRET_KEY or --key-file)"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "could not check the stored credentials' keys"),
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1g"), Ok(1024 * 1024 * 1024));
        for bad in ["", "0", "MiB", "16XB", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serve_flags_and_defaults() {
        let cli = Cli::try_parse_from(["server", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!()
        };
        let config = args.config(None).unwrap();
        assert!(config.allow_hosts.is_empty());
        assert_eq!(config.max_provider_body, 16 * 1024 * 1024);
        assert_eq!(config.tenant_rate_limit.unwrap().to_string(), "500/10s");
        assert_eq!(config.account_rate_limit.unwrap().to_string(), "50/10s");
        assert_eq!(config.max_streams_per_tenant, 10);

        let cli = Cli::try_parse_from([
            "server",
            "serve",
            "--allow-host",
            "127.0.0.1",
            "--allow-host",
            "crm.internal:8443",
            "--max-provider-body",
            "1MiB",
            "--tenant-rate-limit",
            "0",
            "--account-rate-limit",
            "5/1s",
            "--max-streams-per-tenant",
            "0",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!()
        };
        let config = args.config(Some("localhost, [::1]:9000")).unwrap();
        let hosts: Vec<String> = config.allow_hosts.iter().map(ToString::to_string).collect();
        assert_eq!(
            hosts,
            ["127.0.0.1", "crm.internal:8443", "localhost", "[::1]:9000"]
        );
        assert_eq!(config.max_provider_body, 1024 * 1024);
        assert_eq!(config.tenant_rate_limit, None);
        assert_eq!(config.account_rate_limit.unwrap().to_string(), "5/1s");
        assert_eq!(config.max_streams_per_tenant, 0);
        assert!(args.config(Some("http://x")).is_err());
        assert!(Cli::try_parse_from(["server", "serve", "--allow-host", "a/b"]).is_err());
        assert!(Cli::try_parse_from(["server", "serve", "--tenant-rate-limit", "x"]).is_err());
    }
}
