//! Typed job kinds and the worker that runs them.
//!
//! A kind is a Rust type: its payload is the type's fields, its handler `Job::run`. Handlers
//! run at least once: a worker that dies mid-job leaves the job to be claimed again when its
//! lease ends, so every handler must be idempotent. Leases are short and a live worker
//! renews those of the jobs it runs (a heartbeat), so the jobs of a process that died are
//! taken back within one lease, while a long job of a live process is never taken from it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
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
    /// Waiting on something outside the job (a peer that is down, a record another job
    /// makes first): tried again after `after` without using up an attempt, however long
    /// the wait lasts.
    #[error("waiting: {why}")]
    Wait { after: Duration, why: String },
}

/// A database error is worth another attempt (the database was busy, restarting or out of
/// reach for a moment), so handlers use `?` on their queries.
impl From<DbErr> for JobError {
    fn from(error: DbErr) -> Self {
        JobError::Retry(error.to_string())
    }
}

impl JobError {
    /// Waiting on a peer or another job, to look again after `after` (see [`JobError::Wait`]).
    pub fn wait(after: Duration, why: impl Into<String>) -> Self {
        JobError::Wait {
            after,
            why: why.into(),
        }
    }
}

pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The name stored in the `jobs` table; never change it once jobs of it exist.
    const KIND: &'static str;
    const MAX_ATTEMPTS: u32 = 5;
    /// What handlers need (database, clients), shared by every job of a registry.
    type Context: Send + Sync + 'static;

    fn run(self, ctx: &Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Jobs of this kind with the same key are queued once: while one is queued or waiting
    /// for its retry, enqueueing another does nothing (see [`Enqueue::unique_key`]). `None`,
    /// the default, queues every job.
    fn unique_key(&self) -> Option<String> {
        None
    }

    /// Queues this job in the caller's transaction: it exists if and only if the caller
    /// commits. Its id, or `None` when a job with its key was already pending.
    fn enqueue<C: ConnectionTrait + Sync>(
        &self,
        db: &C,
    ) -> impl Future<Output = Result<Option<i64>, DbErr>> + Send
    where
        Self: Sync,
    {
        self.enqueue_at(db, None)
    }

    /// Queues this job to run not before `run_at` (now when `None`), in the caller's
    /// transaction; a job with its key already pending absorbs it.
    fn enqueue_at<C: ConnectionTrait + Sync>(
        &self,
        db: &C,
        run_at: Option<chrono::DateTime<Utc>>,
    ) -> impl Future<Output = Result<Option<i64>, DbErr>> + Send
    where
        Self: Sync,
    {
        let options = Enqueue {
            unique_key: self.unique_key(),
            run_at,
        };
        async move {
            queue::enqueue(
                db,
                Self::KIND,
                self,
                Self::MAX_ATTEMPTS,
                options,
                Utc::now(),
            )
            .await
        }
    }
}

/// Enqueues a typed job in the caller's transaction with explicit options (a kind's own
/// `Job::enqueue`, which applies its key, is the usual way).
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
    /// How long a claim lasts without renewal: the worker renews its claims every third of
    /// it, so a claim outlives its worker by at most this long.
    pub lease: Duration,
    /// The longest a handler may run; then it is abandoned and retried.
    pub timeout: Duration,
    /// The longest a waiting job is put off (a handler's [`JobError::Wait`] is capped at
    /// it), so waiting work resumes soon after what it waits for is back.
    pub max_wait: Duration,
    /// How often an idle worker looks for due jobs (an enqueue in this process wakes it sooner).
    pub poll: Duration,
    pub backoff: Backoff,
    /// How long shutdown waits for running jobs.
    pub drain: Duration,
}

impl WorkerSettings {
    /// PostgreSQL wakes idle workers on every enqueue, so polling is only a fallback there;
    /// SQLite has no cross-process notification, so polling is what bounds pick-up latency.
    pub fn for_backend(backend: sea_orm::DatabaseBackend, concurrency: usize) -> Self {
        Self {
            concurrency,
            lease: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            max_wait: Duration::from_secs(60),
            poll: match backend {
                sea_orm::DatabaseBackend::Postgres => Duration::from_secs(1),
                _ => Duration::from_millis(40),
            },
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

/// A finished handler run, on its way to being recorded.
struct Finished {
    job: Claimed,
    result: Result<(), JobError>,
}

/// Most successes recorded in one statement.
const RECORD_BATCH: usize = 64;

impl<C: Send + Sync + 'static> Worker<C> {
    /// Runs until `shutdown` turns true, then lets running jobs finish (up to `drain`).
    ///
    /// One loop claims as many due jobs as there are free slots in one statement; handlers
    /// run concurrently; a recorder writes their successes in batches. Batching keeps the
    /// commits per job low, which is what bounds throughput on PostgreSQL.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.settings.concurrency.max(1)));
        let (finished, outcomes) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(this.clone().record(outcomes));
        // Owned here, so dropping the worker (an aborted task) stops the listener too.
        let mut listener = JoinSet::new();
        if this.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            listener.spawn(listen(this.db.clone(), this.wake.clone(), shutdown.clone()));
        }
        // Owned here too: a worker that is gone renews nothing, and its claims lapse. At
        // shutdown it is let finish (never cut off mid-statement, which would cost its
        // connection).
        // It outlives the claim loop: jobs still finishing during the drain keep their claims.
        let (stop_heartbeat, heartbeat_stopped) = watch::channel(false);
        let mut heartbeat_task = JoinSet::new();
        heartbeat_task.spawn(heartbeat(
            this.db.clone(),
            this.name.clone(),
            this.settings.lease,
            heartbeat_stopped,
        ));
        let mut running = JoinSet::new();
        while !*shutdown.borrow() {
            // Waiting for a free slot must not hold up shutdown.
            let first = tokio::select! {
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                changed = shutdown.changed() => if changed.is_err() { break } else { continue },
            };
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            match queue::claim_batch(
                &this.db,
                &this.name,
                this.settings.lease,
                Utc::now(),
                permits.len() as u32,
            )
            .await
            {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        let (this, finished, permit) =
                            (this.clone(), finished.clone(), permits.pop());
                        running.spawn(async move {
                            let result = this.execute(&job).await;
                            let _ = finished.send(Finished { job, result });
                            drop(permit);
                        });
                    }
                }
                Ok(_) => {
                    drop(permits);
                    tokio::select! {
                        _ = tokio::time::sleep(this.settings.poll) => {}
                        _ = this.wake.notified() => {}
                        // A dropped sender means nobody can ask us to stop any more: stop.
                        changed = shutdown.changed() => if changed.is_err() { break },
                    }
                }
                Err(error) => {
                    drop(permits);
                    tracing::error!(%error, "claiming jobs failed");
                    tokio::time::sleep(this.settings.poll).await;
                }
            }
            while running.try_join_next().is_some() {}
        }
        if tokio::time::timeout(this.settings.drain, async {
            while running.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!(
                "jobs still running after the drain period; their leases will expire and they will run again"
            );
            running.abort_all();
        }
        drop(finished);
        let _ = recorder.await;
        let _ = stop_heartbeat.send(true);
        while heartbeat_task.join_next().await.is_some() {}
        listener.shutdown().await;
    }

    /// Runs a handler, bounded by the timeout.
    async fn execute(&self, job: &Claimed) -> Result<(), JobError> {
        let kind = job.kind.clone();
        let waited = (Utc::now() - job.run_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!("jobs_start_delay_seconds", "kind" => kind.clone()).record(waited);
        metrics::counter!("jobs_started_total", "kind" => kind.clone()).increment(1);
        let started = Instant::now();
        let result = match tokio::time::timeout(
            self.settings.timeout,
            self.registry.run(job, self.context.clone()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(JobError::Retry(format!(
                "did not finish within {:?}",
                self.settings.timeout
            ))),
        };
        metrics::histogram!("jobs_duration_seconds", "kind" => kind)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Records outcomes: successes in batches, failures one by one (each has its own error
    /// and backoff).
    async fn record(self: Arc<Self>, mut outcomes: mpsc::UnboundedReceiver<Finished>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let now = Utc::now();
            let (succeeded, failed): (Vec<Finished>, Vec<Finished>) =
                batch.drain(..).partition(|f| f.result.is_ok());
            let jobs: Vec<Claimed> = succeeded.into_iter().map(|f| f.job).collect();
            match queue::succeed_many(&self.db, &jobs, now).await {
                Ok(recorded) => {
                    for job in &jobs {
                        let outcome = if recorded.contains(&job.id) {
                            "succeeded"
                        } else {
                            "claim_lost"
                        };
                        metrics::counter!("jobs_finished_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
                        tracing::debug!(job = job.id, kind = %job.kind, attempt = job.attempts, outcome, "job finished");
                    }
                }
                Err(error) => {
                    tracing::error!(%error, jobs = jobs.len(), "recording successes failed; their leases will expire and they will run again")
                }
            }
            for Finished { job, result } in failed {
                let Err(error) = result else { continue };
                let failure = match &error {
                    JobError::Permanent(_) => queue::Failure::Permanent,
                    JobError::Retry(_) => queue::Failure::Retry(self.settings.backoff),
                    JobError::Wait { after, .. } => {
                        queue::Failure::Wait((*after).min(self.settings.max_wait))
                    }
                };
                let outcome = match queue::fail(&self.db, &job, &error.to_string(), failure, now)
                    .await
                {
                    Ok(Outcome::Waiting { .. }) => "waiting",
                    Ok(Outcome::Retrying { .. }) => "failed",
                    Ok(Outcome::Dead) => "dead",
                    Ok(Outcome::ClaimLost) => "claim_lost",
                    Err(db_error) => {
                        tracing::error!(error = %db_error, job = job.id, "recording a failure failed; its lease will expire and it will run again");
                        continue;
                    }
                };
                metrics::counter!("jobs_finished_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, %error, outcome, "job failed");
            }
        }
    }
}

/// Renews the claims of this worker's running jobs every third of the lease, until
/// shutdown (or until the worker is dropped with the task that owns this).
async fn heartbeat(
    db: DatabaseConnection,
    worker: String,
    lease: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = (lease / 3).max(Duration::from_millis(10));
    while !*shutdown.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            changed = shutdown.changed() => if changed.is_err() { return },
        }
        if let Err(error) = queue::renew(&db, &worker, lease, Utc::now()).await {
            tracing::warn!(%error, "renewing job claims failed; they lapse if this goes on");
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
            changed = shutdown.changed() => if changed.is_err() { return },
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
