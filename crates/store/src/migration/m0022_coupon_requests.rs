//! Coupon requests (xPRO's coupon request sheet and BulkCouponAssignment, or the staff
//! queue): a named batch of single-use enrollment codes for a company's purchase order,
//! the assignment spreadsheet it was given, and which code was assigned to whom, with the
//! enrollment email's delivery and the redemption (xPRO ProductCouponAssignment).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0022_coupon_requests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict};
        let tables = [
            Table::create()
                .table("coupon_requests")
                .col(big_pk_auto("id"))
                // The batch name the codes carry (`discounts.batch`).
                .col(string("name").unique_key())
                .col(string("purchase_order"))
                .col(integer("num_codes"))
                .col(big_integer("product_id"))
                .col(string("product_text_id"))
                .col(string("company"))
                .col(timestamp_with_time_zone_null("activation_date"))
                .col(timestamp_with_time_zone_null("expiration_date"))
                .col(string_null("requester"))
                .col(string("source"))
                .col(timestamp_with_time_zone("created_on"))
                .col(string_null("sheet_id").unique_key())
                // Codes and links written and ranges protected; then shared and watched.
                .col(timestamp_with_time_zone_null("sheet_filled_on"))
                .col(timestamp_with_time_zone_null("sheet_ready_on"))
                .col(timestamp_with_time_zone_null("assignments_started_on"))
                .col(timestamp_with_time_zone_null("last_assignment_on"))
                .col(timestamp_with_time_zone_null("delivery_completed_on"))
                .foreign_key(&mut fk(
                    "coupon_requests",
                    "product_id",
                    "products",
                    Restrict,
                ))
                .take(),
            Table::create()
                .table("code_assignments")
                .col(big_integer("discount_id").primary_key())
                .col(big_integer("request_id"))
                .col(string("email"))
                .col(string("status"))
                .col(timestamp_with_time_zone("status_at"))
                .col(string_null("message_id"))
                .col(string_null("redeemed_by"))
                .col(timestamp_with_time_zone_null("redeemed_on"))
                // Whether the assignment sheet shows the current status.
                .col(boolean("shown").default(false))
                .col(timestamp_with_time_zone("created_on"))
                .foreign_key(&mut fk(
                    "code_assignments",
                    "discount_id",
                    "discounts",
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "code_assignments",
                    "request_id",
                    "coupon_requests",
                    Cascade,
                ))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("code_assignments_message")
                    .table("code_assignments")
                    .col("message_id")
                    .take(),
            )
            .await
    }
}
