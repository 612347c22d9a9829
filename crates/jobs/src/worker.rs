//! Typed job kinds and the worker that runs them.
//!
//! A kind is a Rust type: its payload is the type's fields, its handler `Job::run`. Handlers
//! run at least once: a worker that dies mid-job leaves the job to be claimed again when its
//! lease ends, so every handler must be idempotent.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::queue::{self, Backoff, Claimed, Enqueue, Outcome};

/// Why a handler did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a peer was down, a timeout).
    #[error("{0}")]
    Retry(String),
    /// Will fail the same way every time (bad payload, a record that is gone): dead now.
    #[error("{0}")]
    Permanent(String),
}

pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The name stored in the `jobs` table; never change it once jobs of it exist.
    const KIND: &'static str;
    const MAX_ATTEMPTS: u32 = 5;
    /// What handlers need (database, clients), shared by every job of a registry.
    type Context: Send + Sync + 'static;

    fn run(self, ctx: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Enqueues a typed job in the caller's transaction.
pub async fn push<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    options: Enqueue,
) -> Result<Option<i64>, DbErr> {
    queue::enqueue(db, J::KIND, job, J::MAX_ATTEMPTS, options, Utc::now()).await
}

type Handler<C> = Box<
    dyn Fn(String, Arc<C>) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>
        + Send
        + Sync,
>;

/// The job kinds a process can run, for one context type.
pub struct Registry<C> {
    handlers: HashMap<&'static str, Handler<C>>,
}

impl<C: Send + Sync + 'static> Default for Registry<C> {
    fn default() -> Self {
        Self {
            handlers: HashMap::new(),
        }
    }
}

impl<C: Send + Sync + 'static> Registry<C> {
    pub fn register<J: Job<Context = C>>(mut self) -> Self {
        self.handlers.insert(
            J::KIND,
            Box::new(|payload, ctx| {
                Box::pin(async move {
                    let job: J = serde_json::from_str(&payload).map_err(|e| {
                        JobError::Permanent(format!("payload does not fit {}: {e}", J::KIND))
                    })?;
                    job.run(&ctx).await
                })
            }),
        );
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }

    async fn run(&self, job: &Claimed, ctx: Arc<C>) -> Result<(), JobError> {
        match self.handlers.get(job.kind.as_str()) {
            Some(handler) => handler(job.payload.clone(), ctx).await,
            // Reported on the job (dead with this error) and in the log, never a crash:
            // a newer or older deployment may share the table.
            None => Err(JobError::Permanent(format!(
                "no handler for job kind \"{}\" in this process",
                job.kind
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// How long a claim lasts; a handler still running at the end is abandoned and retried.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs (an enqueue in this process wakes it sooner).
    pub poll: Duration,
    pub backoff: Backoff,
    /// How long shutdown waits for running jobs.
    pub drain: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(300),
            poll: Duration::from_millis(500),
            backoff: Backoff::default(),
            drain: Duration::from_secs(30),
        }
    }
}

pub struct Worker<C> {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry<C>>,
    pub context: Arc<C>,
    pub settings: WorkerSettings,
    pub name: String,
    /// Notified after an enqueue in this process.
    pub wake: Arc<Notify>,
}

impl<C: Send + Sync + 'static> Worker<C> {
    /// Runs until `shutdown` turns true, then lets running jobs finish (up to `drain`).
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut loops = JoinSet::new();
        for slot in 0..this.settings.concurrency {
            let (this, shutdown) = (this.clone(), shutdown.clone());
            loops.spawn(async move { this.slot(slot, shutdown).await });
        }
        if this.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            loops.spawn(listen(this.db.clone(), this.wake.clone(), shutdown.clone()));
        }
        let drain = this.settings.drain;
        let mut shutdown = shutdown;
        let _ = shutdown.wait_for(|stop| *stop).await;
        if tokio::time::timeout(drain, async { while loops.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tracing::warn!(
                "jobs still running after the drain period; their leases will expire and they will run again"
            );
            loops.abort_all();
        }
    }

    async fn slot(&self, slot: usize, mut shutdown: watch::Receiver<bool>) {
        let name = format!("{}#{slot}", self.name);
        while !*shutdown.borrow() {
            match queue::claim(&self.db, &name, self.settings.lease, Utc::now()).await {
                Ok(Some(job)) => self.execute(job).await,
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.poll) => {}
                        _ = self.wake.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "claiming a job failed");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    async fn execute(&self, job: Claimed) {
        let kind = job.kind.clone();
        let waited = (Utc::now() - job.run_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!("jobs_start_delay_seconds", "kind" => kind.clone()).record(waited);
        metrics::counter!("jobs_started_total", "kind" => kind.clone()).increment(1);
        let started = Instant::now();
        // A handler must not outlive its lease, or a second worker would run it alongside.
        let result = match tokio::time::timeout(
            self.settings.lease,
            self.registry.run(&job, self.context.clone()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(JobError::Retry(format!(
                "did not finish within the {:?} lease",
                self.settings.lease
            ))),
        };
        metrics::histogram!("jobs_duration_seconds", "kind" => kind.clone())
            .record(started.elapsed().as_secs_f64());
        let now = Utc::now();
        let recorded = match &result {
            Ok(()) => queue::succeed(&self.db, &job, now)
                .await
                .map(|held| if held { None } else { Some(Outcome::ClaimLost) }),
            Err(error) => {
                let permanent = matches!(error, JobError::Permanent(_));
                queue::fail(
                    &self.db,
                    &job,
                    &error.to_string(),
                    permanent,
                    self.settings.backoff,
                    now,
                )
                .await
                .map(Some)
            }
        };
        let outcome = match recorded {
            Ok(None) => "succeeded",
            Ok(Some(Outcome::Retrying { .. })) => "failed",
            Ok(Some(Outcome::Dead)) => "dead",
            Ok(Some(Outcome::ClaimLost)) => "claim_lost",
            Err(error) => {
                tracing::error!(%error, job = job.id, %kind, "recording a job's outcome failed; its lease will expire and it will run again");
                return;
            }
        };
        metrics::counter!("jobs_finished_total", "kind" => kind.clone(), "outcome" => outcome)
            .increment(1);
        match result {
            Ok(()) => tracing::info!(job = job.id, %kind, attempt = job.attempts, "job succeeded"),
            Err(error) => {
                tracing::warn!(job = job.id, %kind, attempt = job.attempts, %error, outcome, "job failed")
            }
        }
    }
}

/// Wakes idle slots whenever any process enqueues (PostgreSQL `LISTEN`); polling covers
/// the gaps while the listener reconnects.
async fn listen(db: DatabaseConnection, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        tokio::select! {
            Err(error) = relay_notifications(&db, &wake) => {
                tracing::warn!(%error, "job wake-up listener lost; polling until it reconnects");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ = shutdown.changed() => {}
        }
    }
}

async fn relay_notifications(
    db: &DatabaseConnection,
    wake: &Notify,
) -> Result<std::convert::Infallible, sea_orm::sqlx::Error> {
    let mut listener =
        sea_orm::sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool())
            .await?;
    listener.listen(queue::WAKE_CHANNEL).await?;
    loop {
        listener.recv().await?;
        wake.notify_waiters();
    }
}
