//! Input the database would refuse is refused at the edge, once, for every route: a NUL
//! character (PostgreSQL cannot store one in text; SQLite would, so the two backends would
//! answer differently) in the path, a query parameter, a form field or a JSON string gets a
//! 400 naming where it was, before any handler runs. The path is also refused with any other
//! control character. Bodies are read whole for this only when they are forms or JSON, up to
//! the size the extractors accept anyway. The one exception is a payment result's body
//! (`/checkout/result/`, `/api/checkout/result/`): every post there is kept, so one with a
//! NUL is recorded (escaped) and refused by its signature, not turned away unseen.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::catalog::validate::FieldErrors;

use crate::AppState;
use crate::error::ApiError;

/// Where CyberSource posts results (see the module's doc).
const PAYMENT_RESULTS: [&str; 2] = ["/checkout/result/", "/api/checkout/result/"];

/// What axum's `Form` and `Json` extractors accept (their default limit).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Where in a request a character that cannot be stored was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The path, with a control character.
    Path,
    /// A query parameter or form field, by name.
    Field(String),
    /// A JSON value, by its path (`items[0].name`).
    Json(String),
    /// A form or JSON body over the limit.
    TooLarge,
}

impl Refusal {
    fn sentence(&self) -> String {
        match self {
            Refusal::Path => {
                "The address (its path) contains a control character; remove it and try again."
                    .into()
            }
            Refusal::Field(name) | Refusal::Json(name) => {
                format!("The field {name} contains a NUL character, which cannot be stored.")
            }
            Refusal::TooLarge => format!(
                "The request body is larger than {} MiB.",
                BODY_LIMIT / 1024 / 1024
            ),
        }
    }

    fn field(&self) -> &str {
        match self {
            Refusal::Field(name) | Refusal::Json(name) => name,
            Refusal::Path => "path",
            Refusal::TooLarge => "body",
        }
    }
}

/// Shown as `name`, with any control character in the name itself spelled out.
fn printable(name: &str) -> String {
    name.chars().flat_map(char::escape_debug).collect()
}

/// The first query parameter or form field holding a NUL, by name.
pub fn in_form(encoded: &[u8]) -> Option<Refusal> {
    form_urlencoded::parse(encoded)
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| Refusal::Field(printable(&k)))
}

/// The first JSON string (or key) holding a NUL, by its path.
pub fn in_json(value: &serde_json::Value, at: &str) -> Option<Refusal> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(Refusal::Json(if at.is_empty() {
            "body".into()
        } else {
            at.into()
        })),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| in_json(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                printable(k)
            } else {
                format!("{at}.{}", printable(k))
            };
            if k.contains('\0') {
                Some(Refusal::Json(path))
            } else {
                in_json(v, &path)
            }
        }),
        _ => None,
    }
}

/// Whether a decoded path holds a control character (or is not UTF-8 once decoded).
fn path_refused(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8();
    match decoded {
        Ok(p) => p.chars().any(char::is_control),
        Err(_) => true,
    }
}

enum Kind {
    Form,
    Json,
    /// Binary content (uploads): passed as it is.
    Binary,
    /// Anything else (text, no content type): some handlers read any body as JSON, so it
    /// is checked as JSON when it parses as JSON, and for a raw NUL byte.
    Other,
}

fn kind(request: &Request) -> Kind {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        Kind::Form
    } else if content_type.starts_with("application/json") || content_type.contains("+json") {
        Kind::Json
    } else if [
        "multipart/",
        "image/",
        "audio/",
        "video/",
        "application/octet-stream",
        "application/pdf",
    ]
    .iter()
    .any(|binary| content_type.starts_with(binary))
    {
        Kind::Binary
    } else {
        Kind::Other
    }
}

fn refuse(state: &AppState, path: &str, refusal: &Refusal) -> Response {
    tracing::info!(path = %printable(path), field = refusal.field(), "input refused at the edge");
    let status = match refusal {
        Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    if path.starts_with("/api/") || path.starts_with("/oauth2/") {
        let mut errors = FieldErrors::default();
        errors.add(refusal.field(), refusal.sentence());
        let mut response = ApiError::Invalid(errors).into_response();
        *response.status_mut() = status;
        response
    } else {
        crate::pages::error_page(state, status, Some(refusal.sentence()))
    }
}

pub async fn refuse_unstorable(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if path_refused(&path) {
        return refuse(&state, &path, &Refusal::Path);
    }
    if let Some(refusal) = request.uri().query().and_then(|q| in_form(q.as_bytes())) {
        return refuse(&state, &path, &refusal);
    }
    let kind = kind(&request);
    if matches!(kind, Kind::Binary) || PAYMENT_RESULTS.contains(&path.as_str()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return refuse(&state, &path, &Refusal::TooLarge);
    };
    let found = match kind {
        Kind::Form => in_form(&bytes),
        // A body that is not JSON is left to its handler, which says why.
        Kind::Json => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| in_json(&v, "")),
        Kind::Other => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => in_json(&v, ""),
            Err(_) => bytes.contains(&0).then(|| Refusal::Json("body".into())),
        },
        Kind::Binary => None,
    };
    if let Some(refusal) = found {
        return refuse(&state, &path, &refusal);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_and_named_wherever_it_is() {
        assert_eq!(
            in_form(b"a=1&email=x%00y"),
            Some(Refusal::Field("email".into()))
        );
        assert_eq!(in_form(b"a=1&b=%0A"), None, "a newline is text");
        assert_eq!(
            in_form(b"na%00me=1"),
            Some(Refusal::Field("na\\0me".into()))
        );
        let json: serde_json::Value =
            serde_json::from_str(r#"{"items":[{"name":"ok"},{"name":"x\u0000"}]}"#).unwrap();
        assert_eq!(
            in_json(&json, ""),
            Some(Refusal::Json("items[1].name".into()))
        );
        let escaped: serde_json::Value = serde_json::from_str(r#"{"a":"\\u0000"}"#).unwrap();
        assert_eq!(
            in_json(&escaped, ""),
            None,
            "a backslash and text is not NUL"
        );
        assert!(path_refused("/courses/x%00y/"));
        assert!(path_refused("/a%09b"));
        assert!(path_refused("/a%ffb"));
        assert!(!path_refused("/courses/course-v1:MITx+1.00x/"));
    }
}
