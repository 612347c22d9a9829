//! Keeping the queue's own tables small.

use chrono::{Duration, Utc};
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};

use crate::Context;

/// Deletes succeeded jobs and old schedule slots older than `keep_days`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PurgeFinishedJobs {
    pub keep_days: i64,
}

impl Job for PurgeFinishedJobs {
    const KIND: &'static str = "registrar.purge_finished_jobs";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let cutoff = Utc::now() - Duration::days(self.keep_days);
        let (jobs, slots) = jobs::queue::purge(ctx.store.db(), cutoff).await?;
        tracing::info!(jobs, slots, "purged finished jobs and old schedule slots");
        Ok(())
    }
}
