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

/// Runs every job kind of this build until none is queued, waiting or running (at most
/// about five seconds).
pub async fn drain(context: Context) {
    let db = context.store.db().clone();
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
        db.get_database_backend(),
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
}
