//! Countries a course is not offered in (MITx Online `BlockedCountry`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_blocked_countries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("course_blocked_countries")
                    .if_not_exists()
                    .col(big_integer("course_id"))
                    .col(string_len("country", 2))
                    .primary_key(Index::create().col("course_id").col("country"))
                    .foreign_key(&mut fk(
                        "course_blocked_countries",
                        "course_id",
                        "courses",
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await
    }
}
