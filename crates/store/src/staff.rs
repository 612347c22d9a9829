//! Staff API tokens, until accounts exist. Only a SHA-256 of each token is stored, so a
//! database dump does not hand out staff access.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set,
};

use crate::entity::staff_token;
use crate::secret::{digest, new_token};

/// Creates a token for `email` and returns it; it cannot be recovered later.
pub async fn create_token(db: &impl ConnectionTrait, email: &str) -> Result<String, DbErr> {
    let token = new_token();
    staff_token::ActiveModel {
        id: NotSet,
        email: Set(email.to_string()),
        token_hash: Set(digest(&token)),
        created_on: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The staff email a token belongs to.
pub async fn authenticate(db: &impl ConnectionTrait, token: &str) -> Result<Option<String>, DbErr> {
    Ok(staff_token::Entity::find()
        .filter(staff_token::Column::TokenHash.eq(digest(token)))
        .one(db)
        .await?
        .map(|row| row.email))
}

/// Starts a staff-area session for `email` (signed in with a staff token); the cookie
/// value, of which only a digest is stored.
pub async fn start_session(
    db: &impl ConnectionTrait,
    email: &str,
    valid_for: chrono::Duration,
    now: chrono::DateTime<Utc>,
) -> Result<String, DbErr> {
    let id = new_token();
    crate::sql::run(
        db,
        "INSERT INTO staff_sessions (id_hash, email, created_on, expires_on) VALUES ($1, $2, $3, $4)",
        vec![
            digest(&id).into(),
            email.into(),
            now.into(),
            (now + valid_for).into(),
        ],
    )
    .await?;
    Ok(id)
}

/// The staff member a staff-area session belongs to, while it lasts.
pub async fn session_email(
    db: &impl ConnectionTrait,
    id: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    crate::sql::one(
        db,
        "SELECT email FROM staff_sessions WHERE id_hash = $1 AND expires_on > $2",
        vec![digest(id).into(), now.into()],
    )
    .await?
    .map(|r| r.try_get("", "email"))
    .transpose()
}

/// Ends a staff-area session (and any that have expired).
pub async fn end_session(
    db: &impl ConnectionTrait,
    id: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    crate::sql::run(
        db,
        "DELETE FROM staff_sessions WHERE id_hash = $1 OR expires_on <= $2",
        vec![digest(id).into(), now.into()],
    )
    .await
    .map(|_| ())
}
