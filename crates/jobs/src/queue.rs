//! The queue's operations on the `jobs` table. Times come from the caller, so tests and
//! every process agree on one clock source per call.
//!
//! States: `queued` → `running` → `succeeded`; a failure goes to `failed` (waiting for its
//! retry at `run_at`) or, when attempts are used up or the handler says the failure is
//! permanent, to `dead` with the last error kept. A `running` job whose lease expired (its
//! worker died) is claimable again, so handlers must be idempotent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use serde::Serialize;

/// Writes `$1`-style SQL for the connection's backend (SQLite numbers parameters `?1`).
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

pub(crate) async fn execute(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<u64, DbErr> {
    Ok(db
        .execute_raw(statement(db.get_database_backend(), sql, values))
        .await?
        .rows_affected())
}

pub(crate) async fn query_all(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(statement(db.get_database_backend(), sql, values))
        .await
}

pub(crate) async fn query_one(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, DbErr> {
    db.query_one_raw(statement(db.get_database_backend(), sql, values))
        .await
}

/// Options of one enqueue.
#[derive(Debug, Clone, Default)]
pub struct Enqueue {
    /// While a job of this kind with this key is queued or waiting for its retry, another
    /// enqueue with the key does nothing. While one is running, one more may wait: it is
    /// not claimed before the running one ends, so a change made during a run is picked
    /// up by the next, and two runs of a key never overlap.
    pub unique_key: Option<String>,
    /// Not before this instant (default: now).
    pub run_at: Option<DateTime<Utc>>,
}

/// Adds a job in the caller's transaction: it exists if and only if the caller commits.
/// Returns the new job's id, or `None` when the unique key was already pending.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    kind: &str,
    payload: &impl Serialize,
    max_attempts: u32,
    options: Enqueue,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let payload =
        serde_json::to_string(payload).map_err(|e| DbErr::Custom(format!("job payload: {e}")))?;
    let row = query_one(
        db,
        "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, unique_key, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $5, $6) \
         ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'failed') \
         DO NOTHING RETURNING id",
        vec![
            kind.into(),
            payload.into(),
            (max_attempts as i32).into(),
            options.run_at.unwrap_or(now).into(),
            options.unique_key.into(),
            now.into(),
        ],
    )
    .await?;
    let id = row.map(|r| r.try_get::<i64>("", "id")).transpose()?;
    if id.is_some() {
        // On PostgreSQL the insert wakes idle workers by itself (a trigger, see migration).
        metrics::counter!("jobs_enqueued_total", "kind" => kind.to_string()).increment(1);
    }
    Ok(id)
}

/// The PostgreSQL channel an enqueue notifies, so idle workers in any process start at once.
pub const WAKE_CHANNEL: &str = "registrar_jobs";

/// A job a worker holds until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Including this one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: DateTime<Utc>,
    /// Fences late writes: only the holder of the current claim can finish the job.
    pub token: String,
}

/// Takes the next due job (or one whose lease expired), leasing it for `lease`.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, DbErr> {
    Ok(claim_batch(db, worker, lease, now, 1).await?.pop())
}

/// Takes up to `limit` due jobs (or ones whose lease expired) in one statement, oldest due
/// first, leasing them for `lease`. PostgreSQL skips rows other workers have locked; SQLite
/// serialises claimers with an immediate transaction.
pub async fn claim_batch(
    db: &DatabaseConnection,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let token = format!("{worker}:{}", rand::rng().random::<u64>());
    let lease_until =
        now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    let rows = query_all(
        &txn,
        &format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, locked_by = $2 \
             WHERE id IN (SELECT j.id FROM jobs j \
                          WHERE ((j.state IN ('queued', 'failed') AND j.run_at <= $3) \
                             OR (j.state = 'running' AND j.lease_until < $3)) \
                            AND (j.unique_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs r \
                                 WHERE r.kind = j.kind AND r.unique_key = j.unique_key \
                                   AND r.state = 'running' AND r.id <> j.id)) \
                          ORDER BY j.run_at, j.id LIMIT $4 {lock}) \
             RETURNING id, kind, payload, attempts, max_attempts, run_at"
        ),
        vec![lease_until.into(), token.clone().into(), now.into(), (limit.max(1) as i64).into()],
    )
    .await?;
    txn.commit().await?;
    let mut claimed = rows
        .into_iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get("", "id")?,
                kind: row.try_get("", "kind")?,
                payload: row.try_get("", "payload")?,
                attempts: row.try_get::<i32>("", "attempts")? as u32,
                max_attempts: row.try_get::<i32>("", "max_attempts")? as u32,
                run_at: row.try_get("", "run_at")?,
                token: token.clone(),
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    claimed.sort_by_key(|job| (job.run_at, job.id));
    Ok(claimed)
}

/// Marks a claimed job done. False when the claim was lost (lease expired and taken).
pub async fn succeed(
    db: &impl ConnectionTrait,
    job: &Claimed,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(succeed_many(db, std::slice::from_ref(job), now)
        .await?
        .len()
        == 1)
}

/// Marks claimed jobs done in one statement; returns the ids recorded (a job whose claim was
/// lost is left to its new holder).
pub async fn succeed_many(
    db: &impl ConnectionTrait,
    jobs: &[Claimed],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<Value> = vec![now.into()];
    let mut held = Vec::with_capacity(jobs.len());
    for job in jobs {
        values.push(job.id.into());
        values.push(job.token.clone().into());
        held.push(format!(
            "(id = ${} AND locked_by = ${})",
            values.len() - 1,
            values.len()
        ));
    }
    let sql = format!(
        "UPDATE jobs SET state = 'succeeded', finished_at = $1, lease_until = NULL, last_error = NULL \
         WHERE state = 'running' AND ({}) RETURNING id",
        held.join(" OR ")
    );
    query_all(db, &sql, values)
        .await?
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect()
}

/// Exponential backoff with jitter: `base · 2^(attempt-1)`, capped, then scaled by a random
/// factor in [0.5, 1.0] so retries of a burst do not arrive together.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(6 * 3600),
        }
    }
}

impl Backoff {
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        exponential
            .min(self.cap)
            .mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// What happened to a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Retrying {
        at: DateTime<Utc>,
    },
    /// Postponed without using an attempt.
    Waiting {
        at: DateTime<Utc>,
    },
    Dead,
    /// The claim was lost meanwhile; another worker owns the job.
    ClaimLost,
}

/// How long a job may wait on something outside it without using attempts.
pub const WAIT_LIMIT: chrono::Duration = chrono::Duration::days(3);

/// How a job failed.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// Dead now.
    Permanent,
    /// Again after the backoff, while attempts remain.
    Retry(Backoff),
    /// Again after this long, the attempt given back.
    Wait(Duration),
}

/// Records a failure: a retry after the backoff, `dead` when attempts are used up or the
/// failure is permanent, or a wait that gives the attempt back.
pub async fn fail(
    db: &impl ConnectionTrait,
    job: &Claimed,
    error: &str,
    failure: Failure,
    now: DateTime<Utc>,
) -> Result<Outcome, DbErr> {
    let after = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or_default();
    let (at, outcome, attempts_back) = match failure {
        Failure::Wait(d) => (after(d), Outcome::Waiting { at: after(d) }, 1),
        Failure::Retry(backoff) if job.attempts < job.max_attempts => {
            let at = after(backoff.delay(job.attempts));
            (at, Outcome::Retrying { at }, 0)
        }
        Failure::Retry(_) | Failure::Permanent => {
            let dead = execute(
                db,
                "UPDATE jobs SET state = 'dead', last_error = $1, finished_at = $2, lease_until = NULL \
                 WHERE id = $3 AND locked_by = $4 AND state = 'running'",
                vec![
                    error.into(),
                    now.into(),
                    job.id.into(),
                    job.token.clone().into(),
                ],
            )
            .await?;
            return Ok(if dead == 1 {
                Outcome::Dead
            } else {
                Outcome::ClaimLost
            });
        }
    };
    // A follow-up of the same key waits already: it takes over the retry, at the
    // earlier of the two times, and this attempt makes way (its error is logged).
    let follow_up = query_one(
        db,
        "UPDATE jobs SET run_at = CASE WHEN run_at < $1 THEN run_at ELSE $1 END \
         WHERE state IN ('queued', 'failed') AND id <> $2 AND unique_key IS NOT NULL \
           AND kind = $3 AND unique_key = (SELECT unique_key FROM jobs WHERE id = $2) \
         RETURNING run_at",
        vec![at.into(), job.id.into(), job.kind.clone().into()],
    )
    .await?;
    if let Some(row) = follow_up {
        let at: DateTime<Utc> = row.try_get("", "run_at")?;
        let deleted = execute(
            db,
            "DELETE FROM jobs WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            vec![job.id.into(), job.token.clone().into()],
        )
        .await?;
        return Ok(match (deleted, outcome) {
            (1, Outcome::Waiting { .. }) => Outcome::Waiting { at },
            (1, _) => Outcome::Retrying { at },
            _ => Outcome::ClaimLost,
        });
    }
    // A wait gives its attempt back while the job is younger than `WAIT_LIMIT`; after that
    // waits use attempts up like failures, so a job waiting on something that never comes
    // ends dead with its reason instead of waiting for ever.
    let recorded = execute(
        db,
        "UPDATE jobs SET state = 'failed', last_error = $1, run_at = $2, lease_until = NULL, \
         attempts = attempts - CASE WHEN created_at > $6 THEN $5 ELSE 0 END \
         WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        vec![
            error.into(),
            at.into(),
            job.id.into(),
            job.token.clone().into(),
            attempts_back.into(),
            (now - WAIT_LIMIT).into(),
        ],
    )
    .await?;
    Ok(if recorded == 1 {
        outcome
    } else {
        Outcome::ClaimLost
    })
}

/// Extends the claims of a worker's running jobs to `lease` from now (its heartbeat).
/// Claims are `<worker>:<random>`, one per claiming statement.
pub async fn renew(
    db: &impl ConnectionTrait,
    worker: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let prefix = format!("{worker}:");
    execute(
        db,
        "UPDATE jobs SET lease_until = $1 \
         WHERE state = 'running' AND SUBSTR(locked_by, 1, $2) = $3",
        vec![
            (now + chrono::Duration::from_std(lease).unwrap_or_default()).into(),
            (prefix.chars().count() as i32).into(),
            prefix.into(),
        ],
    )
    .await
}

/// Deletes succeeded jobs finished before `cutoff` and schedule slots claimed before it,
/// keeping each schedule's latest slot (how a restart knows what already ran). Dead jobs
/// stay until an operator acts on them. Returns (jobs, slots) deleted.
pub async fn purge(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<(u64, u64), DbErr> {
    let jobs = execute(
        db,
        "DELETE FROM jobs WHERE state = 'succeeded' AND finished_at < $1",
        vec![cutoff.into()],
    )
    .await?;
    let slots = execute(
        db,
        "DELETE FROM cron_runs WHERE claimed_at < $1 \
         AND slot < (SELECT MAX(c.slot) FROM cron_runs c WHERE c.schedule = cron_runs.schedule)",
        vec![cutoff.into()],
    )
    .await?;
    Ok((jobs, slots))
}
