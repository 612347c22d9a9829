//! Commerce: discounts and their redemptions, baskets, orders with their lines, every state
//! change with its cause, processor transactions, each processor post as received, and the
//! program enrollments a program purchase grants.
//! Money is integer cents; a discount's amount is decimal text (a percent or dollars).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_commerce"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict, SetNull};
        let tables = [
            Table::create()
                .table("discounts")
                .col(big_pk_auto("id"))
                .col(string_null("code").unique_key())
                .col(string("kind"))
                .col(string("amount"))
                .col(boolean("automatic").default(false))
                .col(string("redemption"))
                .col(integer("max_redemptions").default(0))
                .col(timestamp_with_time_zone_null("activation_date"))
                .col(timestamp_with_time_zone_null("expiration_date"))
                .col(string_null("payment_type"))
                .col(string_null("batch"))
                .col(timestamp_with_time_zone("created_on"))
                .take(),
            Table::create()
                .table("discount_products")
                .col(big_integer("discount_id"))
                .col(big_integer("product_id"))
                .primary_key(Index::create().col("discount_id").col("product_id"))
                .foreign_key(&mut fk(
                    "discount_products",
                    "discount_id",
                    "discounts",
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    "discount_products",
                    "product_id",
                    "products",
                    Restrict,
                ))
                .take(),
            Table::create()
                .table("discount_users")
                .col(big_integer("discount_id"))
                .col(big_integer("user_id"))
                .primary_key(Index::create().col("discount_id").col("user_id"))
                .foreign_key(&mut fk(
                    "discount_users",
                    "discount_id",
                    "discounts",
                    Cascade,
                ))
                .foreign_key(&mut fk("discount_users", "user_id", "users", Cascade))
                .take(),
            Table::create()
                .table("tax_rates")
                .col(string("country_code").primary_key())
                .col(string("percent"))
                .col(string("name").default("VAT"))
                .col(boolean("active").default(true))
                .take(),
            Table::create()
                .table("baskets")
                .col(big_pk_auto("id"))
                .col(big_integer_null("user_id").unique_key())
                .col(string_null("anonymous_id").unique_key())
                .col(big_integer_null("product_id"))
                .col(big_integer_null("discount_id"))
                .col(timestamp_with_time_zone("updated_on"))
                .foreign_key(&mut fk("baskets", "user_id", "users", Cascade))
                .foreign_key(&mut fk("baskets", "product_id", "products", SetNull))
                .foreign_key(&mut fk("baskets", "discount_id", "discounts", SetNull))
                .take(),
            Table::create()
                .table("orders")
                .col(big_pk_auto("id"))
                .col(string_null("reference_number").unique_key())
                .col(big_integer("purchaser_id"))
                .col(string("state"))
                .col(big_integer("total_minor"))
                .col(big_integer("tax_minor").default(0))
                .col(string_null("tax_country"))
                .col(string_null("tax_rate"))
                .col(string_null("tax_rate_name"))
                .col(string("currency"))
                .col(big_integer_null("discount_id"))
                .col(text_null("flag"))
                .col(timestamp_with_time_zone("created_on"))
                .col(timestamp_with_time_zone("updated_on"))
                .foreign_key(&mut fk("orders", "purchaser_id", "users", Restrict))
                .foreign_key(&mut fk("orders", "discount_id", "discounts", Restrict))
                .take(),
            Table::create()
                .table("order_lines")
                .col(big_pk_auto("id"))
                .col(big_integer("order_id"))
                .col(big_integer("product_version_id"))
                .col(integer("quantity").default(1))
                .col(big_integer("list_minor"))
                .col(big_integer("price_minor"))
                .col(string("description"))
                .foreign_key(&mut fk("order_lines", "order_id", "orders", Cascade))
                .foreign_key(&mut fk(
                    "order_lines",
                    "product_version_id",
                    "product_versions",
                    Restrict,
                ))
                .take(),
            Table::create()
                .table("order_transitions")
                .col(big_pk_auto("id"))
                .col(big_integer("order_id"))
                .col(string_null("from_state"))
                .col(string("to_state"))
                .col(text("cause"))
                .col(timestamp_with_time_zone("created_on"))
                .foreign_key(&mut fk("order_transitions", "order_id", "orders", Cascade))
                .take(),
            Table::create()
                .table("transactions")
                .col(big_pk_auto("id"))
                .col(big_integer("order_id"))
                .col(string("transaction_id").unique_key())
                .col(string("kind"))
                .col(big_integer("amount_minor"))
                .col(text("data"))
                .col(timestamp_with_time_zone("created_on"))
                .foreign_key(&mut fk("transactions", "order_id", "orders", Restrict))
                .take(),
            Table::create()
                .table("discount_redemptions")
                .col(big_pk_auto("id"))
                .col(big_integer("discount_id"))
                .col(big_integer("order_id").unique_key())
                .col(big_integer("user_id"))
                .col(timestamp_with_time_zone("created_on"))
                .foreign_key(&mut fk(
                    "discount_redemptions",
                    "discount_id",
                    "discounts",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "discount_redemptions",
                    "order_id",
                    "orders",
                    Cascade,
                ))
                .take(),
            Table::create()
                .table("program_enrollments")
                .col(big_pk_auto("id"))
                .col(big_integer("user_id"))
                .col(big_integer("program_id"))
                .col(string("mode"))
                .col(boolean("active").default(true))
                .col(string_null("change_status"))
                .col(big_integer_null("order_id"))
                .col(timestamp_with_time_zone("created_on"))
                .col(timestamp_with_time_zone("updated_on"))
                .foreign_key(&mut fk("program_enrollments", "user_id", "users", Cascade))
                .foreign_key(&mut fk(
                    "program_enrollments",
                    "program_id",
                    "programs",
                    Restrict,
                ))
                .foreign_key(&mut fk(
                    "program_enrollments",
                    "order_id",
                    "orders",
                    SetNull,
                ))
                .take(),
            Table::create()
                .table("payment_responses")
                .col(big_pk_auto("id"))
                .col(big_integer_null("order_id"))
                .col(string_null("reference_number"))
                .col(string_null("transaction_id"))
                .col(string_null("decision"))
                .col(string("channel"))
                .col(boolean("signature_valid"))
                .col(text("outcome"))
                .col(boolean("processed").default(false))
                .col(text("payload"))
                .col(timestamp_with_time_zone("received_on"))
                .foreign_key(&mut fk("payment_responses", "order_id", "orders", SetNull))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ux_program_enrollments_user_program")
                    .table("program_enrollments")
                    .col("user_id")
                    .col("program_id")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_purchaser_state")
                    .table("orders")
                    .col("purchaser_id")
                    .col("state")
                    .if_not_exists()
                    .take(),
            )
            .await
    }
}
