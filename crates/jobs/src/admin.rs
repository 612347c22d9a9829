//! What operators see and do: list and inspect jobs, retry dead ones, cancel pending ones,
//! and per-kind counts for the flow registry.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;

use crate::queue::{execute, query_all, query_one};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub unique_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, kind, payload, state, attempts, max_attempts, run_at, lease_until, last_error, unique_key, created_at, finished_at";

fn row(r: QueryResult) -> Result<JobRow, DbErr> {
    let payload: String = r.try_get("", "payload")?;
    Ok(JobRow {
        id: r.try_get("", "id")?,
        kind: r.try_get("", "kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
        state: r.try_get("", "state")?,
        attempts: r.try_get("", "attempts")?,
        max_attempts: r.try_get("", "max_attempts")?,
        run_at: r.try_get("", "run_at")?,
        lease_until: r.try_get("", "lease_until")?,
        last_error: r.try_get("", "last_error")?,
        unique_key: r.try_get("", "unique_key")?,
        created_at: r.try_get("", "created_at")?,
        finished_at: r.try_get("", "finished_at")?,
    })
}

pub const STATES: [&str; 5] = ["queued", "running", "failed", "dead", "succeeded"];

/// Newest first, optionally of one state and/or kind.
pub async fn list(
    db: &impl ConnectionTrait,
    state: Option<&str>,
    kind: Option<&str>,
    limit: u64,
) -> Result<Vec<JobRow>, DbErr> {
    let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(state) = state {
        values.push(state.into());
        sql.push_str(&format!(" AND state = ${}", values.len()));
    }
    if let Some(kind) = kind {
        values.push(kind.into());
        sql.push_str(&format!(" AND kind = ${}", values.len()));
    }
    values.push((limit as i64).into());
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", values.len()));
    query_all(db, &sql, values)
        .await?
        .into_iter()
        .map(row)
        .collect()
}

pub async fn show(db: &impl ConnectionTrait, id: i64) -> Result<Option<JobRow>, DbErr> {
    query_one(
        db,
        &format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"),
        vec![id.into()],
    )
    .await?
    .map(row)
    .transpose()
}

/// Puts a dead or retry-waiting job back in the queue now, with its attempts reset.
/// False when the job is in another state (or does not exist).
pub async fn retry(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(execute(
        db,
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL \
         WHERE id = $2 AND state IN ('dead', 'failed')",
        vec![now.into(), id.into()],
    )
    .await?
        == 1)
}

/// Stops a queued or retry-waiting job from running: it becomes dead, saying so. A running
/// job cannot be canceled (its handler is already under way).
pub async fn cancel(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(execute(
        db,
        "UPDATE jobs SET state = 'dead', last_error = 'canceled by an operator', finished_at = $1 \
         WHERE id = $2 AND state IN ('queued', 'failed')",
        vec![now.into(), id.into()],
    )
    .await?
        == 1)
}

/// The state of one job kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindStats {
    /// Queued or waiting to retry.
    pub queue_depth: i64,
    pub running: i64,
    pub dead: i64,
    pub last_run: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub async fn kind_stats(db: &impl ConnectionTrait, kind: &str) -> Result<KindStats, DbErr> {
    let counts = query_one(
        db,
        "SELECT \
           SUM(CASE WHEN state IN ('queued', 'failed') THEN 1 ELSE 0 END) AS queue_depth, \
           SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
           SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead, \
           MAX(finished_at) AS last_run, \
           MAX(CASE WHEN state = 'succeeded' THEN finished_at END) AS last_success \
         FROM jobs WHERE kind = $1",
        vec![kind.into()],
    )
    .await?;
    let last_error = query_one(
        db,
        "SELECT last_error FROM jobs WHERE kind = $1 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
        vec![kind.into()],
    )
    .await?
    .map(|r| r.try_get::<String>("", "last_error"))
    .transpose()?;
    let Some(counts) = counts else {
        return Ok(KindStats::default());
    };
    let number = |name: &str| -> Result<i64, DbErr> {
        Ok(counts.try_get::<Option<i64>>("", name)?.unwrap_or(0))
    };
    Ok(KindStats {
        queue_depth: number("queue_depth")?,
        running: number("running")?,
        dead: number("dead")?,
        last_run: counts.try_get("", "last_run")?,
        last_success: counts.try_get("", "last_success")?,
        last_error,
    })
}
