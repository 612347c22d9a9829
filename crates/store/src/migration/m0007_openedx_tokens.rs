//! Each learner's own Open edX API tokens (reference `OpenEdxApiAuth`), minted by the
//! sign-in handshake and refreshed before they expire (they are edX's secrets, which we
//! must present, so they are kept as issued); and the course-email choice of each
//! enrollment (reference `edx_emails_subscription`, on by default as in edX), which those
//! tokens push.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_openedx_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("openedx_api_auth")
                    .if_not_exists()
                    .col(big_integer("user_id").primary_key())
                    .col(text("access_token"))
                    .col(text("refresh_token"))
                    .col(timestamp_with_time_zone("access_token_expires_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("openedx_api_auth", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("course_run_enrollments")
                    .add_column(boolean("edx_emails_subscription").default(true))
                    .take(),
            )
            .await
    }
}
