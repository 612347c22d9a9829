//! JSON APIs. The catalog dialects read the cached catalog view and compute every derived
//! value (enrollable, next run, current price) against the request's instant.

pub mod b2b;
pub mod baskets;
pub mod coupons;
pub mod discounts;
pub mod enrollments;
pub mod flows;
pub mod jobs;
pub mod mail_events;
pub mod mitxonline;
pub mod oauth2;
pub mod openedx_webhooks;
pub mod orders;
pub mod products;
pub mod program_enrollments;
pub mod schema;
pub mod sheets;
pub mod staff;
pub mod xpro;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

use axum::http::Uri;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use store::catalog::read::CatalogView;

pub use crate::csv::csv_field;
pub use crate::request::Params;
use crate::{ApiError, AppState};

/// A JSON request body as `T`; a body that is not one is a 400 saying why.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

/// UTC with a `Z`, as DRF renders datetimes.
pub fn utc<S: Serializer>(value: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

/// DRF's page-number pagination: `page` from 1, `page_size` up to a maximum.
pub struct Page {
    pub number: usize,
    pub size: usize,
}

impl Page {
    pub fn from(params: &Params, default: usize, max: usize) -> Result<Self, ApiError> {
        let number = match params.get("page") {
            None => 1,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(ApiError::NotFound)?,
        };
        let size = match params.number("page_size")? {
            Some(n) if n >= 1 => (n as usize).min(max),
            _ => default,
        };
        Ok(Self { number, size })
    }
}

/// `{count, next, previous, results}` with absolute links that keep the caller's filters.
/// Only the requested page's items are rendered.
pub fn paginate<T>(
    items: &[T],
    page: &Page,
    params: &Params,
    url: &str,
    render: impl Fn(&T) -> serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let count = items.len();
    let start = (page.number - 1) * page.size;
    if start >= count && page.number > 1 {
        return Err(ApiError::NotFound);
    }
    let link = |query: String| {
        if query.is_empty() {
            url.to_string()
        } else {
            format!("{url}?{query}")
        }
    };
    let next = (start + page.size < count)
        .then(|| link(params.with("page", Some((page.number + 1).to_string()))));
    let previous = (page.number > 1).then(|| {
        link(params.with(
            "page",
            (page.number > 2).then(|| (page.number - 1).to_string()),
        ))
    });
    let results: Vec<serde_json::Value> = items
        .iter()
        .skip(start)
        .take(page.size)
        .map(render)
        .collect();
    Ok(serde_json::json!({
        "count": count,
        "next": next,
        "previous": previous,
        "results": results,
    }))
}

/// A JSON body for `uri` rendered from the current catalog at the request's instant, reused
/// from the render cache when nothing it depends on has changed.
pub async fn catalog_json(
    state: &AppState,
    uri: &Uri,
    render: impl FnOnce(&CatalogView, DateTime<Utc>) -> Result<serde_json::Value, ApiError>,
) -> Result<Response, ApiError> {
    let snapshot = state.catalog.get().await?;
    let now = state.now();
    let request = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let body = snapshot.render(now, request, |view| {
        render(view, now).map(|value| serde_json::to_vec(&value).expect("a JSON value serialises"))
    })?;
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// A price as a JSON number (`999.0`), the way DRF encodes a Decimal property.
pub fn price_number(money: Option<domain::Money>) -> Option<f64> {
    money.map(domain::Money::as_f64)
}
