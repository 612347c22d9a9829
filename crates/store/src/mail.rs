//! Messages sent and their delivery status.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{all_as, one, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub sent_at: DateTime<Utc>,
    pub status: Option<String>,
    pub status_detail: Option<String>,
    pub status_at: Option<DateTime<Utc>>,
}

/// Records a message handed to the transport (once, however often its job ran).
pub async fn sent(
    db: &impl ConnectionTrait,
    message_id: &str,
    recipient: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO mail_messages (message_id, recipient, subject, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING",
        vec![message_id.into(), recipient.into(), subject.into(), now.into()],
    )
    .await
    .map(|_| ())
}

/// Records a delivery event, unless a later one is recorded already; `false` when the
/// message is unknown.
/// Whether the message was handed to the relay (or written to the outbox) already.
pub async fn handed_over(db: &impl ConnectionTrait, message_id: &str) -> Result<bool, DbErr> {
    Ok(one(
        db,
        "SELECT handed_over_at FROM mail_messages WHERE message_id = $1 AND handed_over_at IS NOT NULL",
        vec![message_id.into()],
    )
    .await?
    .is_some())
}

/// Records that the message was handed over, so a run of its job after a crash skips it.
pub async fn mark_handed_over(
    db: &impl ConnectionTrait,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE mail_messages SET handed_over_at = $1 WHERE message_id = $2",
        vec![now.into(), message_id.into()],
    )
    .await
    .map(|_| ())
}

pub async fn status(
    db: &impl ConnectionTrait,
    message_id: &str,
    status: &str,
    detail: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let known = run(
        db,
        "UPDATE mail_messages SET status = $1, status_detail = $2, status_at = $3 \
         WHERE message_id = $4 AND (status_at IS NULL OR status_at <= $3)",
        vec![
            status.into(),
            detail.map(str::to_string).into(),
            at.into(),
            message_id.into(),
        ],
    )
    .await?;
    if known > 0 {
        return Ok(true);
    }
    // Unchanged because a later event is recorded, or unknown.
    Ok(!all_as(
        db,
        "SELECT message_id FROM mail_messages WHERE message_id = $1",
        vec![message_id.into()],
        |r| r.try_get::<String>("", "message_id"),
    )
    .await?
    .is_empty())
}

/// The latest messages, newest first.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Sent>, DbErr> {
    all_as(
        db,
        &format!(
            "SELECT message_id, recipient, subject, sent_at, status, status_detail, status_at FROM mail_messages ORDER BY sent_at DESC LIMIT {limit}"
        ),
        vec![],
        |r| {
            Ok(Sent {
                message_id: r.try_get("", "message_id")?,
                recipient: r.try_get("", "recipient")?,
                subject: r.try_get("", "subject")?,
                sent_at: r.try_get("", "sent_at")?,
                status: r.try_get("", "status")?,
                status_detail: r.try_get("", "status_detail")?,
                status_at: r.try_get("", "status_at")?,
            })
        },
    )
    .await
}

/// Records an event's token; `false` when it was seen before (a replay).
pub async fn first_use(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(run(
        db,
        "INSERT INTO mail_event_tokens (token, seen_at) VALUES ($1, $2) ON CONFLICT (token) DO NOTHING",
        vec![token.into(), now.into()],
    )
    .await?
        == 1)
}
