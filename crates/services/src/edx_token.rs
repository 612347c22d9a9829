//! Each learner's own edX API token (reference `get_valid_edx_api_auth`): used while it has
//! more than a minute left, refreshed when it has not, and minted afresh by the sign-in
//! handshake when there is none or edX no longer honours the refresh token.

use chrono::{Duration, Utc};
use integrations::openedx::{EdxError, OpenEdx, SiteSession, UserToken};
use jobs::JobError;
use store::openedx::ApiToken;

use crate::Context;
use crate::openedx::edx_outcome;

/// How long a stored access token must still be valid to be used (reference ttl, 60 s).
const MIN_TTL: Duration = Duration::seconds(60);
/// Taken off edX's stated lifetime, for the time the answer took to arrive (reference 10 s).
const EXPIRY_MARGIN: Duration = Duration::seconds(10);
/// The session the handshake signs in with lives only as long as the handshake.
const HANDSHAKE_SESSION: Duration = Duration::minutes(5);

async fn keep(ctx: &Context, user_id: i64, token: UserToken) -> Result<String, JobError> {
    let stored = ApiToken {
        expires_on: Utc::now() + Duration::seconds(token.expires_in) - EXPIRY_MARGIN,
        access: token.access_token,
        refresh: token.refresh_token,
    };
    store::openedx::save_api_token(ctx.store.db(), user_id, &stored).await?;
    Ok(stored.access)
}

async fn mint(ctx: &Context, edx: &OpenEdx, user_id: i64) -> Result<String, JobError> {
    let db = ctx.store.db();
    let session =
        store::accounts::start_session(db, user_id, HANDSHAKE_SESSION, Utc::now()).await?;
    let minted = edx
        .mint_user_token(&SiteSession {
            site_url: &ctx.site_url,
            cookie_name: store::accounts::SESSION_COOKIE,
            cookie_value: &session,
        })
        .await;
    store::accounts::end_session(db, &session).await?;
    tracing::info!(user = user_id, ok = minted.is_ok(), "edX API token minted");
    keep(ctx, user_id, minted.map_err(edx_outcome)?).await
}

/// A usable access token for the learner, whose edX account must exist.
pub(crate) async fn user_token(
    ctx: &Context,
    edx: &OpenEdx,
    user_id: i64,
) -> Result<String, JobError> {
    let db = ctx.store.db();
    if let Some(stored) = store::openedx::api_token(db, user_id).await? {
        if stored.expires_on > Utc::now() + MIN_TTL {
            return Ok(stored.access);
        }
        match edx
            .refresh_user_token(&stored.refresh)
            .await
            .map_err(edx_outcome)?
        {
            Some(fresh) => return keep(ctx, user_id, fresh).await,
            None => {
                tracing::info!(
                    user = user_id,
                    "edX refused the refresh token; minting anew"
                );
                store::openedx::forget_api_token(db, user_id).await?;
            }
        }
    }
    mint(ctx, edx, user_id).await
}

/// Makes one call with the learner's token. A token edX turns away is forgotten and the
/// job retried, so the next attempt mints a new one.
pub(crate) async fn with_user_token<F, Fut>(
    ctx: &Context,
    edx: &OpenEdx,
    user_id: i64,
    call: F,
) -> Result<(), JobError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), EdxError>>,
{
    let token = user_token(ctx, edx, user_id).await?;
    match call(token).await {
        Err(EdxError::Unauthorized(message)) => {
            store::openedx::forget_api_token(ctx.store.db(), user_id).await?;
            Err(JobError::Retry(format!(
                "edX turned the learner's token away: {message}"
            )))
        }
        outcome => outcome.map_err(edx_outcome),
    }
}
