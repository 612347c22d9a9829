//! Server-rendered pages (askama templates, assets embedded in the binary): the learner
//! catalog, course and program pages, and the frame they share.

pub mod account;
mod assets;
mod bulk;
mod catalog;
pub(crate) mod certificates;
mod detail;
pub mod shop;
mod staff;
mod text;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;

pub use assets::ASSET_ROUTE;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::permanent("/catalog/") }),
        )
        .route("/catalog/", get(catalog::page))
        .route("/certificate/{uuid}/", get(certificates::course))
        .route("/certificate/{uuid}", get(certificates::course))
        .route("/certificate/program/{uuid}/", get(certificates::program))
        .route("/certificate/program/{uuid}", get(certificates::program))
        .route("/courses/{readable_id}/", get(detail::course))
        .route("/programs/{readable_id}/", get(detail::program))
        .route(ASSET_ROUTE, get(assets::serve))
        .route(
            "/signup",
            get(account::signup::signup_form).post(account::signup::signup),
        )
        .route("/verify/{token}", get(account::signup::verify))
        .route(
            "/signin",
            get(account::signin::signin_form).post(account::signin::signin),
        )
        .route("/signout", post(account::signin::signout))
        .route(
            "/reset",
            get(account::signin::reset_form).post(account::signin::reset_request),
        )
        .route(
            "/reset/{token}",
            get(account::signin::new_password_form).post(account::signin::new_password),
        )
        .route(
            "/change-email/{token}",
            get(account::profile::confirm_email),
        )
        .route("/dashboard", get(account::dashboard::dashboard))
        .route("/enroll", post(account::dashboard::enroll))
        .route("/unenroll/{id}", post(account::dashboard::unenroll))
        .route(
            "/enrollments/{id}/emails",
            post(account::dashboard::course_emails),
        )
        .route(
            "/profile",
            get(account::profile::profile_form).post(account::profile::profile),
        )
        .route("/cart/", get(shop::cart))
        .route("/ecommerce/bulk/", get(bulk::form).post(bulk::buy))
        .route("/ecommerce/bulk/receipt/", get(bulk::receipt))
        .route("/redeem/", get(bulk::redeem))
        .route("/cart/add", post(shop::add))
        .route("/cart/code", post(shop::apply_code))
        .route("/cart/clear", post(shop::clear))
        .route("/checkout/", post(shop::start_checkout))
        .route("/checkout/result/", post(shop::browser_result))
        .route("/orders/", get(shop::history))
        .route("/orders/{id}/", get(shop::receipt))
        .route("/orders/{id}/refund-request", post(shop::refund_request))
        .route("/_dev/mail", get(account::outbox))
        .route("/staff/", get(staff::home))
        .route("/staff/sign-in", post(staff::sign_in))
        .route("/staff/sign-out", post(staff::sign_out))
        .route(
            "/staff/courses/",
            get(staff::courses::courses).post(staff::courses::create_course),
        )
        .route(
            "/staff/courses/{readable_id}",
            get(staff::courses::course).post(staff::courses::save_course),
        )
        .route(
            "/staff/programs/",
            get(staff::programs::programs).post(staff::programs::create_program),
        )
        .route(
            "/staff/programs/{readable_id}",
            get(staff::programs::program).post(staff::programs::save_program),
        )
        .route("/staff/jobs/", get(staff::jobs::jobs_page))
        .route("/staff/grades/sync", post(staff::courses::sync_grades))
        .route("/staff/runs/sync", post(staff::courses::sync_run))
        .route(
            "/staff/coupon-requests/",
            get(staff::coupons::list).post(staff::coupons::create),
        )
        .route("/staff/coupon-requests/{id}", get(staff::coupons::detail))
        .route(
            "/staff/coupon-requests/{id}/assign",
            post(staff::coupons::assign),
        )
        .route(
            "/staff/coupon-requests/{id}/process",
            post(staff::coupons::process),
        )
        .route(
            "/staff/coupon-requests/{id}/assignments.csv",
            get(staff::coupons::csv_for_staff_page),
        )
        .route("/api/bulk_assignments/{id}/", get(staff::coupons::csv_api))
        .route(
            "/staff/code-sheets/",
            get(staff::code_sheets::list).post(staff::code_sheets::set),
        )
        .route(
            "/staff/code-sheets/remove",
            post(staff::code_sheets::remove),
        )
        .route("/staff/vendors/", get(staff::vendors::page))
        .route("/staff/mail/", get(staff::mail::page))
        .route(
            "/staff/vendors/{slug}/setting",
            post(staff::vendors::set_sync),
        )
        .route("/staff/vendors/{slug}/sync", post(staff::vendors::sync_now))
        .route(
            "/staff/vendors/{slug}/report.json",
            get(staff::vendors::report_for_staff_page),
        )
        .route(
            "/api/external_courses/{slug}/",
            get(staff::vendors::report_api),
        )
        .route("/staff/users/", get(staff::users::users))
        .route("/staff/users/{id}", get(staff::users::user))
        .route("/staff/users/{id}/resync", post(staff::users::resync))
        .route("/staff/users/{id}/approve", post(staff::users::approve))
        .route("/staff/users/{id}/defer", post(staff::users::defer))
        .route(
            "/staff/users/{id}/certificates/{uuid}/{action}",
            post(staff::users::certificate_action),
        )
        .route("/staff/jobs/{id}/{action}", post(staff::jobs::job_action))
        .route(
            "/staff/discounts/",
            get(staff::discounts::discounts_list).post(staff::discounts::discounts_create),
        )
        .route(
            "/staff/discounts/export.csv",
            get(staff::discounts::discounts_export),
        )
        .route("/staff/orders/", get(staff::orders::orders_list))
        .route("/staff/orders/{id}", get(staff::orders::order_detail))
        .route(
            "/staff/orders/{id}/refund",
            post(staff::orders::order_refund),
        )
        .route(
            "/staff/orders/{id}/refund-payment",
            post(staff::orders::refund_payment),
        )
        .route(
            "/staff/orders/{id}/fulfil",
            post(staff::orders::fulfil_held),
        )
        .route("/staff/refunds/", get(staff::orders::refund_queue))
        .route(
            "/staff/refunds/{order_id}/deny",
            post(staff::orders::refund_deny),
        )
}

pub struct Flash {
    pub kind: &'static str,
    pub message: String,
}

/// What every page's head and frame need.
pub struct Meta {
    pub title: String,
    pub description: String,
    pub url: String,
    pub image: Option<String>,
    pub og_type: &'static str,
    pub signed_in: Option<String>,
    pub flash: Option<Flash>,
    /// Repeated by every form in a hidden `csrf` field.
    pub csrf: String,
}

impl Meta {
    pub fn new(
        state: &AppState,
        path: &str,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            description: description.into(),
            url: state.absolute(path),
            image: None,
            og_type: "website",
            signed_in: None,
            flash: None,
            csrf: crate::csrf::current(),
        }
    }
}

/// Renders a template with the status given.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Something went wrong</h1>".to_string()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    heading: &'static str,
    message: String,
}

/// An error as a page: a refusal (4xx) says why, in the words given; a 500 says nothing of
/// internals.
pub fn error_page(state: &AppState, status: StatusCode, message: Option<String>) -> Response {
    let (heading, message) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            message.unwrap_or_else(|| "There is nothing at this address.".into()),
        ),
        StatusCode::BAD_REQUEST => (
            "That request could not be understood",
            message.unwrap_or_default(),
        ),
        StatusCode::FORBIDDEN => (
            "Not allowed",
            message.unwrap_or_else(|| "You may not do this.".into()),
        ),
        StatusCode::CONFLICT => (
            "That cannot be done now",
            message.unwrap_or_else(|| {
                "It conflicts with the current state; reload and look again.".into()
            }),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too large",
            message.unwrap_or_else(|| "What was sent is too large.".into()),
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Too many requests",
            message.unwrap_or_else(|| "Wait a few minutes and try again.".into()),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "Not available",
            message.unwrap_or_else(|| "This is not available at the moment.".into()),
        ),
        status if status.is_client_error() => (
            "That request could not be completed",
            message.unwrap_or_default(),
        ),
        _ => (
            "Something went wrong",
            "The problem has been logged. Please try again in a moment.".to_string(),
        ),
    };
    let page = ErrorPage {
        meta: Meta::new(state, "/", heading, heading),
        asset_css: assets::CSS,
        asset_htmx: assets::HTMX,
        heading,
        message,
    };
    render(status, &page)
}
