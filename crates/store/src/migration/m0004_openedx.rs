//! Open edX provisioning state per user: the edX username given and whether the account
//! exists there, or why creating it failed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_openedx"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("openedx_users")
                    .if_not_exists()
                    .col(big_integer("user_id").primary_key())
                    .col(string_null("edx_username"))
                    .col(boolean("has_been_synced").default(false))
                    .col(text_null("sync_error"))
                    .col(timestamp_with_time_zone("updated_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("openedx_users", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }
}
