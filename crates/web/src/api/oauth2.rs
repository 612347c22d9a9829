//! The OAuth2 provider Open edX's social-auth signs learners in through: the
//! authorization-code flow (`/oauth2/authorize/`, `/oauth2/access_token/` with refresh) and
//! the user-info endpoint `/api/users/me`. Applications are registered with
//! `registrar admin oauth-app create`. Open edX is a first-party client, so a signed-in
//! learner is not asked to approve it (the references skip authorization for it too).

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;
use std::collections::HashMap;

use super::Params;
use crate::request::current_user;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize/", get(authorize))
        .route("/oauth2/access_token/", post(access_token))
        .route("/oauth2/access_token", post(access_token))
        .route("/api/users/me", get(me))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A failure of ours: logged once with its causes; the client is told `server_error`.
fn server_error(error: &(dyn std::error::Error + 'static)) -> Response {
    crate::error::log_unexpected(error);
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "try again",
    )
}

async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let client_id = params.get("client_id").unwrap_or_default();
    let Ok(Some(app)) = store::oauth2::find_application(state.store.db(), client_id).await else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    };
    let redirect_uri = params
        .get("redirect_uri")
        .map(str::to_string)
        .or_else(|| app.redirect_uris.first().cloned())
        .unwrap_or_default();
    // Never redirect anywhere the application did not register.
    if !app.redirect_uris.contains(&redirect_uri) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not registered for this client",
        );
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state_param = params
        .get("state")
        .map(|s| {
            format!(
                "&state={}",
                form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    if params.get("response_type") != Some("code") {
        return Redirect::to(&format!(
            "{redirect_uri}{separator}error=unsupported_response_type{state_param}"
        ))
        .into_response();
    }
    let Some(user) = current_user(&state, &headers).await else {
        let here = format!("/oauth2/authorize/?{}", query.unwrap_or_default());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Redirect::to(&format!("/signin?next={next}")).into_response();
    };
    match services::oauth2::authorize(&state.store, app.id, user.id, &redirect_uri, state.now())
        .await
    {
        Ok(code) => Redirect::to(&format!(
            "{redirect_uri}{separator}code={code}{state_param}"
        ))
        .into_response(),
        Err(error) => server_error(&error),
    }
}

/// Client credentials from the form or from HTTP Basic authentication.
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Some((id.clone(), secret.clone()));
    }
    let basic = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?,
    )
    .ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn access_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let db = state.store.db();
    let Some((client_id, secret)) = client_credentials(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client credentials are missing",
        );
    };
    let Ok(Some(app)) = store::oauth2::authenticate_client(db, &client_id, &secret).await else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    };
    let now = state.now();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let tokens = match get("grant_type") {
        "authorization_code" => {
            match services::oauth2::exchange_code(
                &state.store,
                app.id,
                get("code"),
                get("redirect_uri"),
                now,
            )
            .await
            {
                Ok(Some(tokens)) => tokens,
                Ok(None) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "the code is unknown, used, expired or for another redirect_uri",
                    );
                }
                Err(error) => return server_error(&error),
            }
        }
        "refresh_token" => {
            match services::oauth2::refresh(&state.store, app.id, get("refresh_token"), now).await {
                Ok(Some(tokens)) => tokens,
                Ok(None) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "the refresh token is unknown or was used",
                    );
                }
                Err(error) => return server_error(&error),
            }
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type {other:?} is not supported"),
            );
        }
    };
    Json(json!({
        "access_token": tokens.access,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in.num_seconds(),
        "refresh_token": tokens.refresh,
        "scope": "read write",
    }))
    .into_response()
}

/// The signed-in user as Open edX's OAuth backend reads it.
async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let db = state.store.db();
    let user = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        Some(token) => match store::oauth2::token_user(db, token.trim(), state.now()).await? {
            Some(id) => store::accounts::find(db, id).await?,
            None => None,
        },
        None => current_user(&state, &headers).await,
    }
    .filter(|u| u.is_active)
    .ok_or(ApiError::Unauthorized)?;
    let address = store::accounts::address(db, user.id)
        .await?
        .unwrap_or_default();
    Ok(Json(json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "legal_address": {"first_name": address.first_name, "last_name": address.last_name, "country": address.country, "state": address.state},
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "global_id": user.global_id,
        "created_on": user.created_on,
    }))
    .into_response())
}
