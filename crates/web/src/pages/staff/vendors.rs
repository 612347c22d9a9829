//! External vendor catalogs for staff (xPRO §7): each vendor's sync setting (its platform's
//! `enable_sync`), "sync now", the courses and runs the sync keeps, and the vendor's raw
//! report rows (also `GET /api/external_courses/{vendor}/` with a staff token).

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use domain::catalog::vendors::Vendor;
use serde::Deserialize;
use serde_json::json;

use super::{StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render, text};
use crate::request::Staff;

pub struct VendorRun {
    pub courseware_id: String,
    pub dates: String,
    pub live: bool,
    pub price: String,
}

pub struct VendorCourse {
    pub readable_id: String,
    pub title: String,
    pub link: String,
    pub runs: Vec<VendorRun>,
}

pub struct VendorSection {
    pub name: &'static str,
    pub slug: &'static str,
    pub enabled: bool,
    pub courses: Vec<VendorCourse>,
}

#[derive(Template)]
#[template(path = "staff/vendors.html")]
struct VendorsPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    configured: bool,
    queued: Option<String>,
    vendors: Vec<VendorSection>,
}

pub async fn page(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let platforms = store::catalog::vocabulary::platforms(state.store.db()).await?;
    let view = &snapshot.view;
    let vendors = Vendor::ALL
        .into_iter()
        .map(|vendor| VendorSection {
            name: vendor.platform(),
            slug: vendor.slug(),
            enabled: vendor.enabled(&platforms),
            courses: view
                .courses
                .iter()
                .filter(|c| c.is_external && vendor.owns(c.platform.as_deref()))
                .map(|c| VendorCourse {
                    readable_id: c.readable_id.clone(),
                    title: c.title.clone(),
                    link: c
                        .page
                        .as_ref()
                        .and_then(|p| p.external_marketing_url.clone())
                        .unwrap_or_default(),
                    runs: c
                        .runs
                        .iter()
                        .map(|r| VendorRun {
                            courseware_id: r.courseware_id.clone(),
                            dates: format!(
                                "{} – {}",
                                r.window.start.map(text::date).unwrap_or_default(),
                                r.window.end.map(text::date).unwrap_or_default()
                            ),
                            live: r.window.live,
                            price: text::price(
                                r.product
                                    .as_ref()
                                    .filter(|p| p.is_active)
                                    .and_then(|p| p.price()),
                            ),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let queued = query
        .as_deref()
        .and_then(|q| q.strip_prefix("queued="))
        .and_then(Vendor::from_slug)
        .map(|v| v.platform().to_string());
    Ok(render(
        StatusCode::OK,
        &VendorsPage {
            meta: meta(
                &state,
                "/staff/vendors/",
                "External vendor catalogs",
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            configured: state.settings.vendors.is_some(),
            queued,
            vendors,
        },
    ))
}

#[derive(Deserialize)]
pub struct Setting {
    enabled: String,
}

/// A staff action on the vendor a path names: 404 for an unknown one, then back to the
/// page the action answers (or the error page).
async fn on_vendor<F, Fut>(who: &str, slug: &str, what: &str, act: F) -> Result<Response, PageError>
where
    F: FnOnce(Vendor) -> Fut,
    Fut: std::future::Future<Output = Result<String, sea_orm::DbErr>>,
{
    let Some(vendor) = Vendor::from_slug(slug) else {
        return Err(PageError::not_found("There is no such vendor."));
    };
    let to = act(vendor).await?;
    tracing::info!(staff = %who, vendor = vendor.platform(), what, "vendor action");
    Ok(Redirect::to(&to).into_response())
}

/// Turns a vendor's daily sync on or off.
pub async fn set_sync(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(slug): Path<String>,
    Form(setting): Form<Setting>,
) -> Result<Response, PageError> {
    let enabled = setting.enabled == "yes";
    let store = &state.store;
    on_vendor(
        &who,
        &slug,
        if enabled { "sync on" } else { "sync off" },
        |vendor| async move {
            services::vendors::set_sync(store, vendor, enabled).await?;
            Ok("/staff/vendors/".to_string())
        },
    )
    .await
}

/// Queues a sync of one vendor now, whatever its setting.
pub async fn sync_now(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let store = &state.store;
    on_vendor(&who, &slug, "sync queued", |vendor| async move {
        services::vendors::sync_now(store, vendor).await?;
        Ok(format!("/staff/vendors/?queued={}", vendor.slug()))
    })
    .await
}

/// The vendor's report rows as it sends them (xPRO `/api/external_courses/<vendor>/`):
/// 400 for an unknown vendor, 503 when no report API is configured, 502 with the error when
/// the vendor's API cannot be read (xPRO answers 500 for both: it is the peer, not us).
async fn report(state: &AppState, slug: &str) -> Response {
    let Some(vendor) = Vendor::from_slug(slug) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("Invalid vendor name {slug}.")})),
        )
            .into_response();
    };
    let Some(sync) = state.settings.vendors.as_ref() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "Some error occurred.", "details": "no vendor report API is configured"})),
        )
            .into_response();
    };
    match sync.reports.rows(vendor.reports(), state.now()).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": "Some error occurred.", "details": e.to_string()})),
        )
            .into_response(),
    }
}

pub async fn report_for_staff_page(
    State(state): State<AppState>,
    _staff: StaffMember,
    Path(slug): Path<String>,
) -> Response {
    report(&state, &slug).await
}

pub async fn report_api(
    State(state): State<AppState>,
    _staff: Staff,
    Path(slug): Path<String>,
) -> Response {
    report(&state, &slug).await
}
