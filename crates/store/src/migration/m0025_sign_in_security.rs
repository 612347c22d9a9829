//! Sign-in attempts, kept in the database so every process shares one limit and a restart
//! forgets nothing; staff sessions, so the staff area's cookie is a session that expires
//! and ends at sign-out rather than the long-lived staff token itself; and when each mail
//! message was handed to the relay, so a job run again after a crash does not send it twice.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0025_sign_in_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sign_in_attempts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    // The email as typed (trimmed, lower-cased), whether or not an account has it.
                    .col(string("account"))
                    // The address the attempt came from.
                    .col(string("source"))
                    .col(boolean("succeeded"))
                    .col(timestamp_with_time_zone("attempted_on"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("sign_in_attempts_account")
                    .table("sign_in_attempts")
                    .col("account")
                    .col("attempted_on")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("staff_sessions")
                    .if_not_exists()
                    .col(string("id_hash").primary_key())
                    .col(string("email"))
                    .col(timestamp_with_time_zone("created_on"))
                    .col(timestamp_with_time_zone("expires_on"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("mail_messages")
                    .add_column(timestamp_with_time_zone_null("handed_over_at"))
                    .take(),
            )
            .await
    }
}
