//! Export-compliance screenings as logged (xPRO `ExportsInquiryLog`).

use chrono::{DateTime, Utc};
use domain::compliance::ComputedResult;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::sql::{all_as, one, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    pub id: i64,
    pub user_id: i64,
    pub computed_result: ComputedResult,
    pub reason_code: Option<i64>,
    pub info_code: Option<String>,
    /// Base64 NaCl sealed boxes.
    pub encrypted_request: String,
    pub encrypted_response: String,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
}

/// A screening that got an answer, to be logged.
pub struct NewInquiry<'a> {
    pub user_id: i64,
    pub computed_result: ComputedResult,
    pub reason_code: i64,
    pub info_code: Option<&'a str>,
    pub encrypted_request: &'a str,
    pub encrypted_response: &'a str,
}

const COLUMNS: &str = "id, user_id, computed_result, reason_code, info_code, encrypted_request, encrypted_response, created_on, updated_on";

fn inquiry(row: QueryResult) -> Result<Inquiry, DbErr> {
    let result: String = row.try_get("", "computed_result")?;
    Ok(Inquiry {
        id: row.try_get("", "id")?,
        user_id: row.try_get("", "user_id")?,
        computed_result: result.parse().map_err(DbErr::Custom)?,
        reason_code: row.try_get("", "reason_code")?,
        info_code: row.try_get("", "info_code")?,
        encrypted_request: row.try_get("", "encrypted_request")?,
        encrypted_response: row.try_get("", "encrypted_response")?,
        created_on: row.try_get("", "created_on")?,
        updated_on: row.try_get("", "updated_on")?,
    })
}

pub async fn record(
    db: &impl ConnectionTrait,
    new: &NewInquiry<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO exports_inquiry_logs (user_id, computed_result, reason_code, info_code, encrypted_request, encrypted_response, created_on, updated_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            new.user_id.into(),
            new.computed_result.as_str().into(),
            new.reason_code.into(),
            new.info_code.map(str::to_string).into(),
            new.encrypted_request.into(),
            new.encrypted_response.into(),
            now.into(),
            now.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// A user's screenings, newest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<Inquiry>, DbErr> {
    all_as(
        db,
        &format!("SELECT {COLUMNS} FROM exports_inquiry_logs WHERE user_id = $1 ORDER BY created_on DESC, id DESC"),
        vec![user_id.into()],
        inquiry,
    )
    .await
}

pub async fn latest(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<Inquiry>, DbErr> {
    Ok(of_user(db, user_id).await?.into_iter().next())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Inquiry>, DbErr> {
    one(
        db,
        &format!("SELECT {COLUMNS} FROM exports_inquiry_logs WHERE id = $1"),
        vec![id.into()],
    )
    .await?
    .map(inquiry)
    .transpose()
}

/// Staff clear a screening the service did not (reference admin action).
pub async fn approve_manually(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE exports_inquiry_logs SET computed_result = $1, updated_on = $2 WHERE id = $3",
        vec![
            ComputedResult::ManuallyApproved.as_str().into(),
            now.into(),
            id.into(),
        ],
    )
    .await
    .map(|_| ())
}
