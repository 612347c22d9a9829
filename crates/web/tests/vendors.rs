//! The staff side of the external vendor catalogs through the full router: the sync
//! setting, "sync now", and the vendor's raw report rows (page and staff API).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::App;
use integrations::vendor_reports::ReportApi;
use simulators::vendor_reports::{self as sim, VendorReports};

/// The report API simulator with the sample reports; its URL.
async fn reports() -> String {
    let reports = Arc::new(VendorReports::new(0));
    sim::sample(&reports, chrono::Utc::now());
    simulators::serve(sim::router(reports)).await
}

async fn app() -> App {
    let url = reports().await;
    App::with(web::Settings {
        vendors: Some(Arc::new(services::vendors::VendorSync {
            reports: ReportApi::new(&url, sim::API_KEY, 5),
            recipients: Vec::new(),
        })),
        ..common::settings("http://registrar.test")
    })
    .await
}

#[tokio::test]
async fn staff_turn_a_vendor_sync_on_queue_one_now_and_read_its_rows() {
    let app = app().await;
    let staff = app.staff_cookie().await;
    let page = app.get("/staff/vendors/", Some(&staff)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Emeritus") && page.body.contains("Global Alumni"));
    assert_eq!(
        page.body.matches("<strong>off</strong>").count(),
        2,
        "{}",
        page.body
    );
    assert_eq!(
        app.get("/staff/vendors/", None).await.status,
        StatusCode::SEE_OTHER,
        "staff only"
    );

    let set = app
        .post(
            "/staff/vendors/emeritus/setting",
            Some(&staff),
            &[("enabled", "yes")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let platforms = store::catalog::vocabulary::platforms(app.store.db())
        .await
        .unwrap();
    assert_eq!(platforms, vec![("Emeritus".to_string(), true)]);
    assert!(
        app.get("/staff/vendors/", Some(&staff))
            .await
            .body
            .contains("<strong>on</strong>")
    );

    let queued = app
        .post("/staff/vendors/global_alumni/sync", Some(&staff), &[])
        .await;
    assert_eq!(
        queued.location.as_deref(),
        Some("/staff/vendors/?queued=global_alumni")
    );
    let jobs = store::testing::count(
        &app.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'courses.sync_external_course_runs'",
    )
    .await;
    assert_eq!(jobs, 1);
    assert_eq!(
        app.post("/staff/vendors/udemy/sync", Some(&staff), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let rows = app
        .get("/staff/vendors/emeritus/report.json", Some(&staff))
        .await;
    assert_eq!(rows.status, StatusCode::OK);
    let rows: serde_json::Value = serde_json::from_str(&rows.body).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["course_code"], "MXP-DSBDA");
}

#[tokio::test]
async fn the_external_courses_api_needs_a_staff_token_and_a_known_vendor() {
    let app = app().await;
    let token = store::staff::create_token(app.store.db(), "staff@example.edu")
        .await
        .unwrap();
    let call = |uri: &str, token: Option<&str>| {
        let mut request = Request::get(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    let refused = app
        .send(call("/api/external_courses/emeritus/", None))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let unknown = app
        .send(call("/api/external_courses/udemy/", Some(&token)))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.body.contains("Invalid vendor name udemy"),
        "{}",
        unknown.body
    );
    let rows = app
        .send(call("/api/external_courses/global_alumni/", Some(&token)))
        .await;
    assert_eq!(rows.status, StatusCode::OK);
    let rows: serde_json::Value = serde_json::from_str(&rows.body).unwrap();
    assert_eq!(rows[0]["course_code"], "MO-LDT");
}

#[tokio::test]
async fn a_vendor_course_page_links_out_instead_of_selling() {
    let app = app().await;
    let now = chrono::Utc::now();
    let rows = ReportApi::new(&reports().await, sim::API_KEY, 5)
        .rows(&["Batch"], now)
        .await
        .unwrap();
    let outcome = services::vendors::apply_rows(
        &app.store,
        domain::catalog::vendors::Vendor::Emeritus,
        &rows,
        now,
    )
    .await
    .unwrap();
    assert_eq!(outcome.stats.courses_created.len(), 2);
    let page = app.get("/courses/course-v1:xPRO+DSBDA/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            r#"href="https://vendor.example.com/mxp-dsbda/" rel="external">Learn more at Emeritus"#
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("you enroll on the Emeritus site"));
    assert!(!page.body.contains("/cart/add"), "never sold here");
}
