//! The OAuth2 provider Open edX signs learners in through: registered applications, one-time
//! authorization codes and access/refresh tokens (all secrets stored as digests).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_oauth2"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("oauth_applications")
                .col(big_pk_auto("id"))
                .col(string("name"))
                .col(string_uniq("client_id"))
                .col(string("client_secret_hash"))
                .col(text("redirect_uris"))
                .col(timestamp_with_time_zone("created_on"))
                .take(),
            Table::create()
                .table("oauth_grants")
                .col(string("code_hash").primary_key())
                .col(big_integer("application_id"))
                .col(big_integer("user_id"))
                .col(text("redirect_uri"))
                .col(timestamp_with_time_zone("expires_on"))
                .col(boolean("used").default(false))
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_grants", "application_id")
                        .to("oauth_applications", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_grants", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
            Table::create()
                .table("oauth_tokens")
                .col(string("access_hash").primary_key())
                .col(string_uniq("refresh_hash"))
                .col(big_integer("application_id"))
                .col(big_integer("user_id"))
                .col(timestamp_with_time_zone("expires_on"))
                .col(boolean("revoked").default(false))
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_tokens", "application_id")
                        .to("oauth_applications", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("oauth_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        Ok(())
    }
}
