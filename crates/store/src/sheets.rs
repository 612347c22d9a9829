//! Request-sheet rows acted on, and the Drive channels watching the sheets.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, one, run};

/// What Registrar did with a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub digest: String,
    /// `done` or `failed`.
    pub outcome: String,
    pub message: String,
    pub written_back: bool,
    pub processed_at: DateTime<Utc>,
}

/// The rows of a sheet handled so far, by row key.
pub async fn handled(
    db: &impl ConnectionTrait,
    sheet: &str,
) -> Result<HashMap<String, Handled>, DbErr> {
    Ok(all_as(
        db,
        "SELECT row_key, digest, outcome, message, written_back, processed_at FROM sheet_rows WHERE sheet = $1",
        vec![sheet.into()],
        |r| {
            Ok((
                r.try_get::<String>("", "row_key")?,
                Handled {
                    digest: r.try_get("", "digest")?,
                    outcome: r.try_get("", "outcome")?,
                    message: r.try_get("", "message")?,
                    written_back: r.try_get("", "written_back")?,
                    processed_at: r.try_get("", "processed_at")?,
                },
            ))
        },
    )
    .await?
    .into_iter()
    .collect())
}

/// Records what was done with a row (its input as `digest`), not yet shown on the sheet.
pub async fn record(
    db: &impl ConnectionTrait,
    sheet: &str,
    row_key: &str,
    digest: &str,
    outcome: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO sheet_rows (sheet, row_key, digest, outcome, message, written_back, processed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (sheet, row_key) DO UPDATE SET digest = excluded.digest, outcome = excluded.outcome, message = excluded.message, \
         written_back = excluded.written_back, processed_at = excluded.processed_at",
        vec![sheet.into(), row_key.into(), digest.into(), outcome.into(), message.into(), false.into(), now.into()],
    )
    .await
    .map(|_| ())
}

/// Notes that the sheet shows these rows' outcomes.
pub async fn written_back(
    db: &impl ConnectionTrait,
    sheet: &str,
    row_keys: &[String],
) -> Result<(), DbErr> {
    for key in row_keys {
        run(
            db,
            "UPDATE sheet_rows SET written_back = $1 WHERE sheet = $2 AND row_key = $3",
            vec![true.into(), sheet.into(), key.clone().into()],
        )
        .await?;
    }
    Ok(())
}

/// A Drive channel watching a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub file_id: String,
    pub channel_id: String,
    pub resource_id: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn watch(db: &impl ConnectionTrait, file_id: &str) -> Result<Option<Watch>, DbErr> {
    one(
        db,
        "SELECT file_id, channel_id, resource_id, expires_at FROM drive_watches WHERE file_id = $1",
        vec![file_id.into()],
    )
    .await?
    .map(|r| {
        Ok(Watch {
            file_id: r.try_get("", "file_id")?,
            channel_id: r.try_get("", "channel_id")?,
            resource_id: r.try_get("", "resource_id")?,
            expires_at: r.try_get("", "expires_at")?,
        })
    })
    .transpose()
}

pub async fn save_watch(db: &impl ConnectionTrait, watch: &Watch) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO drive_watches (file_id, channel_id, resource_id, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (file_id) DO UPDATE SET channel_id = excluded.channel_id, resource_id = excluded.resource_id, expires_at = excluded.expires_at",
        vec![
            watch.file_id.clone().into(),
            watch.channel_id.clone().into(),
            watch.resource_id.clone().into(),
            watch.expires_at.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// The file a channel watches, if it is a current channel; the notification is recorded.
pub async fn notified(
    db: &impl ConnectionTrait,
    channel_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let file = one(
        db,
        "SELECT file_id FROM drive_watches WHERE channel_id = $1",
        vec![channel_id.into()],
    )
    .await?
    .map(|r| r.try_get::<String>("", "file_id"))
    .transpose()?;
    if file.is_some() {
        run(
            db,
            "UPDATE drive_watches SET last_notified_at = $1 WHERE channel_id = $2",
            vec![now.into(), channel_id.into()],
        )
        .await?;
    }
    Ok(file)
}
