//! Enrollment-code sheets (MITx Online `ContractEnrollmentCodesSheetHandler`): a batch of
//! codes shown in a spreadsheet tab, with where each code's row is, so an update rewrites
//! a code's row in place however the sheet was sorted since.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0023_code_sheets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("code_sheets")
                .col(string("batch").primary_key())
                .col(string("spreadsheet"))
                .col(string("tab"))
                // The spreadsheet and tab the codes were last written to whole; another
                // target is written whole again.
                .col(string_null("written_to"))
                .col(timestamp_with_time_zone_null("updated_on"))
                .col(timestamp_with_time_zone("created_on"))
                .take(),
            Table::create()
                .table("code_sheet_rows")
                .col(big_integer("discount_id").primary_key())
                .col(string("batch"))
                .col(integer("row_number"))
                .foreign_key(&mut super::fk(
                    "code_sheet_rows",
                    "discount_id",
                    "discounts",
                    ForeignKeyAction::Cascade,
                ))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        Ok(())
    }
}
