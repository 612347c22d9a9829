//! Google Sheets request rows Registrar acted on (row identity and a digest of its input
//! cells, the outcome, whether the sheet shows it yet), and the Drive channels watching
//! the request sheets.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0020_sheets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sheet_rows")
                    .if_not_exists()
                    .col(string("sheet"))
                    .col(string("row_key"))
                    .col(string("digest"))
                    .col(string("outcome"))
                    .col(text("message"))
                    .col(boolean("written_back").default(false))
                    .col(timestamp_with_time_zone("processed_at"))
                    .primary_key(Index::create().col("sheet").col("row_key"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("drive_watches")
                    .if_not_exists()
                    .col(string("file_id").primary_key())
                    .col(string("channel_id"))
                    .col(string("resource_id"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone("last_notified_at").null())
                    .take(),
            )
            .await
    }
}
