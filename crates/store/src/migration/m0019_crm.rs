//! What Registrar has sent HubSpot (xPRO and MITx Online `HubspotObject`): each object's
//! HubSpot id and a digest of the properties last sent, and the contacts waiting to be
//! sent, so a burst of changes to one learner makes one upsert.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_crm"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("crm_objects")
                    .if_not_exists()
                    .col(string("kind"))
                    .col(string("local_key"))
                    .col(string("hubspot_id"))
                    .col(string("digest"))
                    .col(timestamp_with_time_zone("synced_at"))
                    .primary_key(Index::create().col("kind").col("local_key"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("crm_pending")
                    .if_not_exists()
                    .col(string("kind"))
                    .col(string("local_key"))
                    .col(timestamp_with_time_zone("marked_at"))
                    .primary_key(Index::create().col("kind").col("local_key"))
                    .take(),
            )
            .await
    }
}
