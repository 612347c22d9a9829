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
