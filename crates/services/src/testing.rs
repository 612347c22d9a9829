//! For tests of flows that run through jobs: a worker with quick retries that stops once
//! every job has settled.

use std::sync::Arc;
use std::time::Duration;

use jobs::{Backoff, Worker, WorkerSettings};
use sea_orm::{ConnectionTrait, Statement};
use tokio::sync::{Notify, watch};

use crate::Context;

/// A context with no peers configured (tests set the ones they need over it).
pub fn context(store: &store::Store) -> Context {
    Context {
        store: store.clone(),
        // No Registrar is serving at this address.
        site_url: "http://127.0.0.1:9".to_string(),
        mail_outbox: std::env::temp_dir().join("registrar-test-outbox"),
        smtp: None,
        openedx: None,
        compliance: None,
        crm: None,
        sheets: None,
        vendors: None,
        storefront: None,
    }
}

/// A job that went dead while draining: its kind and its last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadJob {
    pub kind: String,
    pub last_error: String,
}

/// Runs every job kind of this build until none is queued, waiting or running (at most
/// about five seconds), and fails the test if a job went dead meanwhile, naming it: a
/// dead job is work silently lost. A test that expects deaths uses `drain_expecting_dead`.
pub async fn drain(context: Context) {
    let dead = drain_expecting_dead(context).await;
    assert!(
        dead.is_empty(),
        "jobs went dead while draining (use drain_expecting_dead if that is the point): {dead:#?}"
    );
}

/// `drain`, answering the jobs that went dead instead of failing on them.
pub async fn drain_expecting_dead(context: Context) -> Vec<DeadJob> {
    let db = context.store.db().clone();
    let backend = db.get_database_backend();
    let dead_query = Statement::from_string(
        backend,
        "SELECT id, kind, last_error FROM jobs WHERE state = 'dead' ORDER BY id",
    );
    let dead_now = |rows: Vec<sea_orm::QueryResult>| {
        rows.into_iter()
            .map(|r| {
                (
                    r.try_get::<i64>("", "id").expect("an id"),
                    DeadJob {
                        kind: r.try_get("", "kind").expect("a kind"),
                        last_error: r
                            .try_get::<Option<String>>("", "last_error")
                            .expect("an error")
                            .unwrap_or_default(),
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let before: Vec<i64> = dead_now(
        db.query_all_raw(dead_query.clone())
            .await
            .expect("dead jobs"),
    )
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    let (stop, stopped) = watch::channel(false);
    let worker = Worker {
        db: db.clone(),
        registry: Arc::new(crate::registry()),
        settings: WorkerSettings {
            backoff: Backoff {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(20),
            },
            poll: Duration::from_millis(10),
            // Waits on a peer (edX away, an account not made yet) are short here too.
            max_wait: Duration::from_millis(20),
            ..WorkerSettings::for_backend(db.get_database_backend(), 2)
        },
        context: Arc::new(context),
        name: "test".into(),
        wake: Arc::new(Notify::new()),
    };
    let handle = tokio::spawn(worker.run(stopped));
    // One statement, so a job enqueued by another job is never missed between counts.
    let pending = Statement::from_string(
        backend,
        "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'failed', 'running')",
    );
    for _ in 0..500 {
        let row = db
            .query_one_raw(pending.clone())
            .await
            .expect("counting jobs")
            .expect("a count");
        if row.try_get::<i64>("", "n").expect("a count") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).expect("the worker listens");
    handle.await.expect("the worker stops");
    dead_now(db.query_all_raw(dead_query).await.expect("dead jobs"))
        .into_iter()
        .filter(|(id, _)| !before.contains(id))
        .map(|(_, job)| job)
        .collect()
}
