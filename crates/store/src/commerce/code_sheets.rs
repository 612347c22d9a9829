//! Enrollment-code sheets: which batch of codes is shown in which spreadsheet tab, each
//! code's use, and the row each code was last written to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSheet {
    pub batch: String,
    pub spreadsheet: String,
    pub tab: String,
    pub written_to: Option<String>,
    pub updated_on: Option<DateTime<Utc>>,
}

impl CodeSheet {
    /// The target as `written_to` records it.
    pub fn target(&self) -> String {
        format!("{}|{}", self.spreadsheet, self.tab)
    }
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<CodeSheet>, DbErr> {
    all_as(
        db,
        "SELECT batch, spreadsheet, tab, written_to, updated_on FROM code_sheets ORDER BY batch",
        vec![],
        |r| {
            Ok(CodeSheet {
                batch: r.try_get("", "batch")?,
                spreadsheet: r.try_get("", "spreadsheet")?,
                tab: r.try_get("", "tab")?,
                written_to: r.try_get("", "written_to")?,
                updated_on: r.try_get("", "updated_on")?,
            })
        },
    )
    .await
}

/// Shows a batch in a spreadsheet tab (replacing where it was shown).
pub async fn set(
    db: &impl ConnectionTrait,
    batch: &str,
    spreadsheet: &str,
    tab: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO code_sheets (batch, spreadsheet, tab, created_on) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (batch) DO UPDATE SET spreadsheet = excluded.spreadsheet, tab = excluded.tab",
        vec![batch.into(), spreadsheet.into(), tab.into(), now.into()],
    )
    .await
    .map(|_| ())
}

pub async fn remove(db: &impl ConnectionTrait, batch: &str) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM code_sheet_rows WHERE batch = $1",
        vec![batch.into()],
    )
    .await?;
    run(
        db,
        "DELETE FROM code_sheets WHERE batch = $1",
        vec![batch.into()],
    )
    .await
    .map(|_| ())
}

/// Whether the order's code belongs to a batch shown in a sheet.
pub async fn shows_order(db: &impl ConnectionTrait, order_id: i64) -> Result<bool, DbErr> {
    Ok(!all_as(
        db,
        "SELECT s.batch FROM discount_redemptions r JOIN discounts d ON d.id = r.discount_id \
         JOIN code_sheets s ON s.batch = d.batch WHERE r.order_id = $1",
        vec![order_id.into()],
        |r| r.try_get::<String>("", "batch"),
    )
    .await?
    .is_empty())
}

/// A code of the batch and its use: redemptions count once their order is fulfilled or
/// refunded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUse {
    pub discount_id: i64,
    pub code: String,
    pub redemption: String,
    pub expiration: Option<DateTime<Utc>>,
    pub uses: i64,
    pub first_use: Option<DateTime<Utc>>,
    pub last_use: Option<DateTime<Utc>>,
    pub last_by: Option<String>,
}

/// The batch's codes, most used first, then oldest first.
pub async fn uses(db: &impl ConnectionTrait, batch: &str) -> Result<Vec<CodeUse>, DbErr> {
    const USED: &str = "FROM discount_redemptions r JOIN orders o ON o.id = r.order_id \
         WHERE r.discount_id = d.id AND o.state IN ('fulfilled', 'refunded')";
    all_as(
        db,
        &format!(
            "SELECT d.id, d.code, d.redemption, d.expiration_date, \
             (SELECT COUNT(*) {USED}) AS uses, (SELECT MIN(r.created_on) {USED}) AS first_use, \
             (SELECT MAX(r.created_on) {USED}) AS last_use, \
             (SELECT u.email FROM discount_redemptions r JOIN orders o ON o.id = r.order_id JOIN users u ON u.id = r.user_id \
              WHERE r.discount_id = d.id AND o.state IN ('fulfilled', 'refunded') ORDER BY r.created_on DESC, r.id DESC LIMIT 1) AS last_by \
             FROM discounts d WHERE d.batch = $1 ORDER BY uses DESC, d.id"
        ),
        vec![batch.into()],
        |r| {
            Ok(CodeUse {
                discount_id: r.try_get("", "id")?,
                code: r.try_get::<Option<String>>("", "code")?.unwrap_or_default(),
                redemption: r.try_get("", "redemption")?,
                expiration: r.try_get("", "expiration_date")?,
                uses: r.try_get("", "uses")?,
                first_use: r.try_get("", "first_use")?,
                last_use: r.try_get("", "last_use")?,
                last_by: r.try_get("", "last_by")?,
            })
        },
    )
    .await
}

/// The row each code of the batch was last written to.
pub async fn rows(db: &impl ConnectionTrait, batch: &str) -> Result<HashMap<i64, i32>, DbErr> {
    Ok(all_as(
        db,
        "SELECT discount_id, row_number FROM code_sheet_rows WHERE batch = $1",
        vec![batch.into()],
        |r| Ok((r.try_get("", "discount_id")?, r.try_get("", "row_number")?)),
    )
    .await?
    .into_iter()
    .collect())
}

/// Records what was written: each code's row, the target when written whole, the time.
pub async fn written(
    db: &impl ConnectionTrait,
    sheet: &CodeSheet,
    rows: &[(i64, i32)],
    whole: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for (discount_id, row) in rows {
        run(
            db,
            "INSERT INTO code_sheet_rows (discount_id, batch, row_number) VALUES ($1, $2, $3) \
             ON CONFLICT (discount_id) DO UPDATE SET batch = excluded.batch, row_number = excluded.row_number",
            vec![(*discount_id).into(), sheet.batch.clone().into(), (*row).into()],
        )
        .await?;
    }
    run(
        db,
        "UPDATE code_sheets SET updated_on = $1, written_to = CASE WHEN $2 THEN $3 ELSE written_to END WHERE batch = $4",
        vec![
            now.into(),
            whole.into(),
            sheet.target().into(),
            sheet.batch.clone().into(),
        ],
    )
    .await
    .map(|_| ())
}
