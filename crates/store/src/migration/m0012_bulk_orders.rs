//! Bulk (B2B) seat purchases, xPRO's `b2b_ecommerce`: an order for N seats bought by an
//! email address without an account, its state changes, and the single-use codes its
//! fulfilment generated. A discount marked `bulk` prices seat purchases (xPRO's B2BCoupon)
//! and never a learner's basket; one table keeps codes unique across both kinds. A
//! processor post names the purchase it was about.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_bulk_orders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict};
        if !manager.has_column("discounts", "bulk").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("discounts")
                        .add_column(boolean("bulk").default(false))
                        .take(),
                )
                .await?;
        }
        // Which purchase a processor post was about; no foreign key, which SQLite cannot
        // add to an existing table (a deleted purchase leaves its posts as evidence).
        if !manager
            .has_column("payment_responses", "bulk_order_id")
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table("payment_responses")
                        .add_column(big_integer_null("bulk_order_id"))
                        .take(),
                )
                .await?;
        }
        let tables = [
            Table::create()
                .table("bulk_orders")
                .col(big_pk_auto("id"))
                .col(string("unique_id").unique_key())
                .col(string_null("reference_number").unique_key())
                .col(string("email"))
                .col(integer("num_seats"))
                .col(big_integer("product_version_id"))
                .col(big_integer("per_item_minor"))
                .col(big_integer("discount_minor").default(0))
                .col(big_integer("total_minor"))
                .col(string("currency"))
                .col(big_integer_null("discount_id"))
                .col(string_null("contract_number"))
                .col(string("state"))
                .col(text_null("flag"))
                .col(timestamp_with_time_zone("created_on"))
                .col(timestamp_with_time_zone("updated_on"))
                .foreign_key(&mut fk(
                    "bulk_orders",
                    "product_version_id",
                    "product_versions",
                    Restrict,
                ))
                .foreign_key(&mut fk("bulk_orders", "discount_id", "discounts", Restrict))
                .take(),
            Table::create()
                .table("bulk_order_transitions")
                .col(big_pk_auto("id"))
                .col(big_integer("order_id"))
                .col(string_null("from_state"))
                .col(string("to_state"))
                .col(text("cause"))
                .col(timestamp_with_time_zone("created_on"))
                .foreign_key(&mut fk(
                    "bulk_order_transitions",
                    "order_id",
                    "bulk_orders",
                    Cascade,
                ))
                .take(),
            Table::create()
                .table("bulk_order_codes")
                .col(big_integer("bulk_order_id"))
                .col(big_integer("discount_id").unique_key())
                .primary_key(Index::create().col("bulk_order_id").col("discount_id"))
                .foreign_key(&mut fk(
                    "bulk_order_codes",
                    "bulk_order_id",
                    "bulk_orders",
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "bulk_order_codes",
                    "discount_id",
                    "discounts",
                    Cascade,
                ))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        Ok(())
    }
}
