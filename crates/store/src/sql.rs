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

/// Ids per `IN (…)` list and values per statement: under SQLite's 32,766 and PostgreSQL's
/// 65,535 bind parameters, and small enough that one statement stays quick to plan.
const IDS_PER_STATEMENT: usize = 1_000;
const VALUES_PER_STATEMENT: usize = 8_000;

/// `$from, $from+1, …`: `n` placeholders.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every row of `sql` for all `ids`: `{ids}` in `sql` stands for the list, read in chunks
/// (its placeholders follow `values`).
pub(crate) async fn all_in<T, K: Clone + Into<Value>>(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
    ids: &[K],
    read: impl Fn(QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let sql = sql.replace("{ids}", &placeholders(values.len() + 1, chunk.len()));
        let mut bound = values.clone();
        bound.extend(chunk.iter().map(|id| id.clone().into()));
        out.extend(all_as(db, &sql, bound, &read).await?);
    }
    Ok(out)
}

/// A multi-row `INSERT`: `head` (up to `VALUES`), one tuple per row, then `tail` (an
/// `ON CONFLICT …`, a `RETURNING …`), in as few statements as the parameter limits allow.
/// The returned rows, each read by `read`.
pub(crate) async fn insert_rows<T>(
    db: &impl ConnectionTrait,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Value>>,
    read: impl Fn(QueryResult) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for chunk in rows.chunks((VALUES_PER_STATEMENT / width).max(1)) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * width + 1, width)))
            .collect();
        let sql = format!("{head} VALUES {} {tail}", tuples.join(", "));
        let values = chunk.iter().flatten().cloned().collect();
        out.extend(all_as(db, &sql, values, &read).await?);
    }
    Ok(out)
}
