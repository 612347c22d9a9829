//! The sheet processing every request worksheet shares: its layout (`Workflow`), its rows
//! read, each ready row acted on at most once per content, and every outcome written back
//! in one call.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jobs::JobError;
use sea_orm::DbErr;
use sha2::{Digest, Sha256};
use store::catalog::read::CatalogView;
use store::sheets::Handled;

use super::coupon_requests::request_row;
use super::enrollment_changes::{defer_row, refund_row};
use super::{Sheets, Worksheet, google_error, quoted, sheet_date};
use crate::Context;

/// The name written in the processor column.
const PROCESSOR: &str = "Registrar";

fn digest(cells: &[String]) -> String {
    format!("{:x}", Sha256::digest(cells.join("\u{1f}").as_bytes()))
}

/// A request worksheet: its layout (xPRO's columns) and what a ready row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Workflow {
    /// A response id, B date, C email, D Zendesk, E requester, F product, G order id,
    /// H order type, I finance email, J finance approved, K notes; L processor, M
    /// completed, N error; O skip.
    Refunds,
    /// A response id, B date, C email, D Zendesk, E requester, F from run, G to run;
    /// H processor, I completed, J error; K skip.
    Deferrals,
    /// A purchase order, B coupon name (the row's identity), C number of codes, D product
    /// text id, E company, F activation, G expiration, H requester; I processed date,
    /// J error; K skip.
    CouponRequests,
}

impl Workflow {
    fn kind(self) -> &'static str {
        match self {
            Workflow::Refunds => "refunds",
            Workflow::Deferrals => "deferrals",
            Workflow::CouponRequests => "coupon_requests",
        }
    }

    /// The column naming the row (a form response id, a coupon name).
    fn key(self) -> usize {
        match self {
            Workflow::Refunds | Workflow::Deferrals => 0,
            Workflow::CouponRequests => 1,
        }
    }

    /// The column Registrar writes its name in, where there is one; the completed date
    /// follows it.
    fn processor(self) -> Option<usize> {
        match self {
            Workflow::Refunds => Some(11),
            Workflow::Deferrals => Some(7),
            Workflow::CouponRequests => None,
        }
    }

    /// The completed-date column; the error and the skip flag follow.
    fn completed(self) -> usize {
        match self {
            Workflow::Refunds => 12,
            Workflow::Deferrals | Workflow::CouponRequests => 8,
        }
    }

    /// The first column Registrar writes: the cells before it are the request.
    fn written(self) -> usize {
        self.processor().unwrap_or(self.completed())
    }

    /// xPRO's readiness rules (beyond not completed nor skipped).
    fn ready(self, row: &Row) -> bool {
        let cell = |i: usize| row.cells[i].as_str();
        match self {
            Workflow::Refunds => {
                cell(7) == "Enrollment Code"
                    || (cell(7) == "Paid via Cybersource"
                        && !cell(8).is_empty()
                        && !cell(9).is_empty())
            }
            Workflow::Deferrals => {
                !cell(2).is_empty() && !cell(5).is_empty() && !cell(6).is_empty()
            }
            Workflow::CouponRequests => !cell(1).is_empty(),
        }
    }

    /// Acts on a ready row: Ok(what was done) or the error for the row.
    async fn act(
        self,
        ctx: &Context,
        sheets: &Sheets,
        view: &CatalogView,
        row: &Row,
        now: DateTime<Utc>,
    ) -> Result<Result<String, String>, DbErr> {
        match self {
            Workflow::Refunds => refund_row(ctx, sheets, view, row, now).await,
            Workflow::Deferrals => defer_row(ctx, view, row, now).await,
            Workflow::CouponRequests => request_row(ctx, view, row, now).await,
        }
    }
}

/// A request row: its sheet row number and cells (trimmed, padded to the layout's width).
#[derive(Debug, Clone)]
pub(super) struct Row {
    number: usize,
    pub(super) cells: Vec<String>,
}

impl Row {
    fn read(workflow: Workflow, number: usize, cells: Vec<String>) -> Self {
        let mut cells: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
        cells.resize(workflow.completed() + 3, String::new());
        Row { number, cells }
    }

    pub(super) fn key(&self, workflow: Workflow) -> &str {
        &self.cells[workflow.key()]
    }

    fn completed(&self, workflow: Workflow) -> bool {
        !self.cells[workflow.completed()].is_empty()
    }

    fn error(&self, workflow: Workflow) -> &str {
        &self.cells[workflow.completed() + 1]
    }

    fn skipped(&self, workflow: Workflow) -> bool {
        self.cells[workflow.completed() + 2].eq_ignore_ascii_case("true")
    }

    /// The digest of what the row asks (its input cells).
    fn input(&self, workflow: Workflow) -> String {
        digest(&self.cells[..workflow.written()])
    }
}

/// What to write on a row.
enum WriteBack {
    Done(DateTime<Utc>),
    Failed(String),
}

/// A column's letter (A–Z).
fn letter(index: usize) -> char {
    (b'A' + index as u8) as char
}

async fn process(
    ctx: &Context,
    sheets: &Sheets,
    sheet: &Worksheet,
    workflow: Workflow,
) -> Result<(), JobError> {
    let db = ctx.store.db();
    let kind = workflow.kind();
    let last = letter(workflow.completed() + 2);
    let range = format!("{}!A{}:{last}", quoted(&sheet.title), sheet.first_row);
    let rows = sheets
        .google
        .values(&sheet.spreadsheet, &range)
        .await
        .map_err(google_error)?;
    let view = store::catalog::read::load(db).await?;
    let handled: HashMap<String, Handled> = store::sheets::handled(db, kind).await?;
    let mut writes: Vec<(String, usize, WriteBack)> = Vec::new();
    // Shown on their rows only: a duplicate has no record of its own.
    let mut duplicates: Vec<(usize, String)> = Vec::new();
    let mut seen = HashSet::new();
    for (index, cells) in rows.into_iter().enumerate() {
        let row = Row::read(workflow, sheet.first_row + index, cells);
        if row.skipped(workflow) || row.key(workflow).is_empty() {
            continue;
        }
        let key = row.key(workflow).to_string();
        if !seen.insert(key.clone()) {
            // xPRO's coupon names are unique in the sheet; a form's response ids are.
            let message = format!("Error: Coupon name '{key}' already exists in the sheet");
            if workflow == Workflow::CouponRequests && row.error(workflow) != message {
                duplicates.push((row.number, message));
            }
            continue;
        }
        let input = row.input(workflow);
        match handled.get(&key) {
            // Done before: only make sure the sheet shows it (xPRO's OUT_OF_SYNC).
            Some(h) if h.outcome == "done" => {
                if !row.completed(workflow) {
                    writes.push((key, row.number, WriteBack::Done(h.processed_at)));
                }
                continue;
            }
            // Failed with this very input: its error stands until someone changes the row.
            Some(h) if h.digest == input => {
                if row.error(workflow).is_empty() || !h.written_back {
                    writes.push((key, row.number, WriteBack::Failed(h.message.clone())));
                }
                continue;
            }
            _ => {}
        }
        if row.completed(workflow) || !workflow.ready(&row) {
            continue;
        }
        let now = Utc::now();
        let outcome = workflow.act(ctx, sheets, &view, &row, now).await?;
        let (state, message, write) = match outcome {
            Ok(message) => ("done", message, WriteBack::Done(now)),
            Err(error) => ("failed", error.clone(), WriteBack::Failed(error)),
        };
        store::sheets::record(db, kind, &key, &input, state, &message, now).await?;
        tracing::info!(kind, row = row.number, response = %key, state, %message, "request row handled");
        writes.push((key, row.number, write));
    }
    // One call writes every row's outcome: processor (where there is one), completed
    // date, error.
    let (first, error) = (letter(workflow.written()), letter(workflow.completed() + 1));
    let title = quoted(&sheet.title);
    let mut ranges: Vec<(String, Vec<Vec<String>>)> = writes
        .iter()
        .map(|(_, number, write)| match write {
            WriteBack::Done(at) => {
                let mut cells = vec![sheet_date(*at), String::new()];
                if workflow.processor().is_some() {
                    cells.insert(0, PROCESSOR.to_string());
                }
                (
                    format!("{title}!{first}{number}:{error}{number}"),
                    vec![cells],
                )
            }
            WriteBack::Failed(message) => (
                format!("{title}!{error}{number}"),
                vec![vec![format!("Error: {message}")]],
            ),
        })
        .collect();
    ranges.extend(
        duplicates
            .into_iter()
            .map(|(number, message)| (format!("{title}!{error}{number}"), vec![vec![message]])),
    );
    sheets
        .google
        .write(&sheet.spreadsheet, &ranges)
        .await
        .map_err(google_error)?;
    let keys: Vec<String> = writes.into_iter().map(|(key, _, _)| key).collect();
    Ok(store::sheets::written_back(db, kind, &keys).await?)
}

/// Runs workflows on their worksheets, each on its own: one that cannot be read does not
/// hold back the others.
pub(super) async fn process_each(
    ctx: &Context,
    sheets: &Sheets,
    worksheets: &[(Option<&Worksheet>, Workflow)],
) -> Result<(), JobError> {
    let mut first_failure = None;
    for &(sheet, workflow) in worksheets {
        if let Some(sheet) = sheet
            && let Err(e) = process(ctx, sheets, sheet, workflow).await
        {
            tracing::warn!(kind = workflow.kind(), error = %e, "request sheet not processed");
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), Err)
}
