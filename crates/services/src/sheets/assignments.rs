//! Assignment spreadsheets (xPRO §6.1 post-processing, §6.2): each coupon request from the
//! sheet gets a spreadsheet listing its codes, where staff type the learner's email next
//! to a code. Registrar reads it when Drive says it changed (after a five-minute wait, so
//! a person can finish typing), or when staff ask, assigns the codes through
//! `crate::coupon_requests`, and shows each code's status (assigned, invalid, the
//! message's delivery, enrolled) with its date next to it.
//!
//! Columns: A Coupon Code, B Email (Assignee), C Status, D Status Date, E Enrollment URL,
//! F Enrolled Email. The header and the codes are protected; the status columns warn.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use integrations::google::{GoogleError, Protection};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::Store;
use store::commerce::coupon_requests::{self as requests, CouponRequest};

use super::{Sheets, google_error, keep_watched, sheet_date};
use crate::Context;
use crate::commerce::bulk::redeem_url;
use crate::coupon_requests::{AssignError, Assigned, assign_in};

/// The worksheet a spreadsheet Drive creates has.
const WORKSHEET: &str = "Sheet1";

const HEADER: [&str; 6] = [
    "Coupon Code",
    "Email (Assignee)",
    "Status",
    "Status Date",
    "Enrollment URL",
    "Enrolled Email",
];

/// The spreadsheet's title (xPRO's).
pub fn title(request: &CouponRequest) -> String {
    format!(
        "Enrollment Codes - {} - {} - {}",
        request.company, request.purchase_order, request.product_text_id
    )
}

/// The query Drive's notifications about an assignment spreadsheet carry.
pub fn watch_query(file: &str) -> String {
    format!("sheet=enrollassign&fileId={file}")
}

/// Creates a request's assignment spreadsheet in the output folder: the codes and their
/// enrollment links under the header, the header and codes protected, shared with the
/// admins (an address Google refuses is logged and skipped), watched. The spreadsheet's id
/// is kept as soon as Drive gives it and the filling once done, so a retry fills the same
/// file once and never touches what staff typed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateSheet {
    pub request_id: i64,
}

async fn request(db: &impl ConnectionTrait, id: i64) -> Result<CouponRequest, JobError> {
    requests::find(db, id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("coupon request {id} is gone")))
}

impl Job for CreateSheet {
    const KIND: &'static str = "sheets.create_assignment_sheet";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("sheets:assign-create:{}", self.request_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Err(JobError::Permanent(
                "Google Sheets is not configured".into(),
            ));
        };
        let db = ctx.store.db();
        let request = request(db, self.request_id).await?;
        if request.sheet_ready_on.is_some() {
            return Ok(());
        }
        let google = &sheets.google;
        let file = match &request.sheet_id {
            Some(file) => file.clone(),
            None => {
                let file = google
                    .create_spreadsheet(&title(&request), sheets.output_folder.as_deref())
                    .await
                    .map_err(google_error)?;
                requests::set_sheet(db, request.id, &file).await?;
                file
            }
        };
        let codes = requests::codes(db, &request).await?;
        if request.sheet_filled_on.is_none() {
            // Only the header and the columns Registrar owns: a retry never blanks what
            // staff typed.
            let header = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
            let last = codes.len() + 1;
            let column = |cells: Vec<String>| cells.into_iter().map(|c| vec![c]).collect();
            let links = codes
                .iter()
                .map(|c| redeem_url(&ctx.site_url, request.product_id, &c.code))
                .collect();
            google
                .write(
                    &file,
                    &[
                        (format!("{WORKSHEET}!A1:F1"), header),
                        (
                            format!("{WORKSHEET}!A2:A{last}"),
                            column(codes.iter().map(|c| c.code.clone()).collect()),
                        ),
                        (format!("{WORKSHEET}!E2:E{last}"), column(links)),
                    ],
                )
                .await
                .map_err(google_error)?;
            let protect = |description: &str, rows, columns, warning_only| Protection {
                description: description.to_string(),
                rows,
                columns,
                warning_only,
            };
            google
                .protect(
                    &file,
                    &[
                        protect("Header", (Some(0), Some(1)), (None, None), false),
                        protect("Coupon codes", (None, None), (Some(0), Some(1)), false),
                        protect("Statuses", (Some(1), None), (Some(2), Some(4)), true),
                    ],
                )
                .await
                .map_err(google_error)?;
            requests::sheet_filled(db, request.id, Utc::now()).await?;
        }
        for email in &sheets.admin_emails {
            match google.share(&file, email).await {
                Err(e) if !e.is_transient() => {
                    // An address Google will not share with: staff can still share by hand.
                    tracing::warn!(request = request.id, %email, error = %e, "assignment spreadsheet not shared");
                }
                other => other.map_err(google_error)?,
            }
        }
        let now = Utc::now();
        keep_watched(ctx, sheets, &file, &watch_query(&file), now).await?;
        requests::sheet_ready(db, request.id, now).await?;
        tracing::info!(request = request.id, %file, codes = codes.len(), "assignment spreadsheet created");
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// The sheet cannot be acted on as it is; someone has to change it.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Google(#[from] GoogleError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<SheetError> for JobError {
    fn from(e: SheetError) -> Self {
        match e {
            SheetError::Invalid(why) => JobError::Permanent(why),
            SheetError::Google(e) => google_error(e),
            SheetError::Db(e) => e.into(),
        }
    }
}

/// The sheet's rows below the header.
async fn rows(sheets: &Sheets, file: &str) -> Result<Vec<Vec<String>>, GoogleError> {
    sheets
        .google
        .values(file, &format!("{WORKSHEET}!A2:F"))
        .await
}

/// Reads a request's assignment spreadsheet and makes its assignments what the sheet
/// says (xPRO `process_assignment_spreadsheet`), then shows every status on it. Reading an
/// unchanged sheet changes nothing, so there is no "unchanged" refusal to force past.
pub async fn process_sheet(
    store: &Store,
    site_url: &str,
    sheets: &Sheets,
    request_id: i64,
) -> Result<Assigned, SheetError> {
    let request = requests::find(store.db(), request_id)
        .await?
        .ok_or_else(|| SheetError::Invalid(format!("coupon request {request_id} is gone")))?;
    let Some(file) = request.sheet_id.clone() else {
        return Err(SheetError::Invalid(
            "This request has no assignment spreadsheet.".into(),
        ));
    };
    let rows = rows(sheets, &file).await?;
    let cell = |row: &[String], i: usize| row.get(i).map_or("", |c| c.trim()).to_string();
    let mut wanted = HashMap::new();
    let mut seen = HashSet::new();
    for (index, row) in rows.iter().enumerate() {
        let (code, email) = (cell(row, 0), cell(row, 1));
        if code.is_empty() {
            if !email.is_empty() {
                return Err(SheetError::Invalid(format!(
                    "No data found: row {} has an email but no coupon code",
                    index + 2
                )));
            }
            continue;
        }
        if !seen.insert(code.clone()) {
            return Err(SheetError::Invalid(
                "All coupon codes in the Sheet must be unique".into(),
            ));
        }
        if !email.is_empty() {
            wanted.insert(code, email);
        }
    }
    let view = store::catalog::read::load(store.db()).await?;
    let txn = store.write().await?;
    let assigned = match assign_in(&txn, &view, site_url, &request, &wanted, Utc::now()).await {
        Ok(assigned) => assigned,
        Err(AssignError::UnknownCode(code)) => {
            return Err(SheetError::Invalid(format!(
                "Mismatch: {code} is not a code of this request"
            )));
        }
        Err(AssignError::Db(e)) => return Err(e.into()),
    };
    txn.commit().await?;
    show(store, sheets, &request, &file, &rows).await?;
    Ok(assigned)
}

/// Writes each assignment's status the sheet does not show yet (C status, D date, F the
/// email that enrolled when it is not the one assigned), clears the status of a code no
/// longer assigned, and marks whether the request's messages all arrived (Drive app
/// properties `assignmentsCompleted`, as xPRO; `FALSE` again when it reopens).
async fn show(
    store: &Store,
    sheets: &Sheets,
    request: &CouponRequest,
    file: &str,
    rows: &[Vec<String>],
) -> Result<(), SheetError> {
    let db = store.db();
    let row_of: HashMap<&str, (usize, &Vec<String>)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.first()?.trim(), (i + 2, r))))
        .collect();
    let mut ranges: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut shown = Vec::new();
    for code in requests::codes(db, request).await? {
        let Some((number, cells)) = row_of.get(code.code.as_str()) else {
            continue;
        };
        match &code.assignment {
            Some(a) if !a.shown => {
                ranges.push((
                    format!("{WORKSHEET}!C{number}:D{number}"),
                    vec![vec![a.status.clone(), sheet_date(a.status_at)]],
                ));
                if let Some(by) = a.redeemed_by.as_ref().filter(|by| **by != a.email) {
                    ranges.push((format!("{WORKSHEET}!F{number}"), vec![vec![by.clone()]]));
                }
                shown.push((code.discount_id, a.status.clone(), a.status_at));
            }
            None if cells.get(2).is_some_and(|c| !c.trim().is_empty()) => {
                ranges.push((
                    format!("{WORKSHEET}!C{number}:D{number}"),
                    vec![vec![String::new(), String::new()]],
                ));
            }
            _ => {}
        }
    }
    sheets.google.write(file, &ranges).await?;
    requests::shown(db, &shown).await?;
    // As the request stands now (assigning just now reopens it).
    let done = requests::find(db, request.id)
        .await?
        .and_then(|r| r.delivery_completed_on);
    sheets
        .google
        .set_app_properties(
            file,
            &[
                (
                    "assignmentsCompleted",
                    if done.is_some() { "TRUE" } else { "FALSE" }.to_string(),
                ),
                (
                    "assignmentsCompletedDate",
                    done.map(|d| d.to_rfc3339()).unwrap_or_default(),
                ),
            ],
        )
        .await?;
    Ok(())
}

/// Reads an assignment spreadsheet after it changed (debounced), or when staff ask.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessSheet {
    pub request_id: i64,
}

impl Job for ProcessSheet {
    const KIND: &'static str = "sheets.process_assignment_sheet";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("sheets:assign:{}", self.request_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let assigned = process_sheet(&ctx.store, &ctx.site_url, sheets, self.request_id).await?;
        tracing::info!(
            request = self.request_id,
            ?assigned,
            "assignment spreadsheet processed"
        );
        Ok(())
    }
}

/// Shows changed statuses (delivery, enrollment) on a request's assignment spreadsheet.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShowStatuses {
    pub request_id: i64,
}

impl Job for ShowStatuses {
    const KIND: &'static str = "sheets.show_assignment_statuses";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("sheets:assign-show:{}", self.request_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let request = request(ctx.store.db(), self.request_id).await?;
        let Some(file) = request.sheet_id.clone() else {
            return Ok(());
        };
        let rows = rows(sheets, &file).await.map_err(google_error)?;
        show(&ctx.store, sheets, &request, &file, &rows).await?;
        Ok(())
    }
}
