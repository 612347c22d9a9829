//! Learner and staff accounts: users, legal addresses, sessions, one-time email tokens
//! (verification, password reset, change of email) and the registration blocklist.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("users")
                .col(big_pk_auto("id"))
                .col(string_uniq("email"))
                .col(string_uniq("username"))
                .col(string("name").default(""))
                .col(string_null("password_hash"))
                .col(boolean("is_active").default(true))
                .col(boolean("is_staff").default(false))
                .col(boolean("email_verified").default(false))
                .col(string_null("global_id").unique_key())
                .col(timestamp_with_time_zone("created_on"))
                .col(timestamp_with_time_zone("updated_on"))
                .take(),
            Table::create()
                .table("legal_addresses")
                .col(big_integer("user_id").primary_key())
                .col(string("first_name"))
                .col(string("last_name"))
                .col(string_len("country", 2))
                .col(string_null("state"))
                .foreign_key(
                    ForeignKey::create()
                        .from("legal_addresses", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
            Table::create()
                .table("sessions")
                .col(string("id_hash").primary_key())
                .col(big_integer("user_id"))
                .col(timestamp_with_time_zone("created_on"))
                .col(timestamp_with_time_zone("expires_on"))
                .foreign_key(
                    ForeignKey::create()
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
            Table::create()
                .table("email_tokens")
                .col(string("token_hash").primary_key())
                .col(big_integer("user_id"))
                .col(string("purpose"))
                .col(string_null("new_email"))
                .col(timestamp_with_time_zone("expires_on"))
                .col(timestamp_with_time_zone_null("used_on"))
                .foreign_key(
                    ForeignKey::create()
                        .from("email_tokens", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
            Table::create()
                .table("blocklist")
                .col(big_pk_auto("id"))
                .col(string_uniq("entry"))
                .col(timestamp_with_time_zone("created_on"))
                .take(),
        ];
        for mut table in tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_user")
                    .table("sessions")
                    .col("user_id")
                    .take(),
            )
            .await?;
        Ok(())
    }
}
