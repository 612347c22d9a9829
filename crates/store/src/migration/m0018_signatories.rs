//! Who signs a course's or program's certificates (the references' certificate page
//! signatories): a JSON list on the marketing page.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_signatories"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("pages", "signatories").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("pages")
                    .add_column(text_null("signatories"))
                    .take(),
            )
            .await
    }
}
