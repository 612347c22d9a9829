//! Fresh databases for tests. `REGISTRAR_TEST_DATABASE_URL=postgres://…/` picks PostgreSQL:
//! each call creates a database of its own there; otherwise each call gets an in-memory
//! SQLite database.

use sea_orm::{ConnectionTrait, Database};

use crate::{PoolSize, Store};

pub const TEST_DATABASE_URL: &str = "REGISTRAR_TEST_DATABASE_URL";

/// A migrated, empty database for one test.
pub async fn fresh_store() -> Store {
    let store = match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if url.starts_with("postgres") => fresh_postgres(&url).await,
        _ => Store::connect("sqlite::memory:", PoolSize(1))
            .await
            .expect("in-memory SQLite"),
    };
    store.migrate().await.expect("migrations apply");
    store
}

async fn fresh_postgres(url: &str) -> Store {
    let name = format!("registrar_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.expect("PostgreSQL reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    Store::connect(&format!("{base}/{name}"), PoolSize(4))
        .await
        .expect("connect to test database")
}
