//! Typed jobs run by the worker, on the backend `REGISTRAR_TEST_DATABASE_URL` picks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use jobs::{Enqueue, Job, JobError, Registry, Worker, WorkerSettings, push};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

#[derive(Default)]
struct Counters {
    added: AtomicU32,
    flaky_calls: AtomicU32,
    slow_calls: AtomicU32,
    long_calls: AtomicU32,
    waits: AtomicU32,
}

/// Runs longer than a lease: a live worker's heartbeat must keep it.
#[derive(Serialize, Deserialize)]
struct Long;

impl Job for Long {
    const KIND: &'static str = "test.long";
    type Context = Counters;
    async fn run(self, ctx: &Counters) -> Result<(), JobError> {
        ctx.long_calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        Ok(())
    }
}

/// Waits on something outside it more times than it has attempts.
#[derive(Serialize, Deserialize)]
struct Waits;

impl Job for Waits {
    const KIND: &'static str = "test.waits";
    const MAX_ATTEMPTS: u32 = 2;
    type Context = Counters;
    async fn run(self, ctx: &Counters) -> Result<(), JobError> {
        if ctx.waits.fetch_add(1, Ordering::SeqCst) < 6 {
            return Err(JobError::wait(
                Duration::from_millis(10),
                "the peer is away",
            ));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Add {
    amount: u32,
}

impl Job for Add {
    const KIND: &'static str = "test.add";
    type Context = Counters;
    async fn run(self, ctx: &Counters) -> Result<(), JobError> {
        ctx.added.fetch_add(self.amount, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Flaky;

impl Job for Flaky {
    const KIND: &'static str = "test.flaky";
    type Context = Counters;
    async fn run(self, ctx: &Counters) -> Result<(), JobError> {
        if ctx.flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(JobError::Retry("peer unavailable".into()))
        } else {
            Ok(())
        }
    }
}

/// Hangs on its first run, as a worker that was killed mid-job would.
#[derive(Serialize, Deserialize)]
struct Slow;

impl Job for Slow {
    const KIND: &'static str = "test.slow";
    type Context = Counters;
    async fn run(self, ctx: &Counters) -> Result<(), JobError> {
        if ctx.slow_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

fn registry() -> Arc<Registry<Counters>> {
    Arc::new(
        Registry::default()
            .register::<Add>()
            .register::<Flaky>()
            .register::<Slow>()
            .register::<Long>()
            .register::<Waits>(),
    )
}

fn settings(lease: Duration) -> WorkerSettings {
    WorkerSettings {
        concurrency: 2,
        lease,
        timeout: Duration::from_secs(30),
        max_wait: Duration::from_millis(20),
        poll: Duration::from_millis(20),
        backoff: jobs::Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(20),
        },
        drain: Duration::from_secs(5),
    }
}

fn start(
    db: &DatabaseConnection,
    counters: Arc<Counters>,
    lease: Duration,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, shutdown) = watch::channel(false);
    let worker = Worker {
        db: db.clone(),
        registry: registry(),
        context: counters,
        settings: settings(lease),
        // Each worker its own name, as each process has (claims are renewed by name).
        name: format!("test-{}", rand_name()),
        wake: Arc::new(Notify::new()),
    };
    (stop, tokio::spawn(worker.run(shutdown)))
}

fn rand_name() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

async fn states(db: &DatabaseConnection) -> Vec<(String, String)> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT kind, state FROM jobs ORDER BY id",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            r.try_get("", "kind").unwrap(),
            r.try_get("", "state").unwrap(),
        )
    })
    .collect()
}

async fn until(
    db: &DatabaseConnection,
    done: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    for _ in 0..300 {
        let now = states(db).await;
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs did not settle: {:?}", states(db).await);
}

fn settled(states: &[(String, String)]) -> bool {
    states.iter().all(|(_, s)| s == "succeeded" || s == "dead")
}

#[tokio::test]
async fn typed_jobs_run_retry_and_unknown_kinds_are_reported() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    push(db, &Add { amount: 2 }, Enqueue::default())
        .await
        .unwrap();
    push(db, &Add { amount: 3 }, Enqueue::default())
        .await
        .unwrap();
    push(db, &Flaky, Enqueue::default()).await.unwrap();
    jobs::enqueue(
        db,
        "retired.kind",
        &(),
        3,
        Enqueue::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    db.execute_unprepared("INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_at, created_at) SELECT 'test.add', '{\"amount\": \"x\"}', 'queued', 0, 3, run_at, created_at FROM jobs LIMIT 1")
        .await
        .unwrap();
    let counters = Arc::new(Counters::default());
    let (stop, worker) = start(db, counters.clone(), Duration::from_secs(30));
    let done = until(db, settled).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert_eq!(counters.added.load(Ordering::SeqCst), 5);
    assert_eq!(
        counters.flaky_calls.load(Ordering::SeqCst),
        2,
        "retried once after the first failure"
    );
    assert_eq!(done[2], ("test.flaky".to_string(), "succeeded".to_string()));
    assert_eq!(
        done[3],
        ("retired.kind".to_string(), "dead".to_string()),
        "an unknown kind is reported, not crashed on"
    );
    assert_eq!(
        done[4].1, "dead",
        "a payload that does not fit is a permanent failure"
    );
    let error: String = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT last_error FROM jobs WHERE kind = 'retired.kind'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "last_error")
        .unwrap();
    assert!(
        error.contains("no handler for job kind \"retired.kind\""),
        "{error}"
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_runs_again_after_its_lease() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    push(db, &Slow, Enqueue::default()).await.unwrap();
    let counters = Arc::new(Counters::default());
    let lease = Duration::from_millis(300);
    let (_keep_running, killed) = start(db, counters.clone(), lease);
    until(db, |s| s.iter().all(|(_, state)| state == "running")).await;
    killed.abort();
    let (stop, worker) = start(db, counters.clone(), lease);
    let done = until(db, settled).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert_eq!(
        done,
        vec![("test.slow".to_string(), "succeeded".to_string())]
    );
    assert_eq!(counters.slow_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn shutdown_lets_a_running_job_finish() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    for amount in 1..=20 {
        push(db, &Add { amount }, Enqueue::default()).await.unwrap();
    }
    let counters = Arc::new(Counters::default());
    let (stop, worker) = start(db, counters.clone(), Duration::from_secs(30));
    until(db, |s| s.iter().any(|(_, state)| state == "succeeded")).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let after = states(db).await;
    assert!(
        after.iter().all(|(_, s)| s != "running"),
        "nothing is left half-run: {after:?}"
    );
}

#[tokio::test]
async fn a_job_longer_than_its_lease_stays_with_its_live_worker() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    push(db, &Long, Enqueue::default()).await.unwrap();
    let counters = Arc::new(Counters::default());
    let lease = Duration::from_millis(300);
    let (stop_a, a) = start(db, counters.clone(), lease);
    let (stop_b, b) = start(db, counters.clone(), lease);
    until(db, settled).await;
    for stop in [stop_a, stop_b] {
        stop.send(true).unwrap();
    }
    a.await.unwrap();
    b.await.unwrap();
    assert_eq!(
        counters.long_calls.load(Ordering::SeqCst),
        1,
        "the heartbeat kept the claim; no second worker took it"
    );
}

#[tokio::test]
async fn waiting_on_a_peer_uses_no_attempts() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    push(db, &Waits, Enqueue::default()).await.unwrap();
    let counters = Arc::new(Counters::default());
    let (stop, worker) = start(db, counters.clone(), Duration::from_secs(30));
    let done = until(db, settled).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert_eq!(
        done,
        vec![("test.waits".to_string(), "succeeded".to_string())],
        "six waits did not use up its two attempts"
    );
    assert_eq!(counters.waits.load(Ordering::SeqCst), 7);
}

/// A kind that declares its key: one job per target however often it is queued.
#[derive(Serialize, Deserialize)]
struct Refresh {
    target: u32,
}

impl Job for Refresh {
    const KIND: &'static str = "test.refresh";
    type Context = Counters;
    fn unique_key(&self) -> Option<String> {
        Some(format!("target:{}", self.target))
    }
    async fn run(self, _: &Counters) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_kind_queued_with_its_own_enqueue_applies_its_key_and_its_time() {
    let (store, _) = store::testing::fresh_database().await;
    let db = store.db();
    let first = Refresh { target: 1 }.enqueue(db).await.unwrap();
    assert!(first.is_some(), "queued");
    assert_eq!(
        Refresh { target: 1 }.enqueue(db).await.unwrap(),
        None,
        "the same key while one is queued: nothing more"
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        Refresh { target: 2 }
            .enqueue_at(db, Some(later))
            .await
            .unwrap()
            .is_some(),
        "another key is another job"
    );
    assert!(
        Add { amount: 1 }.enqueue(db).await.unwrap().is_some()
            && Add { amount: 1 }.enqueue(db).await.unwrap().is_some(),
        "a kind without a key queues every job"
    );
    let kinds = states(db).await;
    assert_eq!(kinds.iter().filter(|(k, _)| k == "test.refresh").count(), 2);
    let run_at: chrono::DateTime<chrono::Utc> = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT run_at FROM jobs WHERE unique_key = 'target:2'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "run_at")
        .unwrap();
    assert!((run_at - later).num_seconds().abs() <= 1, "run_at is kept");
}
