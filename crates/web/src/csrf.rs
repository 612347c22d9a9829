//! CSRF protection for every unsafe form post outside the JSON APIs: a random token in a
//! `SameSite=Strict` cookie that each form repeats in a hidden `csrf` field (double submit).
//! A post whose field is missing or differs is refused with 403 before its handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub const COOKIE: &str = "registrar_csrf";
/// Forms are small; anything larger is not a form of ours.
const FORM_LIMIT: usize = 256 * 1024;

tokio::task_local! {
    /// The token of the request being handled, so every page's forms can carry it without
    /// each handler passing it along.
    static TOKEN: String;
}

/// The CSRF token for forms rendered while handling the current request.
pub fn current() -> String {
    TOKEN.try_with(Clone::clone).unwrap_or_default()
}

pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Whether a cookie-session API call repeats the CSRF cookie in `X-CSRFToken`, as the
/// references' Django REST views require of browser calls.
pub fn header_matches_cookie(headers: &axum::http::HeaderMap) -> bool {
    let sent = headers.get("x-csrftoken").and_then(|v| v.to_str().ok());
    match (cookie_value(headers, COOKIE), sent) {
        (Some(cookie), Some(sent)) => {
            cookie.len() == 64 && constant_time_eq(cookie.as_bytes(), sent.as_bytes())
        }
        _ => false,
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn guarded(method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        // JSON APIs authenticate with bearer tokens or signatures, not cookies.
        && !path.starts_with("/api/")
        // OAuth2 token requests come from Open edX's server with client credentials.
        && !path.starts_with("/oauth2/access_token")
        // CyberSource's signed result, carried cross-site by the browser: its signature
        // is its proof, checked before anything is done with it.
        && path != "/checkout/result/"
}

pub async fn protect(request: Request, next: Next) -> Response {
    let existing = cookie_value(request.headers(), COOKIE).filter(|t| t.len() == 64);
    let token = existing.clone().unwrap_or_else(store::secret::new_token);
    let (parts, body) = request.into_parts();
    let body = if guarded(&parts.method, parts.uri.path()) {
        let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
        };
        let sent = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned());
        let valid = match (&existing, sent) {
            (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
            _ => false,
        };
        if !valid {
            tracing::warn!(path = %parts.uri.path(), "form post without a valid CSRF token refused");
            return (
                StatusCode::FORBIDDEN,
                axum::response::Html("<h1>Not allowed</h1><p>This form expired or came from another site. Go back, reload the page and try again.</p>"),
            )
                .into_response();
        }
        Body::from(bytes)
    } else {
        body
    };
    let mut response = TOKEN
        .scope(token.clone(), next.run(Request::from_parts(parts, body)))
        .await;
    if existing.is_none()
        && let Ok(value) = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict").parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
