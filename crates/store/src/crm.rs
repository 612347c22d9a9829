//! What was sent to HubSpot and what waits to be: objects by kind (`contact`, `product`,
//! `deal`) and local key, with their HubSpot id and the digest of the
//! properties last sent; pending marks for contacts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, all_in, insert_rows, run};

/// A sent object: its HubSpot id and the digest of what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub hubspot_id: String,
    pub digest: String,
}

/// What was sent of these objects of a kind, by local key.
pub async fn sent(
    db: &impl ConnectionTrait,
    kind: &str,
    keys: &[String],
) -> Result<HashMap<String, Sent>, DbErr> {
    Ok(all_in(
        db,
        "SELECT local_key, hubspot_id, digest FROM crm_objects WHERE kind = $1 AND local_key IN ({ids})",
        vec![kind.into()],
        keys,
        |r| {
            Ok((
                r.try_get::<String>("", "local_key")?,
                Sent {
                    hubspot_id: r.try_get("", "hubspot_id")?,
                    digest: r.try_get("", "digest")?,
                },
            ))
        },
    )
    .await?
    .into_iter()
    .collect())
}

/// Records objects sent: (local key, HubSpot id, digest).
pub async fn record(
    db: &impl ConnectionTrait,
    kind: &str,
    objects: &[(String, String, String)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = objects
        .iter()
        .map(|(key, id, digest)| {
            vec![
                kind.into(),
                key.clone().into(),
                id.clone().into(),
                digest.clone().into(),
                now.into(),
            ]
        })
        .collect();
    insert_rows(
        db,
        "INSERT INTO crm_objects (kind, local_key, hubspot_id, digest, synced_at)",
        "ON CONFLICT (kind, local_key) DO UPDATE SET hubspot_id = excluded.hubspot_id, digest = excluded.digest, synced_at = excluded.synced_at",
        rows,
        |_| Ok(()),
    )
    .await
    .map(|_| ())
}

/// Forgets an object archived in HubSpot.
pub async fn forget(db: &impl ConnectionTrait, kind: &str, key: &str) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM crm_objects WHERE kind = $1 AND local_key = $2",
        vec![kind.into(), key.into()],
    )
    .await
    .map(|_| ())
}

/// Marks objects to be sent (again).
pub async fn mark(
    db: &impl ConnectionTrait,
    kind: &str,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = keys
        .iter()
        .map(|key| vec![kind.into(), key.clone().into(), now.into()])
        .collect();
    insert_rows(
        db,
        "INSERT INTO crm_pending (kind, local_key, marked_at)",
        "ON CONFLICT (kind, local_key) DO UPDATE SET marked_at = excluded.marked_at",
        rows,
        |_| Ok(()),
    )
    .await
    .map(|_| ())
}

/// Up to `limit` marked objects of a kind, oldest mark first: (local key, mark).
pub async fn pending(
    db: &impl ConnectionTrait,
    kind: &str,
    limit: u64,
) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    all_as(
        db,
        &format!(
            "SELECT local_key, marked_at FROM crm_pending WHERE kind = $1 ORDER BY marked_at, local_key LIMIT {limit}"
        ),
        vec![kind.into()],
        |r| Ok((r.try_get("", "local_key")?, r.try_get("", "marked_at")?)),
    )
    .await
}

/// Clears marks that were sent, unless marked again since they were read.
pub async fn clear(
    db: &impl ConnectionTrait,
    kind: &str,
    marks: &[(String, DateTime<Utc>)],
) -> Result<(), DbErr> {
    for (key, marked_at) in marks {
        run(
            db,
            "DELETE FROM crm_pending WHERE kind = $1 AND local_key = $2 AND marked_at = $3",
            vec![kind.into(), key.clone().into(), (*marked_at).into()],
        )
        .await?;
    }
    Ok(())
}

/// How many objects of a kind wait to be sent.
pub async fn waiting(db: &impl ConnectionTrait, kind: &str) -> Result<i64, DbErr> {
    crate::sql::one(
        db,
        "SELECT COUNT(*) AS n FROM crm_pending WHERE kind = $1",
        vec![kind.into()],
    )
    .await?
    .map_or(Ok(0), |r| r.try_get("", "n"))
}
