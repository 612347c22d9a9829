//! Open edX provisioning records: which of our users exist in edX and under which username.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::entity::{openedx_user, user};
use crate::sql::{one, run};

pub use crate::entity::openedx_user::Model as EdxAccount;

pub async fn account(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<EdxAccount>, DbErr> {
    openedx_user::Entity::find_by_id(user_id).one(db).await
}

async fn upsert(db: &impl ConnectionTrait, row: openedx_user::ActiveModel) -> Result<(), DbErr> {
    openedx_user::Entity::insert(row)
        .on_conflict(
            OnConflict::column(openedx_user::Column::UserId)
                .update_columns([
                    openedx_user::Column::EdxUsername,
                    openedx_user::Column::HasBeenSynced,
                    openedx_user::Column::SyncError,
                    openedx_user::Column::UpdatedOn,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn record_synced(
    db: &impl ConnectionTrait,
    user_id: i64,
    edx_username: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    upsert(
        db,
        openedx_user::ActiveModel {
            user_id: Set(user_id),
            edx_username: Set(Some(edx_username.to_string())),
            has_been_synced: Set(true),
            sync_error: Set(None),
            updated_on: Set(now),
        },
    )
    .await
}

pub async fn record_error(
    db: &impl ConnectionTrait,
    user_id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    upsert(
        db,
        openedx_user::ActiveModel {
            user_id: Set(user_id),
            edx_username: Set(None),
            has_been_synced: Set(false),
            sync_error: Set(Some(error.to_string())),
            updated_on: Set(now),
        },
    )
    .await
}

/// Active users created before `now - grace` who are not in edX yet (the reference's
/// "faulty" users), for the repair job.
pub async fn unsynced_users(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<Vec<i64>, DbErr> {
    let synced: Vec<i64> = openedx_user::Entity::find()
        .filter(openedx_user::Column::HasBeenSynced.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::CreatedOn.lt(now - grace))
        .filter(user::Column::Id.is_not_in(synced))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// A learner's own edX API tokens and when the access token stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub access: String,
    pub refresh: String,
    pub expires_on: DateTime<Utc>,
}

pub async fn api_token(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<ApiToken>, DbErr> {
    one(
        db,
        "SELECT access_token, refresh_token, access_token_expires_on FROM openedx_api_auth WHERE user_id = $1",
        vec![user_id.into()],
    )
    .await?
    .map(|row| {
        Ok(ApiToken {
            access: row.try_get("", "access_token")?,
            refresh: row.try_get("", "refresh_token")?,
            expires_on: row.try_get("", "access_token_expires_on")?,
        })
    })
    .transpose()
}

pub async fn save_api_token(
    db: &impl ConnectionTrait,
    user_id: i64,
    token: &ApiToken,
) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO openedx_api_auth (user_id, access_token, refresh_token, access_token_expires_on) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET access_token = excluded.access_token, refresh_token = excluded.refresh_token, access_token_expires_on = excluded.access_token_expires_on",
        vec![user_id.into(), token.access.clone().into(), token.refresh.clone().into(), token.expires_on.into()],
    )
    .await
    .map(|_| ())
}

/// Drops tokens edX no longer honours, so the next use mints new ones.
pub async fn forget_api_token(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM openedx_api_auth WHERE user_id = $1",
        vec![user_id.into()],
    )
    .await
    .map(|_| ())
}

/// Our users behind these edX usernames (edX reports grades by its username).
pub async fn users_by_edx_username(
    db: &impl ConnectionTrait,
    usernames: &[String],
) -> Result<std::collections::HashMap<String, i64>, DbErr> {
    let mut found = std::collections::HashMap::new();
    for chunk in usernames.chunks(500) {
        let rows = openedx_user::Entity::find()
            .filter(openedx_user::Column::EdxUsername.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        for row in rows {
            if let Some(username) = row.edx_username {
                found.insert(username, row.user_id);
            }
        }
    }
    Ok(found)
}
