//! Enrollment-code sheets (MITx Online §9.3 `ContractEnrollmentCodesSheetHandler`): a batch
//! of codes shown in a spreadsheet tab for the people who hand them out, each code's row
//! kept current: `Enrollment Code | Use Type | Total Redemptions | Invalidated On |
//! Redeemed By | Redeemed On`, most used first. The first write to a tab (or after the
//! target changed) writes every code; later updates find each code's row by searching
//! column A, rewrite only rows that changed, and append codes the tab lacks after its last
//! row, so a tab staff have sorted or annotated keeps its order.
//!
//! MITx Online shows a B2B contract's codes; Registrar has no contracts yet, so any batch
//! of codes can be shown (a contract's codes will be its batch). Uses are orders fulfilled
//! or refunded with the code, where MITx Online counts contract attachments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::commerce::code_sheets::{self, CodeSheet, CodeUse};

use super::{Sheets, google_error, quoted};
use crate::Context;

const HEADER: [&str; 6] = [
    "Enrollment Code",
    "Use Type",
    "Total Redemptions",
    "Invalidated On",
    "Redeemed By",
    "Redeemed On",
];

fn date(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%m/%d/%Y").to_string())
        .unwrap_or_default()
}

/// A code's row. A code stops working at its expiration, or, unless it is unlimited, once
/// it is used (MITx Online's "Invalidated On").
fn cells(code: &CodeUse) -> Vec<String> {
    let invalidated = code
        .expiration
        .or(code.first_use.filter(|_| code.redemption != "unlimited"));
    vec![
        code.code.clone(),
        code.redemption.clone(),
        code.uses.to_string(),
        date(invalidated),
        code.last_by.clone().unwrap_or_default(),
        date(code.last_use),
    ]
}

/// Writes one batch's tab; (discount id, row) of every code.
async fn update(
    sheets: &Sheets,
    sheet: &CodeSheet,
    codes: &[CodeUse],
) -> Result<Vec<(i64, i32)>, JobError> {
    let tab = quoted(&sheet.tab);
    let whole = sheet.written_to.as_deref() != Some(sheet.target().as_str());
    let mut ranges: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut rows = Vec::with_capacity(codes.len());
    if whole {
        let mut values = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        values.extend(codes.iter().map(cells));
        ranges.push((format!("{tab}!A1:F{}", values.len()), values));
        rows.extend(codes.iter().zip(2..).map(|(c, row)| (c.discount_id, row)));
    } else {
        let shown = sheets
            .google
            .values(&sheet.spreadsheet, &format!("{tab}!A:F"))
            .await
            .map_err(google_error)?;
        let found: HashMap<&str, (i32, &Vec<String>)> = shown
            .iter()
            .zip(1..)
            .filter_map(|(cells, row)| Some((cells.first()?.trim(), (row, cells))))
            .filter(|(code, _)| !code.is_empty())
            .collect();
        let mut next = shown
            .iter()
            .rposition(|cells| cells.iter().any(|c| !c.trim().is_empty()))
            .map_or(1, |last| last + 2) as i32;
        for code in codes {
            let wanted = cells(code);
            let row = match found.get(code.code.as_str()) {
                Some((row, current)) => {
                    let mut current: Vec<String> =
                        current.iter().map(|c| c.trim().to_string()).collect();
                    current.resize(wanted.len(), String::new());
                    if current == wanted {
                        rows.push((code.discount_id, *row));
                        continue;
                    }
                    *row
                }
                None => {
                    next += 1;
                    next - 1
                }
            };
            ranges.push((format!("{tab}!A{row}:F{row}"), vec![wanted]));
            rows.push((code.discount_id, row));
        }
    }
    // As text, so an update reads back exactly what it wrote and rewrites only changes.
    sheets
        .google
        .write_text(&sheet.spreadsheet, &ranges)
        .await
        .map_err(google_error)?;
    Ok(rows)
}

/// Brings every enrollment-code sheet up to date (MITx Online's hourly fan-out; also after
/// a target is set and after an order uses a shown code).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UpdateCodeSheets {}

impl Job for UpdateCodeSheets {
    const KIND: &'static str = "b2b.update_enrollment_code_sheets";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("sheets:code-sheets".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        // Each sheet on its own: one Google refuses does not hold back the others.
        let mut first_failure = None;
        for sheet in code_sheets::list(db).await? {
            let codes = code_sheets::uses(db, &sheet.batch).await?;
            match update(sheets, &sheet, &codes).await {
                Ok(rows) => {
                    let whole = sheet.written_to.as_deref() != Some(sheet.target().as_str());
                    code_sheets::written(db, &sheet, &rows, whole, Utc::now()).await?;
                }
                Err(e) => {
                    tracing::warn!(batch = %sheet.batch, error = %e, "enrollment-code sheet not updated");
                    first_failure.get_or_insert(e);
                }
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// After an order is fulfilled: if its code is shown in a sheet, the sheets follow.
pub async fn order_fulfilled(db: &impl ConnectionTrait, order_id: i64) -> Result<(), DbErr> {
    if code_sheets::shows_order(db, order_id).await? {
        UpdateCodeSheets {}.enqueue(db).await?;
    }
    Ok(())
}

/// Shows a batch's codes in a spreadsheet tab (replacing where it was shown), and has the
/// sheets brought up to date soon.
pub async fn show(
    store: &store::Store,
    batch: &str,
    spreadsheet: &str,
    tab: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = store.write().await?;
    code_sheets::set(&txn, batch, spreadsheet, tab, now).await?;
    UpdateCodeSheets {}.enqueue(&txn).await?;
    txn.commit().await
}

/// Stops showing a batch (the spreadsheet keeps what it shows).
pub async fn stop_showing(store: &store::Store, batch: &str) -> Result<(), DbErr> {
    code_sheets::remove(store.db(), batch).await
}
