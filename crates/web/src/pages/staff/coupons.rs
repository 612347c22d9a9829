//! The staff coupon-request queue (the native side of xPRO's coupon request and assignment
//! sheets): a company's purchase order becomes a batch of enrollment codes; staff assign
//! codes to learners' emails here (or, for a request from the sheet, in its assignment
//! spreadsheet), and follow each code's message and redemption. The assignments are also
//! a CSV (`/api/bulk_assignments/{id}/` with a staff token).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::validate::FieldErrors;
use services::coupon_requests::{self, AssignError, RequestError, RequestForm};
use services::sheets::assignments::{self, SheetError};
use store::commerce::coupon_requests::{self as requests, CouponRequest, Source};

use super::{FormField, StaffMember, meta};
use crate::csv::csv_field;
use crate::error::PageError;
use crate::pages::{Flash, Meta, assets, render, text};
use crate::request::Params;
use crate::request::Staff;
use crate::{ApiError, AppState};

/// The request form's fields: (name, label).
const FORM: [(&str, &str); 8] = [
    ("name", "Coupon name (the batch, unique)"),
    ("purchase_order", "Purchase order"),
    ("company", "Company"),
    ("num_codes", "Number of codes"),
    (
        "product",
        "Product (run courseware id or program readable id)",
    ),
    ("activation", "Activation (YYYY-MM-DD, optional)"),
    ("expiration", "Expiration (YYYY-MM-DD, optional)"),
    ("requester", "Requested by (optional)"),
];

pub struct RequestLine {
    pub id: i64,
    pub name: String,
    pub company: String,
    pub product: String,
    pub codes: i32,
    pub source: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "staff/coupon_requests.html")]
struct ListPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    requests: Vec<RequestLine>,
    fields: Vec<FormField>,
    errors: FieldErrors,
}

async fn list_page(
    state: &AppState,
    who: String,
    values: &HashMap<String, String>,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let all = requests::list(state.store.db()).await?;
    let lines = all
        .into_iter()
        .map(|r| RequestLine {
            id: r.id,
            name: r.name,
            company: r.company,
            product: r.product_text_id,
            codes: r.num_codes,
            source: r.source,
            created: text::date(r.created_on),
        })
        .collect();
    let fields = FORM
        .iter()
        .map(|(name, label)| FormField {
            name,
            label,
            value: values.get(*name).cloned().unwrap_or_default(),
            options: Vec::new(),
            error: errors.get(name).map(|m| m.join("; ")),
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(
        status,
        &ListPage {
            meta: meta(
                state,
                "/staff/coupon-requests/",
                "Coupon requests",
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            requests: lines,
            fields,
            errors,
        },
    ))
}

pub async fn list(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    list_page(&state, who, &HashMap::new(), FieldErrors::default()).await
}

/// Creates a request from the staff queue: its codes at once, assigned on its page.
pub async fn create(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let form = RequestForm {
        purchase_order: get("purchase_order"),
        name: get("name"),
        num_codes: get("num_codes"),
        product: get("product"),
        company: get("company"),
        activation: get("activation"),
        expiration: get("expiration"),
        requester: get("requester"),
    };
    match coupon_requests::create(
        &state.store,
        &snapshot.view,
        &form,
        Source::Staff,
        state.now(),
    )
    .await
    {
        Ok(request) => {
            tracing::info!(staff = %who, request = request.id, codes = request.num_codes, "coupon request created");
            Ok(Redirect::to(&format!("/staff/coupon-requests/{}", request.id)).into_response())
        }
        Err(RequestError::Invalid(errors)) => list_page(&state, who, &values, errors).await,
        Err(RequestError::Db(error)) => Err(error.into()),
    }
}

pub struct CodeLine {
    pub discount_id: i64,
    pub code: String,
    pub email: String,
    pub status: String,
    pub status_date: String,
    pub enrolled_by: String,
    pub redeemed: bool,
    pub link: String,
}

#[derive(Template)]
#[template(path = "staff/coupon_request.html")]
struct DetailPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    request: CouponRequest,
    from_sheet: bool,
    sheet_title: String,
    sheets_configured: bool,
    window: String,
    codes: Vec<CodeLine>,
    assigned: usize,
    delivered: usize,
    enrolled: usize,
}

async fn find(state: &AppState, id: i64) -> Result<CouponRequest, PageError> {
    requests::find(state.store.db(), id)
        .await?
        .ok_or_else(|| PageError::not_found("There is no such coupon request."))
}

pub async fn detail(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let request = find(&state, id).await?;
    let codes = requests::codes(state.store.db(), &request).await?;
    let base = &state.settings.base_url;
    let lines: Vec<CodeLine> = codes
        .into_iter()
        .map(|c| {
            let a = c.assignment.as_ref();
            CodeLine {
                discount_id: c.discount_id,
                link: services::commerce::bulk::redeem_url(base, request.product_id, &c.code),
                code: c.code,
                email: a.map(|a| a.email.clone()).unwrap_or_default(),
                status: a.map(|a| a.status.clone()).unwrap_or_default(),
                status_date: a.map(|a| text::date(a.status_at)).unwrap_or_default(),
                enrolled_by: a
                    .and_then(|a| a.redeemed_by.clone().filter(|by| *by != a.email))
                    .unwrap_or_default(),
                redeemed: a.is_some_and(|a| a.redeemed_on.is_some()),
            }
        })
        .collect();
    let count = |statuses: &[&str]| {
        lines
            .iter()
            .filter(|l| statuses.contains(&l.status.as_str()))
            .count()
    };
    let (delivered, enrolled) = (
        count(&["delivered", "opened", "clicked", "enrolled"]),
        count(&["enrolled"]),
    );
    let assigned = lines.iter().filter(|l| !l.email.is_empty()).count();
    let mut page_meta = meta(
        &state,
        &format!("/staff/coupon-requests/{id}"),
        &format!("Coupon request {}", request.name),
        Some(who),
        false,
    );
    let params = Params::parse(query.as_deref());
    page_meta.flash = params
        .get("done")
        .map(|message| Flash {
            kind: "ok",
            message: message.to_string(),
        })
        .or_else(|| {
            params.get("error").map(|message| Flash {
                kind: "error",
                message: message.to_string(),
            })
        });
    let window = format!(
        "{} – {}",
        request
            .activation
            .map(text::date)
            .unwrap_or_else(|| "now".into()),
        request
            .expiration
            .map(text::date)
            .unwrap_or_else(|| "no end".into())
    );
    Ok(render(
        StatusCode::OK,
        &DetailPage {
            meta: page_meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            from_sheet: request.source == Source::Sheet.as_str(),
            sheet_title: assignments::title(&request),
            sheets_configured: state.settings.sheets.is_some(),
            window,
            request,
            codes: lines,
            assigned,
            delivered,
            enrolled,
        },
    ))
}

fn back(id: i64, key: &str, message: &str) -> Response {
    let message: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    Redirect::to(&format!("/staff/coupon-requests/{id}?{key}={message}")).into_response()
}

/// Assigns the codes of a staff request to the emails typed next to them (`email_<id>`;
/// blank takes an unredeemed code back).
pub async fn assign(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let request = find(&state, id).await?;
    if request.source == Source::Sheet.as_str() {
        return Ok(back(
            id,
            "error",
            "This request's codes are assigned in its spreadsheet.",
        ));
    }
    let snapshot = state.catalog.get().await?;
    let codes = requests::codes(state.store.db(), &request).await?;
    let wanted: HashMap<String, String> = codes
        .into_iter()
        .filter_map(|c| {
            let email = values.get(&format!("email_{}", c.discount_id))?.trim();
            (!email.is_empty()).then(|| (c.code, email.to_string()))
        })
        .collect();
    let assigned = coupon_requests::assign(
        &state.store,
        &snapshot.view,
        &state.settings.base_url,
        &request,
        &wanted,
        state.now(),
    )
    .await;
    match assigned {
        Ok(a) => {
            tracing::info!(staff = %who, request = id, ?a, "codes assigned");
            Ok(back(id, "done", &summary(&a)))
        }
        Err(AssignError::UnknownCode(code)) => Ok(back(
            id,
            "error",
            &format!("{code} is not a code of this request."),
        )),
        Err(AssignError::Db(error)) => Err(error.into()),
    }
}

fn summary(a: &coupon_requests::Assigned) -> String {
    format!(
        "{} assigned ({} to an invalid address, not mailed), {} taken back.",
        a.created, a.invalid, a.removed
    )
}

/// Reads a sheet request's assignment spreadsheet now, without waiting for Drive.
pub async fn process(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let Some(sheets) = state.settings.sheets.as_ref() else {
        return Ok(back(id, "error", "Google Sheets is not configured here."));
    };
    match assignments::process_sheet(&state.store, &state.settings.base_url, sheets, id).await {
        Ok(a) => {
            tracing::info!(staff = %who, request = id, ?a, "assignment spreadsheet processed");
            Ok(back(id, "done", &summary(&a)))
        }
        Err(SheetError::Db(error)) => Err(error.into()),
        Err(e) => Ok(back(id, "error", &e.to_string())),
    }
}

/// The request's assignments as CSV (xPRO `/api/bulk_assignments/<id>/`): email,
/// enrollment_url, coupon_code.
async fn assignments_csv(state: &AppState, id: i64) -> Result<Response, ApiError> {
    let db = state.store.db();
    let request = requests::find(db, id).await?.ok_or(ApiError::NotFound)?;
    let mut csv = String::from("email,enrollment_url,coupon_code\n");
    for code in requests::codes(db, &request).await? {
        let Some(a) = code.assignment else {
            continue;
        };
        let url = services::commerce::bulk::redeem_url(
            &state.settings.base_url,
            request.product_id,
            &code.code,
        );
        csv.push_str(&format!(
            "{},{},{}\n",
            csv_field(&a.email),
            csv_field(&url),
            csv_field(&code.code)
        ));
    }
    let name: String = request.name.chars().take(20).collect();
    // A header value: printable ASCII only, nothing that ends the quoted name.
    let filename: String = format!("Bulk Assign {name} {}.csv", state.now().format("%Y-%m-%d"))
        .chars()
        .filter(|c| (c.is_ascii_graphic() || *c == ' ') && !matches!(c, '"' | '\\'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

pub async fn csv_for_staff_page(
    State(state): State<AppState>,
    _staff: StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    assignments_csv(&state, id).await
}

pub async fn csv_api(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    assignments_csv(&state, id).await
}
