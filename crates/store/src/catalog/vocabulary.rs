//! Catalog vocabularies read and set outside a catalog import: which platforms have their
//! vendor catalog synced (xPRO `Platform.enable_sync`), and the topic names that exist.

use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, run};

/// Every platform: (name, whether its vendor catalog is synced), by name.
pub async fn platforms(db: &impl ConnectionTrait) -> Result<Vec<(String, bool)>, DbErr> {
    all_as(
        db,
        "SELECT name, enable_sync FROM platforms ORDER BY name",
        vec![],
        |r| Ok((r.try_get("", "name")?, r.try_get("", "enable_sync")?)),
    )
    .await
}

/// Turns the vendor sync of a platform on or off, creating the platform if need be.
pub async fn set_platform_sync(
    db: &impl ConnectionTrait,
    name: &str,
    enabled: bool,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO platforms (name, enable_sync) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET enable_sync = excluded.enable_sync",
        vec![name.into(), enabled.into()],
    )
    .await
    .map(|_| ())
}

pub async fn topic_names(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    all_as(db, "SELECT name FROM topics ORDER BY name", vec![], |r| {
        r.try_get("", "name")
    })
    .await
}
