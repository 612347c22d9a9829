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
//! The enrollment-change spreadsheet's refund and deferral worksheets and the coupon
//! request spreadsheet are read here; each coupon request gets its own assignment
//! spreadsheet (`assignments`); batches of codes can be shown in a sheet (`code_sheets`).

pub mod assignments;
pub mod code_sheets;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use domain::commerce::order::OrderState;
use integrations::google::{Google, GoogleError};
use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::catalog::read::CatalogView;
use store::commerce::coupon_requests::Source;
use store::sheets::Handled;

use crate::Context;
use crate::commerce::refunds::{self, Refund};
use crate::coupon_requests::{self, RequestError, RequestForm};

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
    /// The coupon request worksheet (xPRO `COUPON_REQUEST_SHEET_ID`, first worksheet).
    pub coupon_requests: Option<Worksheet>,
    /// The Drive folder assignment spreadsheets are created in (`DRIVE_OUTPUT_FOLDER_ID`).
    pub output_folder: Option<String>,
    /// Who assignment spreadsheets are shared with (`SHEETS_ADMIN_EMAILS`).
    pub admin_emails: Vec<String>,
    /// Where Drive posts change notifications, and the token each must carry.
    pub webhook: Option<Webhook>,
    /// The processor's refund API (refunds of paid orders).
    pub refund_client: Option<std::sync::Arc<integrations::cybersource::refunds::Refunds>>,
}

impl Sheets {
    /// No workflow on yet: the caller sets the worksheets it uses.
    pub fn new(google: Google) -> Self {
        Sheets {
            google,
            refunds: None,
            deferrals: None,
            coupon_requests: None,
            output_folder: None,
            admin_emails: Vec::new(),
            webhook: None,
            refund_client: None,
        }
    }

    /// The enrollment-change spreadsheet, whichever of its worksheets are used.
    fn enrollment_changes(&self) -> Option<&str> {
        self.refunds
            .as_ref()
            .or(self.deferrals.as_ref())
            .map(|w| w.spreadsheet.as_str())
    }
}

/// Drive's notifications: the receiver (`…/api/sheets/watch/`; each channel adds which
/// sheet it watches) and the token each must carry.
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

/// A request worksheet: its layout (xPRO's columns) and what a ready row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workflow {
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
struct Row {
    number: usize,
    cells: Vec<String>,
}

impl Row {
    fn read(workflow: Workflow, number: usize, cells: Vec<String>) -> Self {
        let mut cells: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
        cells.resize(workflow.completed() + 3, String::new());
        Row { number, cells }
    }

    fn key(&self, workflow: Workflow) -> &str {
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
    let reason = format!(
        "refund request {} (Google Sheets)",
        row.key(Workflow::Refunds)
    );
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
    match crate::enrollments::defer_in(&txn, view, &ctx.site_url, user.id, from, to, true, now)
        .await
    {
        Ok(_) => {
            txn.commit().await?;
            Ok(Ok(format!("deferred from {from} to {to}")))
        }
        Err(crate::enrollments::DeferError::Db(e)) => Err(e),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// Acts on one coupon request row: the batch of codes is created and its assignment
/// spreadsheet queued; a batch this sheet created before is done already.
async fn request_row(
    ctx: &Context,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let cell = |i: usize| row.cells[i].clone();
    let form = RequestForm {
        purchase_order: cell(0),
        name: cell(1),
        num_codes: cell(2),
        product: cell(3),
        company: cell(4),
        activation: cell(5),
        expiration: cell(6),
        requester: cell(7),
    };
    let txn = ctx.store.write().await?;
    if store::commerce::coupon_requests::by_name(&txn, form.name.trim())
        .await?
        .is_some_and(|r| r.source == Source::Sheet.as_str())
    {
        return Ok(Ok("created before".to_string()));
    }
    match coupon_requests::create_in(&txn, view, &form, Source::Sheet, now).await {
        Ok(request) => {
            assignments::CreateSheet::enqueue(&txn, request.id).await?;
            txn.commit().await?;
            Ok(Ok(format!("{} codes created", request.num_codes)))
        }
        Err(RequestError::Db(e)) => Err(e),
        Err(RequestError::Invalid(errors)) => Ok(Err(errors.to_string())),
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
async fn process_each(
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

/// Queues a job `delay` from now under a key, so notifications until then join it.
async fn debounced<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    key: String,
    now: DateTime<Utc>,
    delay: Duration,
) -> Result<(), DbErr> {
    jobs::push(
        db,
        job,
        Enqueue {
            unique_key: Some(key),
            run_at: Some(now + delay),
        },
    )
    .await
    .map(|_| ())
}

/// Reads the enrollment-change worksheets and acts on their ready rows (the schedule's
/// poll, and each debounced change notification).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProcessSheets {}

impl Job for ProcessSheets {
    const KIND: &'static str = "sheets.process_requests";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        process_each(
            ctx,
            sheets,
            &[
                (sheets.refunds.as_ref(), Workflow::Refunds),
                (sheets.deferrals.as_ref(), Workflow::Deferrals),
            ],
        )
        .await
    }
}

/// Reads the coupon request worksheet and creates the batches its ready rows ask for
/// (xPRO `handle_unprocessed_coupon_requests`: on change, and polled), and makes sure every
/// request from it has its assignment spreadsheet on the way.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProcessCouponRequests {}

impl Job for ProcessCouponRequests {
    const KIND: &'static str = "sheets.handle_coupon_requests";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let processed = process_each(
            ctx,
            sheets,
            &[(sheets.coupon_requests.as_ref(), Workflow::CouponRequests)],
        )
        .await;
        // A request whose spreadsheet never got made (its job gave up) is tried again.
        let db = ctx.store.db();
        for request in store::commerce::coupon_requests::sheets_pending(db).await? {
            assignments::CreateSheet::enqueue(db, request.id).await?;
        }
        processed
    }
}

/// What a change notification is about (xPRO's `sheet` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `enrollchange`: the refund and deferral worksheets.
    EnrollmentChanges,
    /// `enrollrequest`: the coupon request worksheet.
    CouponRequests,
    /// `enrollassign&fileId=`: a coupon request's assignment spreadsheet.
    Assignments(i64),
}

/// Seconds a notification waits for others to join it: a request sheet's rows are
/// complete when typed; an assignment sheet is filled in over minutes, and every email
/// typed is mailed, so it waits longer (xPRO `DRIVE_WEBHOOK_ASSIGNMENT_WAIT`).
const REQUEST_DEBOUNCE_SECONDS: i64 = 10;
const ASSIGNMENT_DEBOUNCE_SECONDS: i64 = 300;

impl Change {
    /// The change a notification names, if it is about `file` (the file its channel
    /// watches) and that file is the one the kind names.
    pub async fn of(
        db: &impl ConnectionTrait,
        sheets: &Sheets,
        kind: &str,
        file_param: Option<&str>,
        file: &str,
    ) -> Result<Option<Change>, DbErr> {
        Ok(match kind {
            "enrollchange" if sheets.enrollment_changes() == Some(file) => {
                Some(Change::EnrollmentChanges)
            }
            "enrollrequest"
                if sheets
                    .coupon_requests
                    .as_ref()
                    .map(|w| w.spreadsheet.as_str())
                    == Some(file) =>
            {
                Some(Change::CouponRequests)
            }
            "enrollassign" if file_param == Some(file) => {
                store::commerce::coupon_requests::by_sheet(db, file)
                    .await?
                    .map(|r| Change::Assignments(r.id))
            }
            _ => None,
        })
    }

    /// Queues the run the change calls for, after its debounce.
    pub async fn queue(self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
        let soon = Duration::seconds(REQUEST_DEBOUNCE_SECONDS);
        match self {
            Change::EnrollmentChanges => {
                debounced(
                    db,
                    &ProcessSheets {},
                    "sheets:enrollchange".into(),
                    now,
                    soon,
                )
                .await
            }
            Change::CouponRequests => {
                let job = ProcessCouponRequests {};
                debounced(db, &job, "sheets:enrollrequest".into(), now, soon).await
            }
            Change::Assignments(request_id) => {
                debounced(
                    db,
                    &assignments::ProcessSheet { request_id },
                    assignments::ProcessSheet::key(request_id),
                    now,
                    Duration::seconds(ASSIGNMENT_DEBOUNCE_SECONDS),
                )
                .await
            }
        }
    }
}

/// Keeps a Drive channel open on a file, for notifications posted with `query` (xPRO
/// `create_or_renew_sheet_file_watch`): a channel expiring within three hours, or none,
/// is replaced by a new one for a day.
async fn keep_watched(
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
