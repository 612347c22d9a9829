//! Course-run enrollments and their Open edX state.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_enrollments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("course_run_enrollments")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(big_integer("run_id"))
                    .col(string("mode").default("audit"))
                    .col(boolean("active").default(true))
                    .col(string_null("change_status"))
                    .col(boolean("edx_enrolled").default(false))
                    .col(text_null("edx_error"))
                    .col(timestamp_with_time_zone("created_on"))
                    .col(timestamp_with_time_zone("updated_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("course_run_enrollments", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("course_run_enrollments", "run_id")
                            .to("course_runs", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_enrollments_user_run")
                    .table("course_run_enrollments")
                    .col("user_id")
                    .col("run_id")
                    .unique()
                    .take(),
            )
            .await
    }
}
