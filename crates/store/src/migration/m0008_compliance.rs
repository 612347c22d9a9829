//! The export-compliance log (xPRO `ExportsInquiryLog`): one row per screening that got an
//! answer, the request and response sealed to the operator's public key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_compliance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("exports_inquiry_logs")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string("computed_result"))
                    .col(big_integer_null("reason_code"))
                    .col(string_null("info_code"))
                    .col(text("encrypted_request"))
                    .col(text("encrypted_response"))
                    .col(timestamp_with_time_zone("created_on"))
                    .col(timestamp_with_time_zone("updated_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("exports_inquiry_logs", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_exports_inquiry_logs_user")
                    .table("exports_inquiry_logs")
                    .col("user_id")
                    .col("created_on")
                    .if_not_exists()
                    .take(),
            )
            .await
    }
}
