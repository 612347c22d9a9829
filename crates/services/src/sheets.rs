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
//! This build handles the enrollment-change sheet's refund worksheet.

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
const REFUNDS: &str = "refunds";

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
    Sha256::digest(cells.join("\u{1f}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A refund request row (columns A–O of xPRO's refund worksheet).
#[derive(Debug, Clone)]
struct RefundRow {
    number: usize,
    response_id: String,
    email: String,
    product: String,
    order_id: String,
    order_type: String,
    finance_email: String,
    finance_approved: String,
    completed: String,
    error: String,
    skip: bool,
    /// The input cells (A–K), whose digest identifies what was asked.
    input: Vec<String>,
}

impl RefundRow {
    fn read(number: usize, mut cells: Vec<String>) -> Self {
        cells.resize(15, String::new());
        let cell = |i: usize| cells[i].trim().to_string();
        RefundRow {
            number,
            response_id: cell(0),
            email: cell(2),
            product: cell(5),
            order_id: cell(6),
            order_type: cell(7),
            finance_email: cell(8),
            finance_approved: cell(9),
            completed: cell(12),
            error: cell(13),
            skip: cell(14).eq_ignore_ascii_case("true"),
            input: cells[..11].iter().map(|c| c.trim().to_string()).collect(),
        }
    }

    /// xPRO's rule: not completed, and either an enrollment-code order or a card payment
    /// finance approved.
    fn ready(&self) -> bool {
        !self.skip
            && !self.response_id.is_empty()
            && self.completed.is_empty()
            && (self.order_type == "Enrollment Code"
                || (self.order_type == "Paid via Cybersource"
                    && !self.finance_email.is_empty()
                    && !self.finance_approved.is_empty()))
    }
}

/// Acts on one refund row: the order refunded through the commerce refund service (its
/// enrollments ended, the learner mailed); an order refunded before is done already.
async fn refund_row(
    ctx: &Context,
    sheets: &Sheets,
    view: &CatalogView,
    row: &RefundRow,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let db = ctx.store.db();
    let user = match domain::accounts::Email::parse(&row.email) {
        Ok(email) => store::accounts::find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let Some(user) = user else {
        return Ok(Err(format!("User with email '{}' not found", row.email)));
    };
    let Ok(order_id) = row.order_id.parse::<i64>() else {
        return Ok(Err(format!(
            "Parsing failure: order id {:?} is not a number",
            row.order_id
        )));
    };
    let order = store::commerce::orders::find(db, order_id)
        .await?
        .filter(|o| o.purchaser_id == user.id);
    let Some(order) = order else {
        return Ok(Err(format!(
            "Order with id {order_id} and purchaser '{}' not found",
            row.email
        )));
    };
    let sells_product = store::commerce::orders::lines(db, order.id)
        .await?
        .iter()
        .filter_map(|l| crate::commerce::item(view, l.product_id))
        .any(|item| item.readable_id == row.product);
    if !sells_product {
        return Ok(Err(format!(
            "Program/Course run enrollment does not exist for product '{}' and order {order_id}",
            row.product
        )));
    }
    if order.state == OrderState::Refunded {
        return Ok(Ok("refunded before".to_string()));
    }
    let reason = format!("refund request {} (Google Sheets)", row.response_id);
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

/// What to write on a row.
enum WriteBack {
    Done(DateTime<Utc>),
    Failed(String),
}

async fn process_refunds(
    ctx: &Context,
    sheets: &Sheets,
    sheet: &Worksheet,
) -> Result<(), JobError> {
    let db = ctx.store.db();
    let range = format!("{}!A{}:O", sheet.title, sheet.first_row);
    let rows = sheets
        .google
        .values(&sheet.spreadsheet, &range)
        .await
        .map_err(google_error)?;
    let view = store::catalog::read::load(db).await.map_err(retry)?;
    let handled: HashMap<String, Handled> =
        store::sheets::handled(db, REFUNDS).await.map_err(retry)?;
    let mut writes: Vec<(String, usize, WriteBack)> = Vec::new();
    for (index, cells) in rows.into_iter().enumerate() {
        let row = RefundRow::read(sheet.first_row + index, cells);
        if row.skip || row.response_id.is_empty() {
            continue;
        }
        let input = digest(&row.input);
        match handled.get(&row.response_id) {
            // Done before: only make sure the sheet shows it (xPRO's OUT_OF_SYNC).
            Some(h) if h.outcome == "done" => {
                if row.completed.is_empty() {
                    writes.push((
                        row.response_id.clone(),
                        row.number,
                        WriteBack::Done(h.processed_at),
                    ));
                }
                continue;
            }
            // Failed with this very input: its error stands until someone changes the row.
            Some(h) if h.digest == input => {
                if row.error.is_empty() || !h.written_back {
                    writes.push((
                        row.response_id.clone(),
                        row.number,
                        WriteBack::Failed(h.message.clone()),
                    ));
                }
                continue;
            }
            _ => {}
        }
        if !row.ready() {
            continue;
        }
        let now = Utc::now();
        let outcome = refund_row(ctx, sheets, &view, &row, now)
            .await
            .map_err(retry)?;
        let (state, message, write) = match outcome {
            Ok(message) => ("done", message, WriteBack::Done(now)),
            Err(error) => ("failed", error.clone(), WriteBack::Failed(error)),
        };
        store::sheets::record(db, REFUNDS, &row.response_id, &input, state, &message, now)
            .await
            .map_err(retry)?;
        tracing::info!(row = row.number, response = %row.response_id, state, %message, "refund request row handled");
        writes.push((row.response_id.clone(), row.number, write));
    }
    // One call writes every row's outcome: L processor, M completed date, N error.
    let ranges: Vec<(String, Vec<Vec<String>>)> = writes
        .iter()
        .map(|(_, number, write)| match write {
            WriteBack::Done(at) => (
                format!("{}!L{number}:N{number}", sheet.title),
                vec![vec![PROCESSOR.to_string(), sheet_date(*at), String::new()]],
            ),
            WriteBack::Failed(error) => (
                format!("{}!N{number}", sheet.title),
                vec![vec![format!("Error: {error}")]],
            ),
        })
        .collect();
    sheets
        .google
        .write(&sheet.spreadsheet, &ranges)
        .await
        .map_err(google_error)?;
    let keys: Vec<String> = writes.into_iter().map(|(key, _, _)| key).collect();
    store::sheets::written_back(db, REFUNDS, &keys)
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
        if let Some(sheet) = &sheets.refunds {
            process_refunds(ctx, sheets, sheet).await?;
        }
        Ok(())
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
        let (Some(webhook), Some(sheet)) = (&sheets.webhook, &sheets.refunds) else {
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
