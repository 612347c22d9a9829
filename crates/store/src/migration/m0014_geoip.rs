//! The GeoIP networks (xPRO's MaxMind `NetBlock`), reduced to what tax needs: each
//! network's first and last address, big-endian 16 bytes so that byte order is address
//! order on both backends, and its country.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_geoip"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("geoip_networks")
                    .if_not_exists()
                    .col(binary("first_ip").primary_key())
                    .col(binary("last_ip"))
                    .col(string_len("country", 2))
                    .take(),
            )
            .await
    }
}
