//! `server serve [--listen ADDR] [--database PATH]` and
//! `server token create --tenant NAME [--database PATH]`.

use crate::{AppState, crypto, db};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use unified_crm::UnifiedClient;

#[derive(Debug, Parser)]
#[command(name = "server", about = "The unified CRM API over HTTP")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves the API (creates and migrates the database on first start).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, default_value = "./unified.sqlite")]
        database: PathBuf,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Prints a new token for the tenant (created if new); only its
    /// SHA-256 is stored.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "./unified.sqlite")]
        database: PathBuf,
    },
}

/// Runs the command; the error is printed by `main`.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { listen, database } => serve(listen, database).await,
        Command::Token {
            command: TokenCommand::Create { tenant, database },
        } => {
            let tenant = tenant.trim();
            if tenant.is_empty() || tenant.chars().count() > 200 {
                return Err("--tenant must be 1 to 200 characters".into());
            }
            let db = db::Db::open(&database).map_err(|error| error.to_string())?;
            let token = crypto::new_token().map_err(|error| error.to_string())?;
            db.create_token_blocking(tenant, &crypto::token_hash(&token))
                .map_err(|error| error.to_string())?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(listen: SocketAddr, database: PathBuf) -> Result<(), String> {
    let db = db::Db::open(&database).map_err(|error| error.to_string())?;
    let cipher = crypto::Cipher::load(&database).map_err(|error| error.to_string())?;
    let state = AppState::new(db, cipher, UnifiedClient::new())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(%address, database = %database.display(), "listening");
    crate::serve(listener, Arc::new(state), shutdown_signal())
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!("stopped");
    Ok(())
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
