//! Coupon requests and their code assignments: a request names a batch of single-use codes
//! (`discounts.batch` = the request's name); each code is assigned to at most one email,
//! whose enrollment message, delivery and redemption are tracked on the assignment.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::sql::{all_as, one, run};

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A row of the coupon request spreadsheet; its codes are assigned in a spreadsheet.
    Sheet,
    /// The staff queue; its codes are assigned on the staff page.
    Staff,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sheet => "sheet",
            Source::Staff => "staff",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRequest {
    pub id: i64,
    pub name: String,
    pub purchase_order: String,
    pub num_codes: i32,
    pub product_id: i64,
    pub product_text_id: String,
    pub company: String,
    pub activation: Option<DateTime<Utc>>,
    pub expiration: Option<DateTime<Utc>>,
    pub requester: Option<String>,
    pub source: String,
    pub created_on: DateTime<Utc>,
    /// The assignment spreadsheet, once created.
    pub sheet_id: Option<String>,
    /// When its codes and links were written and its ranges protected.
    pub sheet_filled_on: Option<DateTime<Utc>>,
    /// When the spreadsheet was filled, protected, shared and watched.
    pub sheet_ready_on: Option<DateTime<Utc>>,
    pub assignments_started_on: Option<DateTime<Utc>>,
    pub last_assignment_on: Option<DateTime<Utc>>,
    pub delivery_completed_on: Option<DateTime<Utc>>,
}

/// What creating a request takes.
pub struct NewRequest<'a> {
    pub name: &'a str,
    pub purchase_order: &'a str,
    pub num_codes: i32,
    pub product_id: i64,
    pub product_text_id: &'a str,
    pub company: &'a str,
    pub activation: Option<DateTime<Utc>>,
    pub expiration: Option<DateTime<Utc>>,
    pub requester: Option<&'a str>,
    pub source: Source,
}

const COLUMNS: &str = "id, name, purchase_order, num_codes, product_id, product_text_id, company, activation_date, expiration_date, requester, source, created_on, sheet_id, sheet_filled_on, sheet_ready_on, assignments_started_on, last_assignment_on, delivery_completed_on";

fn request(r: &QueryResult) -> Result<CouponRequest, DbErr> {
    Ok(CouponRequest {
        id: r.try_get("", "id")?,
        name: r.try_get("", "name")?,
        purchase_order: r.try_get("", "purchase_order")?,
        num_codes: r.try_get("", "num_codes")?,
        product_id: r.try_get("", "product_id")?,
        product_text_id: r.try_get("", "product_text_id")?,
        company: r.try_get("", "company")?,
        activation: r.try_get("", "activation_date")?,
        expiration: r.try_get("", "expiration_date")?,
        requester: r.try_get("", "requester")?,
        source: r.try_get("", "source")?,
        created_on: r.try_get("", "created_on")?,
        sheet_id: r.try_get("", "sheet_id")?,
        sheet_filled_on: r.try_get("", "sheet_filled_on")?,
        sheet_ready_on: r.try_get("", "sheet_ready_on")?,
        assignments_started_on: r.try_get("", "assignments_started_on")?,
        last_assignment_on: r.try_get("", "last_assignment_on")?,
        delivery_completed_on: r.try_get("", "delivery_completed_on")?,
    })
}

async fn requests(
    db: &impl ConnectionTrait,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<CouponRequest>, DbErr> {
    all_as(
        db,
        &format!("SELECT {COLUMNS} FROM coupon_requests {filter}"),
        values,
        |r| request(&r),
    )
    .await
}

pub async fn create(
    db: &impl ConnectionTrait,
    new: &NewRequest<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    one(
        db,
        "INSERT INTO coupon_requests (name, purchase_order, num_codes, product_id, product_text_id, company, \
         activation_date, expiration_date, requester, source, created_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        vec![
            new.name.into(),
            new.purchase_order.into(),
            new.num_codes.into(),
            new.product_id.into(),
            new.product_text_id.into(),
            new.company.into(),
            new.activation.into(),
            new.expiration.into(),
            new.requester.map(str::to_string).into(),
            new.source.as_str().into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::Custom("the new coupon request has no id".into()))?
    .try_get("", "id")
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<CouponRequest>, DbErr> {
    Ok(requests(db, "WHERE id = $1", vec![id.into()]).await?.pop())
}

pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<CouponRequest>, DbErr> {
    Ok(requests(db, "WHERE name = $1", vec![name.into()])
        .await?
        .pop())
}

pub async fn by_sheet(
    db: &impl ConnectionTrait,
    sheet_id: &str,
) -> Result<Option<CouponRequest>, DbErr> {
    Ok(requests(db, "WHERE sheet_id = $1", vec![sheet_id.into()])
        .await?
        .pop())
}

/// Every request, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<CouponRequest>, DbErr> {
    requests(db, "ORDER BY id DESC", vec![]).await
}

/// Requests from the sheet whose assignment spreadsheet is not ready yet.
pub async fn sheets_pending(db: &impl ConnectionTrait) -> Result<Vec<CouponRequest>, DbErr> {
    requests(
        db,
        "WHERE source = $1 AND sheet_ready_on IS NULL ORDER BY id",
        vec![Source::Sheet.as_str().into()],
    )
    .await
}

/// Requests whose delivery is still followed: assignments started, not all delivered,
/// the last assigned `since` or later (xPRO `ASSIGNMENT_SHEET_MAX_AGE_DAYS`).
pub async fn delivery_followed(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<CouponRequest>, DbErr> {
    requests(
        db,
        "WHERE assignments_started_on IS NOT NULL AND delivery_completed_on IS NULL AND last_assignment_on >= $1 ORDER BY id",
        vec![since.into()],
    )
    .await
}

/// Assignment spreadsheets whose Drive channel is kept open: not delivery-completed, and
/// assigned, or created, `since` or later (xPRO `fetch_webhook_eligible_assign_sheet_ids`).
pub async fn watched_sheets(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<CouponRequest>, DbErr> {
    requests(
        db,
        "WHERE sheet_ready_on IS NOT NULL AND delivery_completed_on IS NULL \
         AND (last_assignment_on >= $1 OR (assignments_started_on IS NULL AND created_on >= $1)) ORDER BY id",
        vec![since.into()],
    )
    .await
}

async fn set(
    db: &impl ConnectionTrait,
    id: i64,
    column: &str,
    value: sea_orm::Value,
) -> Result<(), DbErr> {
    run(
        db,
        &format!("UPDATE coupon_requests SET {column} = $1 WHERE id = $2"),
        vec![value, id.into()],
    )
    .await
    .map(|_| ())
}

pub async fn set_sheet(db: &impl ConnectionTrait, id: i64, sheet_id: &str) -> Result<(), DbErr> {
    set(db, id, "sheet_id", sheet_id.into()).await
}

pub async fn sheet_filled(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    set(db, id, "sheet_filled_on", now.into()).await
}

pub async fn sheet_ready(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    set(db, id, "sheet_ready_on", now.into()).await
}

pub async fn delivery_completed(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    set(db, id, "delivery_completed_on", now.into()).await
}

/// A code of a request, with its assignment if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub discount_id: i64,
    pub code: String,
    pub assignment: Option<Assignment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub email: String,
    /// `assigned`, `invalid`, then the message's `delivered`, `failed`, `opened`,
    /// `clicked`; `enrolled` once redeemed.
    pub status: String,
    pub status_at: DateTime<Utc>,
    pub message_id: Option<String>,
    pub redeemed_by: Option<String>,
    pub redeemed_on: Option<DateTime<Utc>>,
    pub shown: bool,
}

/// A request's codes in the order they were made.
pub async fn codes(db: &impl ConnectionTrait, request: &CouponRequest) -> Result<Vec<Code>, DbErr> {
    all_as(
        db,
        "SELECT d.id, d.code, a.email, a.status, a.status_at, a.message_id, a.redeemed_by, a.redeemed_on, a.shown \
         FROM discounts d LEFT JOIN code_assignments a ON a.discount_id = d.id \
         WHERE d.batch = $1 ORDER BY d.id",
        vec![request.name.clone().into()],
        |r| {
            let email: Option<String> = r.try_get("", "email")?;
            let assignment = match email {
                Some(email) => Some(Assignment {
                    email,
                    status: r.try_get("", "status")?,
                    status_at: r.try_get("", "status_at")?,
                    message_id: r.try_get("", "message_id")?,
                    redeemed_by: r.try_get("", "redeemed_by")?,
                    redeemed_on: r.try_get("", "redeemed_on")?,
                    shown: r.try_get("", "shown")?,
                }),
                None => None,
            };
            Ok(Code {
                discount_id: r.try_get("", "id")?,
                code: r.try_get::<Option<String>>("", "code")?.unwrap_or_default(),
                assignment,
            })
        },
    )
    .await
}

/// Assigns a code; the request's assignment dates move on.
pub async fn assign(
    db: &impl ConnectionTrait,
    request_id: i64,
    discount_id: i64,
    email: &str,
    status: &str,
    message_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO code_assignments (discount_id, request_id, email, status, status_at, message_id, shown, created_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $5)",
        vec![
            discount_id.into(),
            request_id.into(),
            email.into(),
            status.into(),
            now.into(),
            message_id.map(str::to_string).into(),
            false.into(),
        ],
    )
    .await?;
    run(
        db,
        "UPDATE coupon_requests SET assignments_started_on = COALESCE(assignments_started_on, $1), \
         last_assignment_on = $1, delivery_completed_on = NULL WHERE id = $2",
        vec![now.into(), request_id.into()],
    )
    .await
    .map(|_| ())
}

/// Takes an unredeemed code's assignment back; its request is no longer complete.
pub async fn unassign(db: &impl ConnectionTrait, discount_id: i64) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE coupon_requests SET delivery_completed_on = NULL WHERE id IN \
         (SELECT request_id FROM code_assignments WHERE discount_id = $1 AND redeemed_on IS NULL)",
        vec![discount_id.into()],
    )
    .await?;
    run(
        db,
        "DELETE FROM code_assignments WHERE discount_id = $1 AND redeemed_on IS NULL",
        vec![discount_id.into()],
    )
    .await
    .map(|_| ())
}

/// A new status for an assignment, not yet shown on its sheet.
pub async fn set_status(
    db: &impl ConnectionTrait,
    discount_id: i64,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE code_assignments SET status = $1, status_at = $2, shown = $3 WHERE discount_id = $4",
        vec![status.into(), at.into(), false.into(), discount_id.into()],
    )
    .await
    .map(|_| ())
}

/// Notes that the sheet shows these statuses: (discount id, status, since). An
/// assignment whose status changed meanwhile stays to be shown.
pub async fn shown(
    db: &impl ConnectionTrait,
    written: &[(i64, String, DateTime<Utc>)],
) -> Result<(), DbErr> {
    for (id, status, at) in written {
        run(
            db,
            "UPDATE code_assignments SET shown = $1 WHERE discount_id = $2 AND status = $3 AND status_at = $4",
            vec![true.into(), (*id).into(), status.clone().into(), (*at).into()],
        )
        .await?;
    }
    Ok(())
}

/// The order's code, if it is an assigned one, marked `enrolled` by `email`; the request
/// it belongs to, if that request has an assignment spreadsheet to show it on.
pub async fn redeemed(
    db: &impl ConnectionTrait,
    order_id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let Some(found) = one(
        db,
        "SELECT a.discount_id, a.request_id, q.sheet_id FROM code_assignments a \
         JOIN discount_redemptions r ON r.discount_id = a.discount_id \
         JOIN coupon_requests q ON q.id = a.request_id WHERE r.order_id = $1",
        vec![order_id.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let discount_id: i64 = found.try_get("", "discount_id")?;
    run(
        db,
        "UPDATE code_assignments SET status = $1, status_at = $2, redeemed_by = $3, redeemed_on = $2, shown = $4 \
         WHERE discount_id = $5",
        vec![
            "enrolled".into(),
            now.into(),
            email.into(),
            false.into(),
            discount_id.into(),
        ],
    )
    .await?;
    let sheet: Option<String> = found.try_get("", "sheet_id")?;
    sheet.map(|_| found.try_get("", "request_id")).transpose()
}

/// The request a message assigned a code of.
pub async fn by_message(db: &impl ConnectionTrait, message_id: &str) -> Result<Option<i64>, DbErr> {
    one(
        db,
        "SELECT request_id FROM code_assignments WHERE message_id = $1",
        vec![message_id.into()],
    )
    .await?
    .map(|r| r.try_get("", "request_id"))
    .transpose()
}

/// Assignments whose message reported a delivery status they do not show yet:
/// (discount id, mail status, when).
pub async fn delivery_news(
    db: &impl ConnectionTrait,
    request_id: i64,
) -> Result<Vec<(i64, String, DateTime<Utc>)>, DbErr> {
    all_as(
        db,
        "SELECT a.discount_id, m.status, m.status_at FROM code_assignments a \
         JOIN mail_messages m ON m.message_id = a.message_id \
         WHERE a.request_id = $1 AND a.redeemed_on IS NULL AND m.status IS NOT NULL AND m.status <> a.status",
        vec![request_id.into()],
        |r| {
            Ok((
                r.try_get("", "discount_id")?,
                r.try_get("", "status")?,
                r.try_get("", "status_at")?,
            ))
        },
    )
    .await
}
