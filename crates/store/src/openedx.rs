//! Open edX provisioning records: which of our users exist in edX and under which username.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use crate::entity::{openedx_user, user};

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
