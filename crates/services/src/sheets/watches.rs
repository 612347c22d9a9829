//! Drive file watches: a channel kept open on each watched sheet, renewed before it
//! expires.

use chrono::{DateTime, Duration, Utc};
use jobs::{Job, JobError};
use serde::{Deserialize, Serialize};

use super::{Sheets, assignments, google_error};
use crate::Context;

/// Keeps a Drive channel open on a file, for notifications posted with `query` (xPRO
/// `create_or_renew_sheet_file_watch`): a channel expiring within three hours, or none,
/// is replaced by a new one for a day.
pub(super) async fn keep_watched(
    ctx: &Context,
    sheets: &Sheets,
    file: &str,
    query: &str,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    let Some(webhook) = &sheets.webhook else {
        return Ok(());
    };
    let db = ctx.store.db();
    let current = store::sheets::watch(db, file).await?;
    if current.is_some_and(|w| w.expires_at > now + Duration::minutes(180)) {
        return Ok(());
    }
    let expires = now + Duration::minutes(1440);
    let name: String = query
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let channel_id = format!("registrar-{name}-{}", now.format("%Y%m%d-%H%M%S"));
    let address = format!("{}?{query}", webhook.address);
    let channel = sheets
        .google
        .watch(
            file,
            &channel_id,
            &address,
            &webhook.token,
            expires.timestamp_millis(),
        )
        .await
        .map_err(google_error)?;
    store::sheets::save_watch(
        db,
        &store::sheets::Watch {
            file_id: file.to_string(),
            channel_id: channel.id,
            resource_id: channel.resource_id,
            expires_at: expires,
        },
    )
    .await?;
    tracing::info!(%file, %query, "Drive watch renewed");
    Ok(())
}

/// Keeps a Drive channel open on each watched sheet (xPRO `renew-file-watches`): the
/// enrollment-change and coupon request spreadsheets, and each assignment spreadsheet
/// still in use (assigned, or created, in the last 30 days, delivery not complete).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RenewFileWatches {}

impl Job for RenewFileWatches {
    const KIND: &'static str = "sheets.renew_file_watches";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let now = Utc::now();
        let mut watched: Vec<(String, String)> = Vec::new();
        if let Some(file) = sheets.enrollment_changes() {
            watched.push((file.to_string(), "sheet=enrollchange".into()));
        }
        if let Some(sheet) = &sheets.coupon_requests {
            watched.push((sheet.spreadsheet.clone(), "sheet=enrollrequest".into()));
        }
        let assignment_sheets = store::commerce::coupon_requests::watched_sheets(
            ctx.store.db(),
            now - Duration::days(30),
        )
        .await?;
        watched.extend(assignment_sheets.into_iter().filter_map(|r| {
            let file = r.sheet_id?;
            let query = assignments::watch_query(&file);
            Some((file, query))
        }));
        // Each file on its own: one Drive refuses does not leave the others unwatched.
        let mut first_failure = None;
        for (file, query) in watched {
            if let Err(e) = keep_watched(ctx, sheets, &file, &query, now).await {
                tracing::warn!(%file, error = %e, "Drive watch not renewed");
                first_failure.get_or_insert(e);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}
