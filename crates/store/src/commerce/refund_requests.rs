//! Learners' refund requests and staff decisions on them.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, one, run};

/// Reasons a learner may give (MITx Online `refund_reason`).
pub const REASONS: [&str; 5] = [
    "enrolled_in_another_course",
    "course_not_as_expected",
    "technical_difficulties",
    "financial_reasons",
    "other",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub id: i64,
    pub order_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub reason_text: String,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    pub created_on: DateTime<Utc>,
}

const COLUMNS: &str = "id, order_id, user_id, reason, reason_text, status, created_on";

fn request(r: sea_orm::QueryResult) -> Result<RefundRequest, DbErr> {
    Ok(RefundRequest {
        id: r.try_get("", "id")?,
        order_id: r.try_get("", "order_id")?,
        user_id: r.try_get("", "user_id")?,
        reason: r.try_get("", "reason")?,
        reason_text: r.try_get("", "reason_text")?,
        status: r.try_get("", "status")?,
        created_on: r.try_get("", "created_on")?,
    })
}

/// Records a pending request; the one already pending for the order, if there is one.
pub async fn create(
    db: &impl ConnectionTrait,
    order_id: i64,
    user_id: i64,
    reason: &str,
    reason_text: &str,
    now: DateTime<Utc>,
) -> Result<RefundRequest, DbErr> {
    if let Some(existing) = pending_for(db, order_id).await? {
        return Ok(existing);
    }
    one(
        db,
        &format!("INSERT INTO refund_requests (order_id, user_id, reason, reason_text, status, created_on) VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING {COLUMNS}"),
        vec![order_id.into(), user_id.into(), reason.into(), reason_text.into(), now.into()],
    )
    .await?
    .map(request)
    .transpose()?
    .ok_or_else(|| DbErr::RecordNotFound("the request just written".into()))
}

pub async fn pending_for(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Option<RefundRequest>, DbErr> {
    Ok(all_as(
        db,
        &format!(
            "SELECT {COLUMNS} FROM refund_requests WHERE order_id = $1 AND status = 'pending'"
        ),
        vec![order_id.into()],
        request,
    )
    .await?
    .pop())
}

/// Pending requests, oldest first: the staff queue.
pub async fn pending(db: &impl ConnectionTrait) -> Result<Vec<RefundRequest>, DbErr> {
    all_as(
        db,
        &format!("SELECT {COLUMNS} FROM refund_requests WHERE status = 'pending' ORDER BY id"),
        Vec::new(),
        request,
    )
    .await
}

/// Decides the order's pending request (`approved` or `denied`).
pub async fn decide(
    db: &impl ConnectionTrait,
    order_id: i64,
    status: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE refund_requests SET status = $1, decided_by = $2, decided_on = $3 WHERE order_id = $4 AND status = 'pending'",
        vec![status.into(), by.into(), now.into(), order_id.into()],
    )
    .await
    .map(|_| ())
}
