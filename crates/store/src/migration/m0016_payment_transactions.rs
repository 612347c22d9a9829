//! The purchase order or transaction a discount was paid for by (xPRO
//! `CouponPaymentVersion.payment_transaction`, e.g. a PO number or a bulk purchase's contract).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_payment_transactions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager
            .has_column("discounts", "payment_transaction")
            .await?
        {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("discounts")
                    .add_column(string_null("payment_transaction"))
                    .take(),
            )
            .await
    }
}
