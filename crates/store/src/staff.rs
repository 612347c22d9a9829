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
