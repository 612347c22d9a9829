//! Google Sheets request workflows (xPRO §6, MITx Online §9): staff fill rows in a shared
//! spreadsheet; Registrar reads the sheet through a service account when Drive says it
//! changed (push, debounced) and on a schedule (polling, the fallback), acts on each ready
//! row through the same services the staff area uses, and writes the outcome back on that
//! row.
//!
//! The reference marks this linkage fragile; here each row is acted on at most once per
//! content: a row is known by its form response id and a digest of its input cells, and its
//! outcome is recorded in the database before anything is written back. A row already done
//! is only written back (again, if the sheet lost it); a failed row is retried only when its
//! input changes; a failure is written on its own row and does not stop the others; the
//! actions themselves are idempotent (an order refunded before is reported done), so a
//! restart between acting and recording repeats nothing.
//!
//! This build handles the enrollment-change sheet's refund and deferral worksheets.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::commerce::order::OrderState;
use integrations::google::{Google, GoogleError};
use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::catalog::read::CatalogView;
use store::sheets::Handled;

use crate::Context;
use crate::commerce::refunds::{self, Refund};
use crate::openedx::retry;

/// A worksheet of request rows.
#[derive(Debug, Clone)]
pub struct Worksheet {
    pub spreadsheet: String,
    pub title: String,
    /// The first data row (1-based): earlier rows are headers or legacy.
    pub first_row: usize,
}

/// The Google side of this deployment.
pub struct Sheets {
    pub google: Google,
    /// The enrollment-change spreadsheet's refund worksheet (xPRO `REFUND_REQUEST_WORKSHEET_ID`).
    pub refunds: Option<Worksheet>,
    /// Its deferral worksheet (xPRO `DEFERRAL_REQUEST_WORKSHEET_ID`).
    pub deferrals: Option<Worksheet>,
    /// Where Drive posts change notifications, and the token each must carry.
    pub webhook: Option<Webhook>,
    /// The processor's refund API (refunds of paid orders).
    pub refund_client: Option<std::sync::Arc<integrations::cybersource::refunds::Refunds>>,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub address: String,
    pub token: String,
}

/// The name written in the processor column.
const PROCESSOR: &str = "Registrar";

fn google_error(e: GoogleError) -> JobError {
    if e.is_transient() {
        JobError::Retry(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
}

/// A sheet date as the reference writes it (`%m/%d/%Y %H:%M:%S`, UTC).
fn sheet_date(at: DateTime<Utc>) -> String {
    at.format("%m/%d/%Y %H:%M:%S").to_string()
}

fn digest(cells: &[String]) -> String {
    format!("{:x}", Sha256::digest(cells.join("\u{1f}").as_bytes()))
}

/// A request worksheet of the enrollment-change spreadsheet: its layout (xPRO's columns)
/// and what a ready row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workflow {
    /// A response id, B date, C email, D Zendesk, E requester, F product, G order id,
    /// H order type, I finance email, J finance approved, K notes; L processor, M
    /// completed, N error; O skip.
    Refunds,
    /// A response id, B date, C email, D Zendesk, E requester, F from run, G to run;
    /// H processor, I completed, J error; K skip.
    Deferrals,
}

impl Workflow {
    fn kind(self) -> &'static str {
        match self {
            Workflow::Refunds => "refunds",
            Workflow::Deferrals => "deferrals",
        }
    }

    /// The column Registrar writes its name in; the completed date and the error follow,
    /// then the skip flag.
    fn processor(self) -> usize {
        match self {
            Workflow::Refunds => 11,
            Workflow::Deferrals => 7,
        }
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
        }
    }
}

/// A request row: its sheet row number and cells (trimmed, padded to the layout's width).
#[derive(Debug, Clone)]
struct Row {
    number: usize,
    cells: Vec<String>,
}

impl Row {
    fn read(workflow: Workflow, number: usize, cells: Vec<String>) -> Self {
        let mut cells: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
        cells.resize(workflow.processor() + 4, String::new());
        Row { number, cells }
    }

    fn response_id(&self) -> &str {
        &self.cells[0]
    }

    fn completed(&self, workflow: Workflow) -> bool {
        !self.cells[workflow.processor() + 1].is_empty()
    }

    fn error(&self, workflow: Workflow) -> &str {
        &self.cells[workflow.processor() + 2]
    }

    fn skipped(&self, workflow: Workflow) -> bool {
        self.cells[workflow.processor() + 3].eq_ignore_ascii_case("true")
    }

    /// The digest of what the row asks (its input cells).
    fn input(&self, workflow: Workflow) -> String {
        digest(&self.cells[..workflow.processor()])
    }
}

/// The learner a row names by email, or the row's error.
async fn learner(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Result<store::accounts::User, String>, DbErr> {
    let user = match domain::accounts::Email::parse(email) {
        Ok(address) => store::accounts::find_by_email(db, &address).await?,
        Err(_) => None,
    };
    Ok(user.ok_or_else(|| format!("User with email '{email}' not found")))
}

/// Acts on one refund row: the order refunded through the commerce refund service (its
/// enrollments ended, the learner mailed); an order refunded before is done already.
async fn refund_row(
    ctx: &Context,
    sheets: &Sheets,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let db = ctx.store.db();
    let (email, product, order_cell) = (&row.cells[2], &row.cells[5], &row.cells[6]);
    let user = match learner(db, email).await? {
        Ok(user) => user,
        Err(error) => return Ok(Err(error)),
    };
    let Ok(order_id) = order_cell.parse::<i64>() else {
        return Ok(Err(format!(
            "Parsing failure: order id {order_cell:?} is not a number"
        )));
    };
    let order = store::commerce::orders::find(db, order_id)
        .await?
        .filter(|o| o.purchaser_id == user.id);
    let Some(order) = order else {
        return Ok(Err(format!(
            "Order with id {order_id} and purchaser '{email}' not found"
        )));
    };
    let sells_product = store::commerce::orders::lines(db, order.id)
        .await?
        .iter()
        .filter_map(|l| crate::commerce::item(view, l.product_id))
        .any(|item| item.readable_id == *product);
    if !sells_product {
        return Ok(Err(format!(
            "Program/Course run enrollment does not exist for product '{product}' and order {order_id}"
        )));
    }
    if order.state == OrderState::Refunded {
        return Ok(Ok("refunded before".to_string()));
    }
    let reason = format!("refund request {} (Google Sheets)", row.response_id());
    let asked = Refund {
        amount: None,
        reason: &reason,
        unenroll: true,
        by: "Google Sheets",
    };
    match refunds::refund(
        &ctx.store,
        view,
        sheets.refund_client.as_deref(),
        order.id,
        &asked,
        now,
    )
    .await
    {
        Ok(_) => Ok(Ok("refunded".to_string())),
        Err(refunds::RefundFailure::Db(e)) => Err(e),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// Acts on one deferral row (forced, as xPRO's sheet defers): the learner moves from one
/// run to the other; a learner already moved is done already.
async fn defer_row(
    ctx: &Context,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let (email, from, to) = (&row.cells[2], &row.cells[5], &row.cells[6]);
    let txn = ctx.store.write().await?;
    let user = match learner(&txn, email).await? {
        Ok(user) => user,
        Err(_) => return Ok(Err(format!("User '{email}' does not exist"))),
    };
    // Deferred before (a crash between moving and recording): done, nothing moves again.
    let run_of = |id: &str| view.run_by_courseware_id(id).map(|(_, r)| r.id);
    let (from_run, to_run) = (run_of(from), run_of(to));
    if let (Some(from_run), Some(to_run)) = (from_run, to_run)
        && from_run != to_run
    {
        let deferred = store::enrollments::for_run(&txn, user.id, from_run)
            .await?
            .is_some_and(|e| e.change_status.as_deref() == Some("deferred"));
        let moved = store::enrollments::for_run(&txn, user.id, to_run)
            .await?
            .is_some_and(|e| e.active);
        if deferred && moved {
            return Ok(Ok("deferred before".to_string()));
        }
    }
    match crate::enrollments::defer(&txn, view, user.id, from, to, true, now).await {
        Ok(_) => {
            txn.commit().await?;
            Ok(Ok(format!("deferred from {from} to {to}")))
        }
        Err(crate::enrollments::DeferError::Db(e)) => Err(e),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// What to write on a row.
enum WriteBack {
    Done(DateTime<Utc>),
    Failed(String),
}

/// A worksheet title as an A1 range names it: quoted, inner quotes doubled.
fn quoted(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
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
    let last = letter(workflow.processor() + 3);
    let range = format!("{}!A{}:{last}", quoted(&sheet.title), sheet.first_row);
    let rows = sheets
        .google
        .values(&sheet.spreadsheet, &range)
        .await
        .map_err(google_error)?;
    let view = store::catalog::read::load(db).await.map_err(retry)?;
    let handled: HashMap<String, Handled> =
        store::sheets::handled(db, kind).await.map_err(retry)?;
    let mut writes: Vec<(String, usize, WriteBack)> = Vec::new();
    for (index, cells) in rows.into_iter().enumerate() {
        let row = Row::read(workflow, sheet.first_row + index, cells);
        if row.skipped(workflow) || row.response_id().is_empty() {
            continue;
        }
        let key = row.response_id().to_string();
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
        let outcome = workflow
            .act(ctx, sheets, &view, &row, now)
            .await
            .map_err(retry)?;
        let (state, message, write) = match outcome {
            Ok(message) => ("done", message, WriteBack::Done(now)),
            Err(error) => ("failed", error.clone(), WriteBack::Failed(error)),
        };
        store::sheets::record(db, kind, &key, &input, state, &message, now)
            .await
            .map_err(retry)?;
        tracing::info!(kind, row = row.number, response = %key, state, %message, "request row handled");
        writes.push((key, row.number, write));
    }
    // One call writes every row's outcome: processor, completed date, error.
    let (processor, error) = (
        letter(workflow.processor()),
        letter(workflow.processor() + 2),
    );
    let ranges: Vec<(String, Vec<Vec<String>>)> = writes
        .iter()
        .map(|(_, number, write)| match write {
            WriteBack::Done(at) => (
                format!(
                    "{}!{processor}{number}:{error}{number}",
                    quoted(&sheet.title)
                ),
                vec![vec![PROCESSOR.to_string(), sheet_date(*at), String::new()]],
            ),
            WriteBack::Failed(message) => (
                format!("{}!{error}{number}", quoted(&sheet.title)),
                vec![vec![format!("Error: {message}")]],
            ),
        })
        .collect();
    sheets
        .google
        .write(&sheet.spreadsheet, &ranges)
        .await
        .map_err(google_error)?;
    let keys: Vec<String> = writes.into_iter().map(|(key, _, _)| key).collect();
    store::sheets::written_back(db, kind, &keys)
        .await
        .map_err(retry)
}

/// Reads the request sheets and acts on their ready rows (the schedule's poll, and each
/// debounced change notification).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProcessSheets {}

impl ProcessSheets {
    /// Queues a run `delay` from now; notifications until then join it.
    pub async fn soon(
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
        delay: Duration,
    ) -> Result<(), DbErr> {
        jobs::push(
            db,
            &ProcessSheets {},
            Enqueue {
                unique_key: Some("sheets:enrollchange".into()),
                run_at: Some(now + delay),
            },
        )
        .await
        .map(|_| ())
    }
}

impl Job for ProcessSheets {
    const KIND: &'static str = "sheets.process_requests";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        // Each worksheet on its own: one that cannot be read does not hold back the other.
        let mut first_failure = None;
        for (sheet, workflow) in [
            (&sheets.refunds, Workflow::Refunds),
            (&sheets.deferrals, Workflow::Deferrals),
        ] {
            if let Some(sheet) = sheet
                && let Err(e) = process(ctx, sheets, sheet, workflow).await
            {
                tracing::warn!(kind = workflow.kind(), error = %e, "request sheet not processed");
                first_failure.get_or_insert(e);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// Keeps a Drive channel open on each request sheet (xPRO `renew-file-watches`): a channel
/// expiring within three hours, or none, is replaced by a new one for a day.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RenewFileWatches {}

impl Job for RenewFileWatches {
    const KIND: &'static str = "sheets.renew_file_watches";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        // One channel watches the enrollment-change spreadsheet, whichever worksheets are used.
        let sheet = sheets.refunds.as_ref().or(sheets.deferrals.as_ref());
        let (Some(webhook), Some(sheet)) = (&sheets.webhook, sheet) else {
            return Ok(());
        };
        let db = ctx.store.db();
        let now = Utc::now();
        let current = store::sheets::watch(db, &sheet.spreadsheet)
            .await
            .map_err(retry)?;
        if current.is_some_and(|w| w.expires_at > now + Duration::minutes(180)) {
            return Ok(());
        }
        let expires = now + Duration::minutes(1440);
        let channel_id = format!("registrar-enrollchange-{}", now.format("%Y%m%d-%H%M%S"));
        let channel = sheets
            .google
            .watch(
                &sheet.spreadsheet,
                &channel_id,
                &webhook.address,
                &webhook.token,
                expires.timestamp_millis(),
            )
            .await
            .map_err(google_error)?;
        store::sheets::save_watch(
            db,
            &store::sheets::Watch {
                file_id: sheet.spreadsheet.clone(),
                channel_id: channel.id,
                resource_id: channel.resource_id,
                expires_at: expires,
            },
        )
        .await
        .map_err(retry)?;
        tracing::info!(file = %sheet.spreadsheet, "Drive watch renewed");
        Ok(())
    }
}
