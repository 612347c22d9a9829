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
//!
//! Here are the deployment's Google side and the helpers every workflow shares; `process`
//! reads a request worksheet and writes each row's outcome back, `enrollment_changes` and
//! `coupon_requests` say what a ready row of each does, `changes` turns Drive's
//! notifications into debounced runs, and `watches` keeps Drive's channels open.

pub mod assignments;
mod changes;
pub mod code_sheets;
mod coupon_requests;
mod enrollment_changes;
mod process;
mod watches;

pub use changes::Change;
pub use coupon_requests::ProcessCouponRequests;
pub use enrollment_changes::ProcessSheets;
pub use watches::RenewFileWatches;
// `assignments` watches each assignment spreadsheet with it.
use watches::keep_watched;

use chrono::{DateTime, Utc};
use integrations::google::{Google, GoogleError};
use jobs::JobError;

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

/// A worksheet title as an A1 range names it: quoted, inner quotes doubled.
fn quoted(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}
