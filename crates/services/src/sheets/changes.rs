//! Drive's change notifications: which sheet one is about, and the debounced run it
//! queues.

use chrono::{DateTime, Duration, Utc};
use jobs::Job;
use sea_orm::{ConnectionTrait, DbErr};

use super::{ProcessCouponRequests, ProcessSheets, Sheets, assignments};

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

    /// Queues the run the change calls for, after its debounce: notifications until then
    /// join it (each kind's key).
    pub async fn queue(self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
        let soon = Some(now + Duration::seconds(REQUEST_DEBOUNCE_SECONDS));
        match self {
            Change::EnrollmentChanges => ProcessSheets {}.enqueue_at(db, soon).await,
            Change::CouponRequests => ProcessCouponRequests {}.enqueue_at(db, soon).await,
            Change::Assignments(request_id) => {
                let later = Some(now + Duration::seconds(ASSIGNMENT_DEBOUNCE_SECONDS));
                assignments::ProcessSheet { request_id }
                    .enqueue_at(db, later)
                    .await
            }
        }
        .map(|_| ())
    }
}
