//! Grades pulled from Open edX (or set by staff) and the certificates they earn: one grade
//! and at most one certificate per learner and run, one certificate per learner and
//! program. Certificates are revoked with a reason, never deleted by staff; a zero grade
//! removes a course certificate, as both references do.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_certificates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::Cascade;
        let tables = [
            Table::create()
                .table("course_run_grades")
                .col(big_integer("user_id"))
                .col(big_integer("run_id"))
                .col(double("grade"))
                .col(string_null("letter_grade"))
                .col(boolean("passed"))
                .col(boolean("set_by_admin").default(false))
                .col(timestamp_with_time_zone("updated_on"))
                .primary_key(Index::create().col("user_id").col("run_id"))
                .foreign_key(&mut fk("course_run_grades", "user_id", "users", Cascade))
                .foreign_key(&mut fk(
                    "course_run_grades",
                    "run_id",
                    "course_runs",
                    Cascade,
                ))
                .take(),
            Table::create()
                .table("course_run_certificates")
                .col(big_pk_auto("id"))
                .col(string("uuid").unique_key())
                .col(big_integer("user_id"))
                .col(big_integer("run_id"))
                .col(boolean("is_revoked").default(false))
                .col(text_null("revoke_reason"))
                .col(timestamp_with_time_zone("issue_date"))
                .foreign_key(&mut fk(
                    "course_run_certificates",
                    "user_id",
                    "users",
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "course_run_certificates",
                    "run_id",
                    "course_runs",
                    Cascade,
                ))
                .take(),
            Table::create()
                .table("program_certificates")
                .col(big_pk_auto("id"))
                .col(string("uuid").unique_key())
                .col(big_integer("user_id"))
                .col(big_integer("program_id"))
                .col(boolean("is_revoked").default(false))
                .col(text_null("revoke_reason"))
                .col(timestamp_with_time_zone("issue_date"))
                .foreign_key(&mut fk("program_certificates", "user_id", "users", Cascade))
                .foreign_key(&mut fk(
                    "program_certificates",
                    "program_id",
                    "programs",
                    Cascade,
                ))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        for (table, owner) in [
            ("course_run_certificates", "run_id"),
            ("program_certificates", "program_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("ux_{table}_user"))
                        .table(table)
                        .col("user_id")
                        .col(owner)
                        .unique()
                        .if_not_exists()
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
