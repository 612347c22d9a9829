//! xPRO sells a program by one of its runs (`program-v1:…+R1`): the run tags the sale in the
//! basket and on the order line (xPRO `BasketItem.program_run`, `ProgramRunLine`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_program_runs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["baskets", "order_lines"] {
            if !manager.has_column(table, "program_run_tag").await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table)
                            .add_column(string_null("program_run_tag"))
                            .take(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
