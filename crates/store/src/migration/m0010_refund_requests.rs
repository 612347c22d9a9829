//! Learners' refund requests (MITx Online `RefundRequest`), for staff to decide.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_refund_requests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("refund_requests")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("order_id"))
                    .col(big_integer("user_id"))
                    .col(string("reason"))
                    .col(text("reason_text"))
                    .col(string("status"))
                    .col(string_null("decided_by"))
                    .col(timestamp_with_time_zone("created_on"))
                    .col(timestamp_with_time_zone_null("decided_on"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("refund_requests", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("refund_requests", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }
}
