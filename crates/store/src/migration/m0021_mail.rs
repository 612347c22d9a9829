//! Messages sent, by Message-ID, with the latest delivery status a mail provider reported
//! (Mailgun's events: delivered, failed, opened, clicked), and the event tokens seen, so a
//! signed event cannot be replayed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0021_mail"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("mail_messages")
                    .if_not_exists()
                    .col(string("message_id").primary_key())
                    .col(string("recipient"))
                    .col(string("subject"))
                    .col(timestamp_with_time_zone("sent_at"))
                    .col(string_null("status"))
                    .col(text_null("status_detail"))
                    .col(timestamp_with_time_zone_null("status_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mail_event_tokens")
                    .if_not_exists()
                    .col(string("token").primary_key())
                    .col(timestamp_with_time_zone("seen_at"))
                    .take(),
            )
            .await
    }
}
