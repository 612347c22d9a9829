//! The queue on the backend `REGISTRAR_TEST_DATABASE_URL` picks (SQLite by default).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobs::{Backoff, Enqueue, Failure, Outcome, claim, enqueue, fail, succeed};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use store::testing::fresh_database;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

const LEASE: Duration = Duration::from_secs(30);

async fn state(db: &DatabaseConnection, id: i64) -> (String, i32, Option<String>) {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT state, attempts, last_error FROM jobs WHERE id = {id}"),
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "state").unwrap(),
        row.try_get("", "attempts").unwrap(),
        row.try_get("", "last_error").unwrap(),
    )
}

async fn count(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jobs",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test]
async fn a_job_exists_only_if_its_transaction_commits() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let txn = db.begin().await.unwrap();
    enqueue(&txn, "noop", &(), 3, Enqueue::default(), t(0))
        .await
        .unwrap()
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(count(db).await, 0);
    let txn = db.begin().await.unwrap();
    let id = enqueue(&txn, "noop", &(), 3, Enqueue::default(), t(0))
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    let job = claim(db, "w1", LEASE, t(0)).await.unwrap().unwrap();
    assert_eq!((job.id, job.kind.as_str(), job.attempts), (id, "noop", 1));
    assert!(
        claim(db, "w2", LEASE, t(1)).await.unwrap().is_none(),
        "a leased job is not handed out twice"
    );
    assert!(succeed(db, &job, t(2)).await.unwrap());
    assert_eq!(state(db, id).await.0, "succeeded");
    assert!(claim(db, "w1", LEASE, t(100)).await.unwrap().is_none());
}

#[tokio::test]
async fn run_at_delays_a_job() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    enqueue(
        db,
        "later",
        &serde_json::json!({"x": 1}),
        3,
        Enqueue {
            run_at: Some(t(60)),
            ..Enqueue::default()
        },
        t(0),
    )
    .await
    .unwrap();
    assert!(claim(db, "w", LEASE, t(59)).await.unwrap().is_none());
    let job = claim(db, "w", LEASE, t(60)).await.unwrap().unwrap();
    assert_eq!(job.payload, r#"{"x":1}"#);
}

#[tokio::test]
async fn unique_keys_coalesce_pending_jobs_only() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let key = || Enqueue {
        unique_key: Some("user:7".into()),
        ..Enqueue::default()
    };
    let first = enqueue(db, "sync", &(), 3, key(), t(0)).await.unwrap();
    assert!(first.is_some());
    assert_eq!(
        enqueue(db, "sync", &(), 3, key(), t(1)).await.unwrap(),
        None,
        "queued: no-op"
    );
    assert!(
        enqueue(db, "other", &(), 3, key(), t(1))
            .await
            .unwrap()
            .is_some(),
        "keys are per kind"
    );
    let other = claim(db, "w", LEASE, t(2)).await.unwrap().unwrap();
    let job = claim(db, "w", LEASE, t(2)).await.unwrap().unwrap();
    assert_eq!((other.kind.as_str(), job.kind.as_str()), ("sync", "other"));
    let (job, other) = (other, job);
    succeed(db, &other, t(2)).await.unwrap();
    let follow_up = enqueue(db, "sync", &(), 3, key(), t(3)).await.unwrap();
    assert!(follow_up.is_some(), "running: one more may wait");
    assert_eq!(
        enqueue(db, "sync", &(), 3, key(), t(3)).await.unwrap(),
        None,
        "and only one"
    );
    assert!(
        claim(db, "w", LEASE, t(4)).await.unwrap().is_none(),
        "it does not start while its key runs"
    );
    succeed(db, &job, t(5)).await.unwrap();
    let next = claim(db, "w", LEASE, t(6)).await.unwrap().unwrap();
    assert_eq!(Some(next.id), follow_up, "then it does");
}

#[tokio::test]
async fn a_failing_run_hands_its_retry_to_the_follow_up_waiting_behind_it() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let key = || Enqueue {
        unique_key: Some("sheet:1".into()),
        ..Enqueue::default()
    };
    let first = enqueue(db, "sync", &(), 3, key(), t(0))
        .await
        .unwrap()
        .unwrap();
    let job = claim(db, "w", LEASE, t(1)).await.unwrap().unwrap();
    assert_eq!(job.id, first);
    let follow_up = Enqueue {
        run_at: Some(t(600)),
        ..key()
    };
    let waiting = enqueue(db, "sync", &(), 3, follow_up, t(2))
        .await
        .unwrap()
        .unwrap();
    let backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(10),
    };
    let outcome = fail(
        db,
        &job,
        "Google is unreachable",
        Failure::Retry(backoff),
        t(3),
    )
    .await
    .unwrap();
    let Outcome::Retrying { at } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(at <= t(13), "the earlier of the two times: {at}");
    assert_eq!(count(db).await, 1, "one job stands for the key");
    let next = claim(db, "w", LEASE, t(14)).await.unwrap().unwrap();
    assert_eq!(next.id, waiting);
}

#[tokio::test]
async fn an_expired_lease_makes_the_job_claimable_and_fences_the_old_holder() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let id = enqueue(db, "slow", &(), 3, Enqueue::default(), t(0))
        .await
        .unwrap()
        .unwrap();
    let killed = claim(db, "w1", LEASE, t(0)).await.unwrap().unwrap();
    assert!(
        claim(db, "w2", LEASE, t(30)).await.unwrap().is_none(),
        "the lease runs to its end"
    );
    let again = claim(db, "w2", LEASE, t(31)).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 2));
    assert!(
        !succeed(db, &killed, t(32)).await.unwrap(),
        "the old holder cannot finish it"
    );
    assert_eq!(
        fail(
            db,
            &killed,
            "late",
            Failure::Retry(Backoff::default()),
            t(32)
        )
        .await
        .unwrap(),
        Outcome::ClaimLost
    );
    assert!(succeed(db, &again, t(33)).await.unwrap());
    assert_eq!(state(db, id).await.0, "succeeded");
}

#[tokio::test]
async fn failures_back_off_then_die_with_the_last_error() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(3600),
    };
    let id = enqueue(db, "flaky", &(), 3, Enqueue::default(), t(0))
        .await
        .unwrap()
        .unwrap();
    let mut now = t(0);
    for attempt in 1..=2u32 {
        let job = claim(db, "w", LEASE, now).await.unwrap().unwrap();
        assert_eq!(job.attempts, attempt);
        let Outcome::Retrying { at } = fail(
            db,
            &job,
            &format!("boom {attempt}"),
            Failure::Retry(backoff),
            now,
        )
        .await
        .unwrap() else {
            panic!("attempt {attempt} should retry");
        };
        let delay = (at - now).num_milliseconds();
        let full = 10_000 * (1 << (attempt - 1));
        assert!(
            delay >= full / 2 && delay <= full,
            "attempt {attempt}: {delay} ms"
        );
        assert_eq!(state(db, id).await.0, "failed");
        assert!(
            claim(db, "w", LEASE, at - chrono::Duration::milliseconds(1))
                .await
                .unwrap()
                .is_none()
        );
        now = at;
    }
    let job = claim(db, "w", LEASE, now).await.unwrap().unwrap();
    assert_eq!(
        fail(db, &job, "boom 3", Failure::Retry(backoff), now)
            .await
            .unwrap(),
        Outcome::Dead
    );
    assert_eq!(
        state(db, id).await,
        ("dead".to_string(), 3, Some("boom 3".to_string()))
    );
    assert!(
        claim(db, "w", LEASE, now + chrono::Duration::days(1))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_permanent_failure_skips_retries() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    let id = enqueue(db, "bad", &(), 5, Enqueue::default(), t(0))
        .await
        .unwrap()
        .unwrap();
    let job = claim(db, "w", LEASE, t(0)).await.unwrap().unwrap();
    assert_eq!(
        fail(db, &job, "no such user", Failure::Permanent, t(0))
            .await
            .unwrap(),
        Outcome::Dead
    );
    assert_eq!(
        state(db, id).await,
        ("dead".to_string(), 1, Some("no such user".to_string()))
    );
}

#[test]
fn backoff_grows_is_capped_and_jittered() {
    let backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60),
    };
    for _ in 0..100 {
        let first = backoff.delay(1);
        assert!(first >= Duration::from_secs(5) && first <= Duration::from_secs(10));
        let capped = backoff.delay(30);
        assert!(capped >= Duration::from_secs(30) && capped <= Duration::from_secs(60));
    }
}

/// Workers in separate processes never run one job twice: on PostgreSQL each worker has its
/// own connection pool, as separate processes would.
#[tokio::test]
async fn concurrent_workers_run_each_job_exactly_once() {
    let (store, url) = fresh_database().await;
    let total: i64 = if url.is_some() { 5_000 } else { 1_000 };
    let txn = store.db().begin().await.unwrap();
    for i in 0..total {
        enqueue(&txn, "count", &i, 3, Enqueue::default(), t(0))
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let mut pools = Vec::new();
    for _ in 0..2 {
        pools.push(match &url {
            Some(url) => store::Store::connect(url, store::PoolSize(4))
                .await
                .unwrap(),
            None => store.clone(),
        });
    }
    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut workers = Vec::new();
    for (p, pool) in pools.into_iter().enumerate() {
        for w in 0..4 {
            let (pool, runs) = (pool.clone(), runs.clone());
            workers.push(tokio::spawn(async move {
                let name = format!("p{p}w{w}");
                while let Some(job) = claim(pool.db(), &name, LEASE, t(1)).await.unwrap() {
                    *runs.lock().unwrap().entry(job.id).or_default() += 1;
                    assert!(succeed(pool.db(), &job, t(1)).await.unwrap());
                }
            }));
        }
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len() as i64, total, "every job ran");
    assert!(runs.values().all(|n| *n == 1), "no job ran twice");
}

#[tokio::test]
async fn operators_list_retry_cancel_and_count() {
    use jobs::admin;
    let (store, _) = fresh_database().await;
    let db = store.db();
    let dead = enqueue(
        db,
        "sync",
        &serde_json::json!({"user": 7}),
        1,
        Enqueue::default(),
        t(0),
    )
    .await
    .unwrap()
    .unwrap();
    let job = claim(db, "w", LEASE, t(0)).await.unwrap().unwrap();
    fail(
        db,
        &job,
        "peer said no",
        Failure::Retry(Backoff::default()),
        t(1),
    )
    .await
    .unwrap();
    let pending = enqueue(db, "sync", &(), 3, Enqueue::default(), t(2))
        .await
        .unwrap()
        .unwrap();
    enqueue(db, "other", &(), 3, Enqueue::default(), t(2))
        .await
        .unwrap();

    let listed = admin::list(db, Some("dead"), None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].payload, serde_json::json!({"user": 7}));
    assert_eq!(listed[0].last_error.as_deref(), Some("peer said no"));
    assert_eq!(
        admin::list(db, None, Some("sync"), 10)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        vec![pending, dead]
    );

    let stats = admin::kind_stats(db, "sync").await.unwrap();
    assert_eq!((stats.queue_depth, stats.running, stats.dead), (1, 0, 1));
    assert_eq!(stats.last_error.as_deref(), Some("peer said no"));
    assert_eq!(stats.last_run, Some(t(1)));
    assert_eq!(stats.last_success, None);
    assert_eq!(
        admin::kind_stats(db, "never").await.unwrap(),
        admin::KindStats::default()
    );

    assert!(admin::retry(db, dead, t(3)).await.unwrap());
    assert!(
        !admin::retry(db, dead, t(3)).await.unwrap(),
        "only dead or waiting jobs are retried"
    );
    let shown = admin::show(db, dead).await.unwrap().unwrap();
    assert_eq!((shown.state.as_str(), shown.attempts), ("queued", 0));
    assert!(admin::cancel(db, pending, t(4)).await.unwrap());
    let canceled = admin::show(db, pending).await.unwrap().unwrap();
    assert_eq!(
        (canceled.state.as_str(), canceled.last_error.as_deref()),
        ("dead", Some("canceled by an operator"))
    );
    let running = claim(db, "w", LEASE, t(5)).await.unwrap().unwrap();
    assert!(
        !admin::cancel(db, running.id, t(5)).await.unwrap(),
        "a running job is not canceled"
    );
    assert!(admin::show(db, 9999).await.unwrap().is_none());
}

#[tokio::test]
async fn a_wait_gives_its_attempt_back_only_for_a_while() {
    let (store, _) = fresh_database().await;
    let db = store.db();
    enqueue(db, "wait", &(), 3, Enqueue::default(), t(0))
        .await
        .unwrap();
    let job = claim(db, "w", LEASE, t(1)).await.unwrap().unwrap();
    let outcome = fail(
        db,
        &job,
        "peer away",
        Failure::Wait(Duration::from_secs(5)),
        t(1),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Waiting { .. }), "{outcome:?}");
    let again = claim(db, "w", LEASE, t(7)).await.unwrap().unwrap();
    assert_eq!(again.attempts, 1, "the wait gave its attempt back");
    let later = t(0) + jobs::queue::WAIT_LIMIT + chrono::Duration::seconds(10);
    fail(
        db,
        &again,
        "still away",
        Failure::Wait(Duration::from_secs(5)),
        later,
    )
    .await
    .unwrap();
    let last = claim(db, "w", LEASE, later + chrono::Duration::seconds(6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.attempts, 2, "past the limit, a wait uses its attempt");
}
