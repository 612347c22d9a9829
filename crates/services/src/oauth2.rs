//! Registrar as an OAuth2 provider (Open edX signs learners in with it): authorization
//! codes and the tokens they are exchanged for.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use store::Store;
use store::oauth2::{self, Tokens};

/// Issues an authorization code for a signed-in learner and an application.
pub async fn authorize(
    store: &Store,
    app_id: i64,
    user_id: i64,
    redirect_uri: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    oauth2::issue_code(store.db(), app_id, user_id, redirect_uri, now).await
}

/// Exchanges an authorization code for tokens, in one transaction: the code is used up
/// only when its tokens are issued. `None` for a code that is unknown, used, expired or
/// for another redirect URI.
pub async fn exchange_code(
    store: &Store,
    app_id: i64,
    code: &str,
    redirect_uri: &str,
    now: DateTime<Utc>,
) -> Result<Option<Tokens>, DbErr> {
    let txn = store.write().await?;
    let Some(user_id) = oauth2::use_code(&txn, app_id, code, redirect_uri, now).await? else {
        return Ok(None);
    };
    let tokens = oauth2::issue_tokens(&txn, app_id, user_id, now).await?;
    txn.commit().await?;
    Ok(Some(tokens))
}

/// New tokens for a refresh token (used up); `None` for one unknown or used.
pub async fn refresh(
    store: &Store,
    app_id: i64,
    refresh_token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Tokens>, DbErr> {
    let txn = store.write().await?;
    let tokens = oauth2::refresh(&txn, app_id, refresh_token, now).await?;
    txn.commit().await?;
    Ok(tokens)
}
