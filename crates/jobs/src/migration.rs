//! The `jobs` and `cron_runs` tables. Included in the application's migrator by the store crate.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("jobs")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string("kind"))
                    .col(text("payload"))
                    .col(string("state"))
                    .col(integer("attempts").default(0))
                    .col(integer("max_attempts"))
                    .col(timestamp_with_time_zone("run_at"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(string_null("locked_by"))
                    .col(text_null("last_error"))
                    .col(string_null("unique_key"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("cron_runs")
                    .if_not_exists()
                    .col(string("schedule"))
                    .col(timestamp_with_time_zone("slot"))
                    .col(timestamp_with_time_zone("claimed_at"))
                    .col(big_integer_null("job_id"))
                    .primary_key(Index::create().col("schedule").col("slot"))
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        // Partial indexes read the same on both backends.
        db.execute_unprepared(
            "CREATE INDEX ix_jobs_claimable ON jobs (run_at, id) WHERE state IN ('queued', 'failed')",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_jobs_leases ON jobs (lease_until) WHERE state = 'running'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_jobs_unique_key ON jobs (kind, unique_key) \
             WHERE unique_key IS NOT NULL AND state IN ('queued', 'failed', 'running')",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX ix_jobs_kind_state ON jobs (kind, state)")
            .await?;
        Ok(())
    }
}

/// On PostgreSQL, enqueueing wakes idle workers through a statement trigger: the server
/// issues the NOTIFY itself (delivered at commit, once per transaction whatever the number
/// of jobs), saving a round trip per job.
pub struct WakeTrigger;

impl MigrationName for WakeTrigger {
    fn name(&self) -> &str {
        "m0011_jobs_wake_trigger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for WakeTrigger {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE OR REPLACE FUNCTION registrar_jobs_wake() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_notify('{}', ''); RETURN NULL; END $$",
            crate::queue::WAKE_CHANNEL
        ))
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER jobs_wake AFTER INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION registrar_jobs_wake()",
        )
        .await?;
        Ok(())
    }
}

/// A keyed job may wait behind a running one (a change made while its sweep runs is
/// picked up by the next run): the key is unique among pending jobs only, and claiming
/// skips a job whose key is running.
pub struct FollowUps;

impl MigrationName for FollowUps {
    fn name(&self) -> &str {
        "m0024_jobs_follow_ups"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FollowUps {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ux_jobs_unique_key")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_jobs_pending_key ON jobs (kind, unique_key) \
             WHERE unique_key IS NOT NULL AND state IN ('queued', 'failed')",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS ix_jobs_running_key ON jobs (kind, unique_key) \
             WHERE unique_key IS NOT NULL AND state = 'running'",
        )
        .await?;
        Ok(())
    }
}
