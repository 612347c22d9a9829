//! Persistence for Registrar on SQLite and PostgreSQL from one codebase (SeaORM). The
//! backend comes from the database URL; the few statements a backend needs of its own are
//! branched on `DatabaseBackend` where they are used.

pub mod accounts;
pub mod catalog;
pub mod certificates;
pub mod commerce;
pub mod compliance;
pub mod crm;
pub mod enrollments;
pub mod entity;
pub mod geoip;
pub mod mail;
mod migration;
pub mod oauth2;
pub mod openedx;
pub mod secret;
pub mod sheets;
pub mod sign_in;
mod sql;
pub mod staff;
pub mod testing;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use sea_orm::DbErr as Error;

/// A handle on the database. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

/// How many pooled connections a process keeps.
#[derive(Clone, Copy, Debug)]
pub struct PoolSize(pub u32);

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://…`).
    /// SQLite runs in WAL mode with a busy timeout so readers never block the writer.
    pub async fn connect(url: &str, pool: PoolSize) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(pool.0)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        Ok(Self {
            db: Database::connect(options).await?,
        })
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        migration::Migrator::up(&self.db, None).await
    }

    /// Every migration of this build, by name, in the order they apply (the job queue's
    /// among them).
    pub fn migration_names() -> Vec<String> {
        migration::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    /// Migrations not yet applied, by name.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, DbErr> {
        Ok(migration::Migrator::get_pending_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect())
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (IMMEDIATE), so a
    /// read-then-write never fails half-way with SQLITE_BUSY.
    pub async fn write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }
}
