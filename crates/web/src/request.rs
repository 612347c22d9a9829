//! What the APIs and the pages both read from a request: who is asking (the signed-in
//! learner, with or without the CSRF token; staff by token or by session) and its query
//! parameters. Both `api` and `pages` import from here, never from each other.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use store::accounts::{self, SESSION_COOKIE, User};

use crate::csrf::{self, cookie_value};
use crate::error::PageError;
use crate::{ApiError, AppState};

/// The staff-area session cookie.
pub(crate) const STAFF_COOKIE: &str = "registrar_staff";

/// Query parameters with repeats kept (`?id=1&id=2`).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            map.entry(key.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.last()).map(String::as_str)
    }

    /// A boolean filter; DRF accepts `True`/`true`/`1` and `False`/`false`/`0`.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(ApiError::BadRequest(format!(
                    "{key}: \"{v}\" is not a boolean (use true or false)"
                ))),
            },
        }
    }

    /// Numeric ids, from repeats and comma lists (`?id=1,2&id=3`).
    pub fn ids(&self, key: &str) -> Result<Option<Vec<i64>>, ApiError> {
        let Some(values) = self.0.get(key) else {
            return Ok(None);
        };
        let mut ids = Vec::new();
        for part in values
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|p| !p.trim().is_empty())
        {
            ids.push(part.trim().parse().map_err(|_| {
                ApiError::BadRequest(format!("{key}: \"{part}\" is not a whole number"))
            })?);
        }
        Ok(Some(ids))
    }

    pub fn number(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::BadRequest(format!("{key}: \"{v}\" is not a whole number"))
                })
            })
            .transpose()
    }

    /// The query string with `key` set to `value` (or removed), other parameters kept.
    pub fn with(&self, key: &str, value: Option<String>) -> String {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        let mut out = form_urlencoded::Serializer::new(String::new());
        for k in keys {
            if k != key {
                for v in &self.0[k] {
                    out.append_pair(k, v);
                }
            }
        }
        if let Some(value) = value {
            out.append_pair(key, &value);
        }
        out.finish()
    }
}

/// The signed-in learner, if any.
pub async fn current_user(state: &AppState, headers: &HeaderMap) -> Option<User> {
    if let Some(user) = crate::gateway::current() {
        return Some(user);
    }
    let id = cookie_value(headers, SESSION_COOKIE)?;
    accounts::session_user(state.store.db(), &id, state.now())
        .await
        .ok()
        .flatten()
}

/// The signed-in learner making a state-changing call, which must carry the CSRF token.
pub(crate) async fn learner_with_csrf(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let user = current_user(state, headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    if !csrf::header_matches_cookie(headers) {
        return Err(ApiError::Forbidden(
            "CSRF token missing or incorrect.".to_string(),
        ));
    }
    Ok(user)
}

/// The signed-in learner making a call that changes something although its method is GET
/// (MITx Online's `GET /api/v0/baskets/checkout/` creates orders): it must carry the CSRF
/// token, or be a fetch the browser marks as from this site (`Sec-Fetch-Site: same-origin`,
/// which a page elsewhere cannot set), so a link or image on another site does nothing.
pub(crate) async fn learner_same_site(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let same_origin = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin");
    if same_origin {
        return current_user(state, headers)
            .await
            .ok_or(ApiError::Unauthorized);
    }
    learner_with_csrf(state, headers).await
}

/// A request carrying a valid staff token (`Authorization: Bearer <token>`).
pub struct Staff {
    pub email: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        store::staff::authenticate(state.store.db(), token.trim())
            .await?
            .map(|email| Staff { email })
            .ok_or(ApiError::Unauthorized)
    }
}

/// A signed-in staff member (their email): by a staff session, or a learner account marked
/// staff (`registrar admin grant-staff`); anyone else is sent to the sign-in page. Every
/// staff change (any method but GET and HEAD) must also come from this site's own pages
/// (its `Origin`, when the browser sends one, names this host), on top of the CSRF token.
pub struct StaffMember(pub String);

impl axum::extract::FromRequestParts<AppState> for StaffMember {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let changes = !matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if changes && !same_origin(&parts.headers) {
            tracing::warn!(path = %parts.uri.path(), "a staff change from another site was refused");
            return Err(PageError::forbidden(
                "Staff changes are made from the staff pages of this site only.",
            )
            .into_response());
        }
        match staff(state, &parts.headers).await {
            Ok(Some(email)) => Ok(StaffMember(email)),
            Ok(None) => Err(Redirect::to("/staff/").into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
}

/// The staff member the request comes from, if it comes from one.
pub(crate) async fn staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<String>, PageError> {
    if let Some(session) = crate::csrf::cookie_value(headers, STAFF_COOKIE)
        && let Some(email) =
            store::staff::session_email(state.store.db(), &session, state.now()).await?
    {
        return Ok(Some(email));
    }
    let user = current_user(state, headers).await;
    Ok(user.filter(|u| u.is_staff).map(|u| u.email))
}

/// Cross-site form posts are refused: the cookie is SameSite=Strict, and a browser's
/// `Origin` must name this host.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin.split_once("://").map(|(_, rest)| rest) == Some(host)
}

/// The buyer's country for tax: located by address when a rate is set there, else their
/// legal address (see `services::commerce::tax_country`).
pub(crate) async fn country(
    state: &AppState,
    user: Option<&User>,
    client_ip: Option<IpAddr>,
) -> Option<String> {
    let db = state.store.db();
    let profile = store::accounts::address(db, user?.id)
        .await
        .ok()
        .flatten()
        .map(|a| a.country);
    services::commerce::tax_country(db, client_ip, profile.as_deref())
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the tax country could not be found; using the legal address");
            profile
        })
}
