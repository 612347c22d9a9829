//! The staff area (`/staff`): what every staff page shares (the `StaffMember` extractor,
//! the same-origin check, the page frame), the home page and sign-in and out, and one
//! module per area: catalog editing (courses, programs), users, jobs and data flows,
//! discounts, orders and refunds, coupon requests, enrollment-code sheets, mail and vendors.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{Flash, Meta, assets, error_page, render};
use crate::AppState;
use crate::error::PageError;

mod catalog;
pub(super) mod code_sheets;
pub(super) mod coupons;
pub(super) mod courses;
pub(super) mod discounts;
pub(super) mod jobs;
pub(super) mod mail;
pub(super) mod orders;
pub(super) mod programs;
pub(super) mod users;
pub(super) mod vendors;

pub(crate) use crate::request::{STAFF_COOKIE as COOKIE, StaffMember, same_origin, staff};

fn meta(state: &AppState, path: &str, title: &str, who: Option<String>, saved: bool) -> Meta {
    let mut meta = Meta::new(state, path, title, "Registrar staff area");
    meta.signed_in = who;
    if saved {
        meta.flash = Some(Flash {
            kind: "ok",
            message: "Saved.".to_string(),
        });
    }
    meta
}

#[derive(Template)]
#[template(path = "staff/signin.html")]
struct SignIn {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/home.html")]
struct Home {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    courses: usize,
    runs: usize,
    programs: usize,
    dead: i64,
    /// Orders and bulk purchases flagged for a person.
    attention: i64,
}

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(who) = staff(&state, &headers).await? else {
        return Ok(render(
            StatusCode::OK,
            &SignIn {
                meta: meta(&state, "/staff/", "Staff sign-in", None, false),
                asset_css: assets::CSS,
                asset_htmx: assets::HTMX,
                error: None,
            },
        ));
    };
    let snapshot = state.catalog.get().await?;
    let dead = match ::jobs::admin::list(state.store.db(), Some("dead"), None, 10_000).await {
        Ok(jobs) => jobs.len() as i64,
        Err(error) => {
            tracing::error!(%error, "counting dead jobs failed");
            0
        }
    };
    let attention = match store::commerce::orders::flagged_count(state.store.db()).await {
        Ok(n) => n,
        Err(error) => {
            tracing::error!(%error, "counting flagged orders failed");
            0
        }
    };
    let view = &snapshot.view;
    Ok(render(
        StatusCode::OK,
        &Home {
            attention,
            meta: meta(&state, "/staff/", "Staff", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            courses: view.courses.iter().filter(|c| !c.placeholder).count(),
            runs: view.courses.iter().map(|c| c.runs.len()).sum(),
            programs: view.programs.len(),
            dead,
        },
    ))
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Refused(StatusCode::FORBIDDEN, None));
    }
    let token = form
        .get("token")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let signed_in = services::accounts::staff_sign_in(&state.store, &token, state.now()).await?;
    let Some((email, session)) = signed_in else {
        return Ok(render(
            StatusCode::BAD_REQUEST,
            &SignIn {
                meta: meta(&state, "/staff/", "Staff sign-in", None, false),
                asset_css: assets::CSS,
                asset_htmx: assets::HTMX,
                error: Some("That token is not a staff token.".to_string()),
            },
        ));
    };
    tracing::info!(staff = %email, "staff signed in");
    let secure = if state.settings.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // A session of its own that expires, never the long-lived token itself.
    Ok((
        [(
            header::SET_COOKIE,
            format!(
                "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                services::accounts::STAFF_SESSION.num_seconds()
            ),
        )],
        Redirect::to("/staff/"),
    )
        .into_response())
}

/// Ends the staff token session and, for staff signed in with their account, that
/// session too, so signing out of the staff area leaves nobody signed in.
pub async fn sign_out(state: State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return error_page(&state, StatusCode::FORBIDDEN, None);
    }
    if let Some(session) = crate::csrf::cookie_value(&headers, COOKIE)
        && let Err(error) =
            services::accounts::staff_sign_out(&state.store, &session, state.now()).await
    {
        tracing::error!(%error, "ending a staff session failed");
    }
    let mut response = crate::pages::account::signout(state, headers).await;
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("a valid cookie header"),
    );
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_static("/staff/"),
    );
    response
}

/// A field of a staff form laid out from a list (discounts, coupon requests).
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub options: Vec<&'static str>,
    pub error: Option<String>,
}
