//! Recurring schedules. Each slot (the instant a schedule is due) runs once across any number
//! of processes: the process that inserts the `cron_runs` row for (schedule, slot) enqueues the
//! job, in the same transaction. Only the latest due slot is ever considered, so slots missed
//! while everything was down run once at start-up, not once each; a schedule seen for the
//! first time starts with the next slot instead of firing at once.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use croner::Cron;
use sea_orm::{
    DatabaseConnection, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::Value;

use crate::queue::{self, Enqueue};

/// When a schedule is due.
#[derive(Debug, Clone)]
pub enum Cadence {
    /// Every `period` from the Unix epoch, shifted by `offset` (Celery's `schedule(run_every)`
    /// with RedBeat's offset).
    Every {
        period: Duration,
        offset: Duration,
    },
    /// A crontab expression in UTC (`10 0 * * *`).
    Cron(Box<Cron>),
    Off,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cadence \"{0}\": use \"off\", \"every 30m\" / \"every 1800s offset 900s\", or a crontab line such as \"0 3 * * *\""
)]
pub struct CadenceError(String);

fn duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

impl FromStr for Cadence {
    type Err = CadenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let error = || CadenceError(text.to_string());
        if text == "off" {
            return Ok(Cadence::Off);
        }
        if let Some(rest) = text.strip_prefix("every ") {
            let (period, offset) = match rest.split_once(" offset ") {
                Some((p, o)) => (
                    duration(p).ok_or_else(error)?,
                    duration(o).ok_or_else(error)?,
                ),
                None => (duration(rest).ok_or_else(error)?, Duration::ZERO),
            };
            return Ok(Cadence::Every { period, offset });
        }
        Cron::from_str(text)
            .map(|c| Cadence::Cron(Box::new(c)))
            .map_err(|_| error())
    }
}

impl Cadence {
    pub fn every(period: Duration) -> Self {
        Cadence::Every {
            period,
            offset: Duration::ZERO,
        }
    }

    /// The latest slot at or before `now`.
    pub fn latest_slot(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Cadence::Off => None,
            Cadence::Every { period, offset } => {
                let period = period.as_secs() as i64;
                let shifted = now.timestamp() - offset.as_secs() as i64;
                let slot = shifted.div_euclid(period) * period + offset.as_secs() as i64;
                Utc.timestamp_opt(slot, 0).single()
            }
            // Whole seconds: croner keeps `now`'s fraction, which would make every tick
            // a new slot of a daily schedule.
            Cadence::Cron(cron) => cron
                .find_previous_occurrence(&now.with_nanosecond(0)?, true)
                .ok()
                .and_then(|slot| slot.with_nanosecond(0)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Cadence::Off => "off".to_string(),
            Cadence::Every { period, offset } if offset.is_zero() => {
                format!("every {}s", period.as_secs())
            }
            Cadence::Every { period, offset } => {
                format!("every {}s offset {}s", period.as_secs(), offset.as_secs())
            }
            Cadence::Cron(cron) => format!("cron {}", cron.pattern),
        }
    }
}

/// A recurring job: at each slot, enqueue `kind` with `payload`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub cadence: Cadence,
    pub kind: &'static str,
    pub payload: Value,
    pub max_attempts: u32,
}

/// Claims the schedule's latest due slot and enqueues its job; `Some(slot)` when this caller
/// won the slot and enqueued.
pub async fn tick(
    db: &DatabaseConnection,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let Some(slot) = schedule.cadence.latest_slot(now) else {
        return Ok(None);
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    let seen_before = queue::query_one(
        &txn,
        "SELECT slot FROM cron_runs WHERE schedule = $1 ORDER BY slot DESC LIMIT 1",
        vec![schedule.name.into()],
    )
    .await?
    .map(|row| row.try_get::<DateTime<Utc>>("", "slot"))
    .transpose()?;
    if seen_before.is_some_and(|last| last >= slot) {
        txn.rollback().await?;
        return Ok(None);
    }
    let job_id = match seen_before {
        // First sight of this schedule: mark the current slot without running it.
        None => None,
        Some(_) => {
            queue::enqueue(
                &txn,
                schedule.kind,
                &schedule.payload,
                schedule.max_attempts,
                Enqueue::default(),
                now,
            )
            .await?
        }
    };
    let inserted = queue::execute(
        &txn,
        "INSERT INTO cron_runs (schedule, slot, claimed_at, job_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        vec![schedule.name.into(), slot.into(), now.into(), job_id.into()],
    )
    .await?;
    if inserted == 1 {
        txn.commit().await?;
        Ok(job_id.map(|_| slot))
    } else {
        // Another process won this slot; its job is the one that runs.
        txn.rollback().await?;
        Ok(None)
    }
}

/// Ticks every schedule about once a second until `shutdown` turns true.
pub async fn run(
    db: DatabaseConnection,
    schedules: Vec<Schedule>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    wake: std::sync::Arc<tokio::sync::Notify>,
) {
    let active: Vec<Schedule> = schedules
        .into_iter()
        .filter(|s| !matches!(s.cadence, Cadence::Off))
        .collect();
    while !*shutdown.borrow() {
        for schedule in &active {
            match tick(&db, schedule, Utc::now()).await {
                Ok(Some(slot)) => {
                    tracing::info!(schedule = schedule.name, %slot, "schedule fired");
                    wake.notify_waiters();
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(schedule = schedule.name, %error, "schedule tick failed")
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            changed = shutdown.changed() => if changed.is_err() { return },
        }
    }
}
