//! Sign-in attempts by account and source address (see `services::accounts::sign_in_from`
//! for the limits they enforce).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{one, run};

/// How long attempts are kept: a success marks its address as the owner's for this long.
pub const KEPT: Duration = Duration::days(30);

pub async fn record(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    succeeded: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM sign_in_attempts WHERE account = $1 AND attempted_on < $2",
        vec![account.into(), (now - KEPT).into()],
    )
    .await?;
    if succeeded {
        // The owner got in from here: the failures from here were theirs.
        run(
            db,
            "DELETE FROM sign_in_attempts WHERE account = $1 AND source = $2",
            vec![account.into(), source.into()],
        )
        .await?;
    }
    run(
        db,
        "INSERT INTO sign_in_attempts (account, source, succeeded, attempted_on) VALUES ($1, $2, $3, $4)",
        vec![account.into(), source.into(), succeeded.into(), now.into()],
    )
    .await
    .map(|_| ())
}

/// Records an attempt as failed before its password is checked (so parallel guesses all
/// count against the limit); its id, to forget or to turn into a success.
pub async fn attempt(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    run(
        db,
        "DELETE FROM sign_in_attempts WHERE account = $1 AND attempted_on < $2",
        vec![account.into(), (now - KEPT).into()],
    )
    .await?;
    one(
        db,
        "INSERT INTO sign_in_attempts (account, source, succeeded, attempted_on) VALUES ($1, $2, $3, $4) RETURNING id",
        vec![account.into(), source.into(), false.into(), now.into()],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the attempt just recorded".into()))?
    .try_get("", "id")
}

/// Forgets an attempt (one refused unchecked, or whose password was right).
pub async fn forget(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM sign_in_attempts WHERE id = $1",
        vec![id.into()],
    )
    .await
    .map(|_| ())
}

/// What is known of an account's recent attempts, seen from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recent {
    /// Failures from this address since the window began.
    pub failed_here: i64,
    /// Failures from every address since the window began.
    pub failed_anywhere: i64,
    /// The oldest failure from here in the window (when it ends, one more try is allowed).
    pub first_failed_here: Option<DateTime<Utc>>,
    /// Whether this address signed in to the account successfully within [`KEPT`].
    pub known_source: bool,
}

pub async fn recent(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    since: DateTime<Utc>,
) -> Result<Recent, DbErr> {
    let row = one(
        db,
        "SELECT \
           COALESCE(SUM(CASE WHEN succeeded = $1 AND source = $2 AND attempted_on >= $3 THEN 1 ELSE 0 END), 0) AS failed_here, \
           COALESCE(SUM(CASE WHEN succeeded = $1 AND attempted_on >= $3 THEN 1 ELSE 0 END), 0) AS failed_anywhere, \
           MIN(CASE WHEN succeeded = $1 AND source = $2 AND attempted_on >= $3 THEN attempted_on END) AS first_failed_here, \
           COALESCE(SUM(CASE WHEN succeeded = $4 AND source = $2 THEN 1 ELSE 0 END), 0) AS known \
         FROM sign_in_attempts WHERE account = $5",
        vec![
            false.into(),
            source.into(),
            since.into(),
            true.into(),
            account.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("a count".into()))?;
    let known: i64 = row.try_get("", "known")?;
    Ok(Recent {
        failed_here: row.try_get("", "failed_here")?,
        failed_anywhere: row.try_get("", "failed_anywhere")?,
        first_failed_here: row.try_get("", "first_failed_here")?,
        known_source: known > 0,
    })
}

/// Forgets an account's failures (its password was just reset by its owner).
pub async fn forgive(db: &impl ConnectionTrait, account: &str) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM sign_in_attempts WHERE account = $1 AND succeeded = $2",
        vec![account.into(), false.into()],
    )
    .await
    .map(|_| ())
}
