//! Fresh databases for tests. `REGISTRAR_TEST_DATABASE_URL=postgres://…/` picks PostgreSQL:
//! each call creates a database of its own there; otherwise each call gets an in-memory
//! SQLite database.

use sea_orm::{ConnectionTrait, Database};

use crate::{PoolSize, Store};

pub const TEST_DATABASE_URL: &str = "REGISTRAR_TEST_DATABASE_URL";

/// A migrated, empty database for one test.
pub async fn fresh_store() -> Store {
    fresh_database().await.0
}

/// A migrated, empty database and, on PostgreSQL, its URL, so a test can open more
/// connections to it as another process would.
pub async fn fresh_database() -> (Store, Option<String>) {
    let (store, url) = match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if url.starts_with("postgres") => {
            let (store, url) = fresh_postgres(&url).await;
            (store, Some(url))
        }
        _ => (
            Store::connect("sqlite::memory:", PoolSize(1))
                .await
                .expect("in-memory SQLite"),
            None,
        ),
    };
    store.migrate().await.expect("migrations apply");
    (store, url)
}

async fn fresh_postgres(url: &str) -> (Store, String) {
    let name = format!("registrar_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(url).await.expect("PostgreSQL reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    let url = format!("{base}/{name}");
    let store = Store::connect(&url, PoolSize(4))
        .await
        .expect("connect to test database");
    (store, url)
}

/// The `n` a `SELECT COUNT(*) AS n …` statement answers.
pub async fn count(store: &Store, sql: &str) -> i64 {
    let db = store.db();
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .expect("a count query")
    .expect("a row")
    .try_get("", "n")
    .expect("a count named n")
}

/// A verified learner `name@example.edu` (username `name`, which must be a valid one) with
/// a US legal address, for tests and benchmarks.
pub async fn learner(
    db: &impl ConnectionTrait,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::accounts::User, crate::accounts::AccountsError> {
    use domain::accounts::{Email, LegalAddress, Username};
    crate::accounts::create_user(
        db,
        crate::accounts::NewUser {
            email: &Email::parse(&format!("{name}@example.edu")).expect("a valid email"),
            username: &Username::parse(name).expect("a valid username"),
            name,
            password_hash: None,
            address: &LegalAddress {
                first_name: name.into(),
                last_name: "Tester".into(),
                country: "US".into(),
                state: Some("US-MA".into()),
            },
            email_verified: true,
            global_id: None,
        },
        now,
    )
    .await
}

/// Imports a recorded payload of the originals (`fixtures/originals/NAME`), as a migration
/// would.
pub async fn import_original(store: &Store, name: &str) {
    let path = format!(
        "{}/../../fixtures/originals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (_, catalog) = domain::catalog::import::parse(&text).expect("a recorded payload");
    let txn = store.write().await.expect("a write transaction");
    crate::catalog::write::apply(&txn, &catalog, crate::catalog::write::Mode::Import)
        .await
        .expect("the payload imports");
    txn.commit().await.expect("the import commits");
}
