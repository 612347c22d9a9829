//! Raw statements for the modules that are plainer in SQL than in entities: `$n`
//! placeholders, rewritten for the backend in use.

use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, Value};

fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    jobs::queue::statement(db.get_database_backend(), sql, values)
}

pub(crate) async fn one(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, DbErr> {
    db.query_one_raw(statement(db, sql, values)).await
}

pub(crate) async fn all(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(statement(db, sql, values)).await
}

/// Every row, each read by `read`.
pub(crate) async fn all_as<T>(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
    read: impl Fn(QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    all(db, sql, values).await?.into_iter().map(read).collect()
}

/// Runs a statement; the number of rows it touched.
pub(crate) async fn run(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, DbErr> {
    Ok(db
        .execute_raw(statement(db, sql, values))
        .await?
        .rows_affected())
}
