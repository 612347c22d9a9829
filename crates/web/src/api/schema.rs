//! Our own OpenAPI document at `/api/schema/`: every public and staff JSON route with its
//! parameters. Response bodies are described by the dialect documents they follow (the
//! MITx Online schemas are checked against in tests; see docs/catalog-api.md).

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Registrar API",
        description = "MITx Online and xPRO catalog dialects, enrollments, orders, the OAuth2 provider for Open edX, the staff APIs and operations endpoints."
    ),
    paths(
        v2_courses,
        v2_course,
        v2_programs,
        v2_program,
        v1_courses,
        v1_course,
        v1_course_runs,
        v1_course_run,
        v1_programs,
        v1_program,
        xpro_courses,
        xpro_course,
        xpro_programs,
        xpro_program,
        staff_catalog_export,
        staff_catalog_upsert,
        staff_jobs,
        staff_job,
        staff_job_retry,
        staff_job_cancel,
        staff_flows,
        enrollments_xpro,
        enrollments_list,
        enrollments_create,
        enrollments_update,
        enrollments_delete,
        xpro_basket_get,
        xpro_basket_patch,
        xpro_checkout,
        discount_read,
        discount_change,
        discount_delete,
        discount_products,
        discount_product_remove,
        discount_assignees,
        discount_assignee_remove,
        discount_redemptions,
        edx_enrollment_webhook,
        edx_certificate_webhook,
        v3_program_enrollments,
        v3_program_enroll,
        v3_program_enrollment,
        v3_program_unenroll,
        run_certificates,
        run_certificate,
        program_certificates,
        program_certificate,
        external_courses,
        xpro_coupons_create,
        xpro_coupons_deactivate,
        xpro_products,
        xpro_product,
        xpro_order_receipt,
        b2b_checkout,
        b2b_status,
        b2b_codes,
        b2b_coupon_status,
        mitx_baskets,
        mitx_basket_from_product,
        mitx_basket_from_product_code,
        mitx_basket_add_discount,
        mitx_basket_checkout,
        mitx_basket_clear,
        discounts_list,
        discounts_create,
        discounts_create_batch,
        checkout_result,
        orders_history,
        orders_receipt,
        orders_status,
        orders_refund_request,
        oauth2_authorize,
        oauth2_token,
        users_me,
        healthz,
        readyz,
        metrics,
    )
)]
struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/schema/", get(|| async { Json(ApiDoc::openapi()) }))
}

/// Course list filters shared by the MITx Online course lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
// Fields are read by the derive only; names are the wire names.
#[allow(dead_code, non_snake_case)]
struct CourseFilters {
    /// `True`/`true`/`1` or `False`/`false`/`0`.
    live: Option<bool>,
    page__live: Option<bool>,
    courserun_is_enrollable: Option<bool>,
    /// Repeated or comma-separated ids.
    id: Option<String>,
    readable_id: Option<String>,
    org_id: Option<i64>,
    contract_id: Option<i64>,
    page: Option<u32>,
    /// Default 12, at most 100.
    page_size: Option<u32>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
struct ProgramFilters {
    live: Option<bool>,
    page__live: Option<bool>,
    id: Option<String>,
    readable_id: Option<String>,
    org_id: Option<i64>,
    contract_id: Option<i64>,
    page: Option<u32>,
    page_size: Option<u32>,
}

macro_rules! documented {
    ($($name:ident: $method:ident $path:literal, $tag:literal, $summary:literal $(, params($($p:tt)*))?;)*) => {$(
        #[utoipa::path($method, path = $path, tag = $tag, summary = $summary,
            $(params($($p)*),)?
            responses((status = 200, description = "OK", content_type = "application/json"),
                      (status = 400, description = "Invalid parameter or document"),
                      (status = 404, description = "Not found")))]
        #[allow(dead_code)]
        fn $name() {}
    )*};
}

documented! {
    v2_courses: get "/api/v2/courses/", "mitxonline", "Courses with their runs, paginated", params(CourseFilters);
    v2_course: get "/api/v2/courses/{id}/", "mitxonline", "One course by id or readable id", params(("id" = String, Path, description = "Numeric id or readable id"), CourseFilters);
    v2_programs: get "/api/v2/programs/", "mitxonline", "Programs with requirement trees, paginated", params(ProgramFilters);
    v2_program: get "/api/v2/programs/{id}/", "mitxonline", "One program by id or readable id", params(("id" = String, Path, description = "Numeric id or readable id"));
    v1_courses: get "/api/v1/courses/", "mitxonline", "Courses (v1); paginated only when page is given", params(CourseFilters);
    v1_course: get "/api/v1/courses/{id}/", "mitxonline", "One course (v1)", params(("id" = i64, Path));
    v1_course_runs: get "/api/v1/course_runs/", "mitxonline", "Live course runs with their course", params(("live" = Option<bool>, Query), ("id" = Option<String>, Query));
    v1_course_run: get "/api/v1/course_runs/{id}/", "mitxonline", "One course run (v1)", params(("id" = i64, Path));
    v1_programs: get "/api/v1/programs/", "mitxonline", "Programs (v1); paginated only when page is given", params(ProgramFilters);
    v1_program: get "/api/v1/programs/{id}/", "mitxonline", "One program (v1)", params(("id" = i64, Path));
    xpro_courses: get "/api/courses/", "xpro", "Live xPRO courses with unexpired runs (bare array)";
    xpro_course: get "/api/courses/{id}/", "xpro", "One xPRO course", params(("id" = i64, Path));
    xpro_programs: get "/api/programs/", "xpro", "Live xPRO programs with their courses (bare array)";
    xpro_program: get "/api/programs/{id}/", "xpro", "One xPRO program", params(("id" = i64, Path));
    staff_catalog_export: get "/api/staff/catalog", "staff", "Export the catalog document (Authorization: Bearer <staff token>)";
    staff_catalog_upsert: post "/api/staff/catalog", "staff", "Create or update what a catalog document holds; 400 lists errors per field";
    staff_jobs: get "/api/staff/jobs", "staff", "Jobs, newest first", params(("state" = Option<String>, Query, description = "queued, running, failed, dead or succeeded"), ("kind" = Option<String>, Query), ("limit" = Option<u32>, Query));
    staff_job: get "/api/staff/jobs/{id}", "staff", "One job", params(("id" = i64, Path));
    staff_job_retry: post "/api/staff/jobs/{id}/retry", "staff", "Queue a dead or retry-waiting job again (409 otherwise)", params(("id" = i64, Path));
    staff_job_cancel: post "/api/staff/jobs/{id}/cancel", "staff", "Stop a queued or retry-waiting job (409 otherwise)", params(("id" = i64, Path));
    enrollments_xpro: get "/api/enrollments/", "enrollments", "The signed-in learner's current and past run enrollments (xPRO dashboard shape)";
    enrollments_list: get "/api/v1/enrollments/", "enrollments", "The signed-in learner's active run enrollments";
    enrollments_create: post "/api/v1/enrollments/", "enrollments", "Enroll in a run's free (audit) track: {\"run_id\": …}; X-CSRFToken required";
    enrollments_update: patch "/api/v1/enrollments/{id}/", "enrollments", "Set the course-email choice: {\"receive_emails\": true|false}, pushed to edX; X-CSRFToken required", params(("id" = i64, Path));
    enrollments_delete: delete "/api/v1/enrollments/{id}/", "enrollments", "Unenroll (204); X-CSRFToken required", params(("id" = i64, Path));
    xpro_basket_get: get "/api/basket/", "commerce", "xPRO: the learner's basket {items, coupons, data_consents, tax_info}";
    xpro_basket_patch: patch "/api/basket/", "commerce", "xPRO: set the item ({product_id}: id, courseware id or program readable id) and coupon ({code}); [] clears; X-CSRFToken required";
    xpro_checkout: post "/api/checkout/", "commerce", "xPRO: {payload, url, method}: the signed Secure Acceptance form, or the receipt when nothing is due; X-CSRFToken required";
    mitx_baskets: get "/api/v0/baskets/", "commerce", "MITx Online: the learner's baskets (BasketWithProduct)";
    mitx_basket_from_product: post "/api/v0/baskets/create_from_product/{product_id}/", "commerce", "MITx Online: put a product in the basket; X-CSRFToken required", params(("product_id" = i64, Path));
    mitx_basket_from_product_code: post "/api/v0/baskets/create_from_product/{product_id}/{discount_code}/", "commerce", "MITx Online: put a product and a code in the basket; X-CSRFToken required", params(("product_id" = i64, Path), ("discount_code" = String, Path));
    mitx_basket_add_discount: post "/api/v0/baskets/add_discount/", "commerce", "MITx Online: apply ?discount_code=; X-CSRFToken required", params(("discount_code" = String, Query));
    mitx_basket_checkout: get "/api/v0/baskets/checkout/", "commerce", "MITx Online: CheckoutPayload {no_checkout, url, method, payload, order_id, error}; 400 with error when refused";
    mitx_basket_clear: delete "/api/v0/baskets/clear/", "commerce", "MITx Online: empty the basket (204); X-CSRFToken required";
    discounts_list: get "/api/v0/discounts/", "staff", "Discounts, newest first (staff token); ?q= code contains, limit/offset", params(("q" = Option<String>, Query), ("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query));
    discounts_create: post "/api/v0/discounts/", "staff", "Create a discount {discount_code, amount, discount_type, redemption_type, max_redemptions, activation_date, expiration_date, automatic, payment_type}; 400 lists errors per field";
    discounts_create_batch: post "/api/v0/discounts/create_batch/", "staff", "Generate count codes prefix+random {count, prefix, amount, discount_type, one_time | once_per_user, …}; all or none";
    xpro_coupons_create: post "/api/coupons/", "staff", "xPRO: create a single-use batch (num_coupon_codes, payment_transaction, payment_type) or a promo code (coupon_code); amount is a fraction for percent-off; 400 {errors: [{field: message}]}";
    xpro_coupons_deactivate: put "/api/coupons/", "staff", "xPRO: {coupons: \"code-or-batch-name\\n…\"} end now; {num_of_coupons_deactivated, skipped_codes}";
    xpro_products: get "/api/products/", "commerce", "xPRO: products on sale now ({id, product_type, is_private, latest_version, content_object}), by program then course title", params(("product_type" = Option<String>, Query, description = "courserun or program"));
    xpro_product: get "/api/products/{id}/", "commerce", "xPRO: one product on sale", params(("id" = i64, Path));
    xpro_order_receipt: get "/api/order_receipt/{id}/", "commerce", "xPRO: one of the caller's fulfilled orders: purchaser, lines with receipt maths, coupon, order, card receipt", params(("id" = String, Path, description = "Order id or reference number"));
    b2b_checkout: post "/api/b2b/checkout/", "commerce", "xPRO bulk seats, no account: {num_seats, email, product_version_id, discount_code, contract_number?} → {payload, url, method}; 400 [message] or {field: [message]}";
    b2b_status: get "/api/b2b/orders/{hash}/status/", "commerce", "xPRO: a bulk purchase by its public id: status, seats, prices, product_version, customer_name, coupon_code, receipt_data", params(("hash" = String, Path));
    b2b_codes: get "/api/b2b/orders/{hash}/codes/", "commerce", "xPRO: the purchase's enrollment links as CSV (enrollmentcodes-<hash>.csv)", params(("hash" = String, Path));
    b2b_coupon_status: get "/api/b2b/coupon_status/", "commerce", "xPRO: whether a bulk code prices a product now: {code, product_id, discount_percent (fraction)}, or 404", params(("code" = String, Query), ("product_id" = String, Query, description = "Numeric id or text id"));
    discount_read: get "/api/v0/discounts/{id}/", "staff", "One discount (staff token)", params(("id" = i64, Path));
    discount_change: patch "/api/v0/discounts/{id}/", "staff", "Change a discount's code or terms (PUT takes the same); fields given replace the stored ones; 400 lists errors per field", params(("id" = i64, Path));
    discount_delete: delete "/api/v0/discounts/{id}/", "staff", "Remove a discount (204); 409 when it priced orders", params(("id" = i64, Path));
    discount_products: get "/api/v0/discounts/{id}/products/", "staff", "The products a discount is limited to; POST {product_id} adds one (201, or 200 when present), answering the list", params(("id" = i64, Path));
    discount_product_remove: delete "/api/v0/discounts/{id}/products/{product}/", "staff", "Take a product out of the discount's scope; the list back (PATCH {product_id} adds)", params(("id" = i64, Path), ("product" = i64, Path));
    discount_assignees: get "/api/v0/discounts/{id}/assignees/", "staff", "The learners a discount is reserved for; POST {user} adds one", params(("id" = i64, Path));
    discount_assignee_remove: delete "/api/v0/discounts/{id}/assignees/{user}/", "staff", "Release a learner from the discount; the list back (PATCH {user} adds)", params(("id" = i64, Path), ("user" = i64, Path));
    discount_redemptions: get "/api/v0/discounts/{id}/redemptions/", "staff", "The orders the discount was applied to", params(("id" = i64, Path));
    edx_enrollment_webhook: post "/api/openedx_webhook/enrollment/", "openedx", "Open edX reports an enrollment {email, course_id, role?}: mirrored as audit and in edX; 201 created, 200 existing; Bearer token of a staff account from the OAuth2 provider";
    v3_program_enrollments: get "/api/v3/program_enrollments/", "enrollments", "MITx Online: the signed-in learner's active program enrollments {program, certificate, enrollment_mode}";
    v3_program_enroll: post "/api/v3/program_enrollments/", "enrollments", "MITx Online: enroll in a live program's audit track {\"program_id\": …}: 201, or 200 when enrolled; X-CSRFToken required";
    v3_program_enrollment: get "/api/v3/program_enrollments/{program_id}/", "enrollments", "MITx Online: one program enrollment with its certificate", params(("program_id" = i64, Path));
    v3_program_unenroll: delete "/api/v3/program_enrollments/{program_id}/", "enrollments", "MITx Online: leave a program (204; 400 when it was bought); X-CSRFToken required", params(("program_id" = i64, Path));
    run_certificates: get "/api/course_run_certificates/", "certificates", "xPRO: the learner's valid course run certificates [{uuid, link}]";
    run_certificate: get "/api/course_run_certificates/{uuid}/", "certificates", "xPRO: one of them", params(("uuid" = String, Path));
    program_certificates: get "/api/program_certificates/", "certificates", "xPRO: the learner's valid program certificates [{uuid, link}]";
    program_certificate: get "/api/program_certificates/{uuid}/", "certificates", "xPRO: one of them", params(("uuid" = String, Path));
    external_courses: get "/api/external_courses/{vendor}/", "staff", "xPRO: a vendor's report rows as sent (emeritus or global_alumni; 400 unknown vendor; staff token)", params(("vendor" = String, Path));
    edx_certificate_webhook: post "/api/openedx_webhook/certificate/", "openedx", "Open edX reports a certificate earned {email, course_id}: 200 with the existing certificate, or the learner's grade is queued to be pulled and applied without waiting for the certificate date";
    checkout_result: post "/api/checkout/result/", "commerce", "CyberSource's merchant post of a Secure Acceptance result (form, signed); 403 for a bad signature, 404 for an unknown order";
    orders_history: get "/api/v0/orders/history/", "commerce", "The signed-in learner's fulfilled and refunded orders (receipt shape)";
    orders_receipt: get "/api/v0/orders/receipt/{id}/", "commerce", "One of the learner's orders, by id or reference number", params(("id" = String, Path));
    orders_status: get "/api/v0/orders/status/{id}/", "commerce", "An order's state, for polling after payment", params(("id" = String, Path));
    orders_refund_request: post "/api/v0/orders/refund-requests/", "commerce", "Ask for a refund of one's fulfilled order: {order, refund_reason, refund_reason_text, consent_given}; X-CSRFToken required";
    oauth2_authorize: get "/oauth2/authorize/", "oauth2", "Authorization-code grant for a registered application (redirects)", params(("client_id" = String, Query), ("redirect_uri" = Option<String>, Query), ("response_type" = String, Query), ("state" = Option<String>, Query));
    oauth2_token: post "/oauth2/access_token/", "oauth2", "Token endpoint: authorization_code and refresh_token grants (form; client secret in the form or HTTP Basic)";
    users_me: get "/api/users/me", "oauth2", "The user an access token (Bearer) or session stands for, with the fields Open edX reads";
    staff_flows: get "/api/staff/flows", "staff", "Each cross-system flow: enabled, schedules, last run and success, last error, queue depth, dead jobs";
    healthz: get "/healthz", "operations", "Liveness";
    readyz: get "/readyz", "operations", "Readiness: the database answers";
    metrics: get "/metrics", "operations", "Prometheus metrics";
}
