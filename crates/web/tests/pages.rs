//! Learner pages through the full router.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use domain::catalog::import::parse;
use http_body_util::BodyExt;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

async fn app(now: DateTime<Utc>) -> axum::Router {
    let store = store::testing::fresh_store().await;
    for name in [
        "xpro_courses.json",
        "xpro_programs.json",
        "mitxonline_courses.json",
        "mitxonline_programs.json",
    ] {
        let path = format!(
            "{}/../../fixtures/originals/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let (_, catalog) = parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        let txn = store.write().await.unwrap();
        apply(&txn, &catalog, Mode::Import).await.unwrap();
        txn.commit().await.unwrap();
    }
    let settings = common::settings("https://registrar.example.edu");
    web::router(web::AppState::new(store, settings, Arc::new(move || now)))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 10, 12, 0, 0).unwrap()
}

#[tokio::test]
async fn catalog_lists_both_storefronts_and_filters() {
    let app = app(now()).await;
    let (status, html) = get(&app, "/catalog/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<title>Catalog · Registrar</title>"));
    assert!(html.contains("Introduction to Differential Equations"));
    assert!(html.contains("Quantum Computing Realities"));
    assert!(html.contains("MIT xPRO") && html.contains("MITx Online"));
    let (_, only_xpro) = get(&app, "/catalog/?platform=xpro&kind=course").await;
    assert!(only_xpro.contains("Navigating and Leveraging Culture and Networks"));
    assert!(!only_xpro.contains("Introduction to Differential Equations"));
    let (_, search) = get(&app, "/catalog/?q=quantum").await;
    assert!(search.contains(">Quantum Computing Realities</a>"));
    assert!(!search.contains(">Introduction to Differential Equations</a>"));
    let (_, topic) = get(&app, "/catalog/?topic=Mathematics").await;
    assert!(
        topic.contains(">Introduction to Differential Equations</a>")
            && !topic.contains(">Quantum Computing Realities</a>")
    );
    let (_, enrolling) = get(
        &app,
        "/catalog/?when=enrollable&kind=course&platform=mitxonline",
    )
    .await;
    assert!(
        enrolling.contains("Introduction to Differential Equations"),
        "its 2T2024 run is open on 2024-09-10"
    );
    assert!(!enrolling.contains("Linear Algebra and NxN Systems"));
    let (_, cheap) = get(&app, "/catalog/?price_max=1000&kind=course").await;
    assert!(
        cheap.contains("Introduction to Differential Equations")
            && !cheap.contains("Practical Realities")
    );
}

#[tokio::test]
async fn a_bad_filter_keeps_the_form_and_says_why() {
    let app = app(now()).await;
    let (status, html) = get(&app, "/catalog/?q=quantum&price_min=cheap").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("class=\"field-error\""));
    assert!(
        html.contains("cheap") && html.contains("is not a decimal amount"),
        "{html}"
    );
    assert!(
        html.contains("value=\"quantum\""),
        "the search stays filled"
    );
    assert!(html.contains("value=\"cheap\""));
}

#[tokio::test]
async fn sorting_and_pagination() {
    let app = app(now()).await;
    let (_, html) = get(&app, "/catalog/?kind=course&sort=price_desc").await;
    let first = html.find("Practical Realities").unwrap();
    let cheap = html.find("Introduction to Differential Equations").unwrap();
    assert!(first < cheap, "the $1,529 course comes before the $100 one");
    let (_, page1) = get(&app, "/catalog/").await;
    assert!(page1.contains("Page 1 of"));
    assert!(page1.contains("rel=\"next\"") == page1.contains("Page 1 of 2"));
}

#[tokio::test]
async fn course_page_shows_runs_price_programs_and_why_enrollment_is_not_open() {
    let app = app(now()).await;
    let (status, html) = get(&app, "/courses/course-v1:MITxT+18.03.1x/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<title>Introduction to Differential Equations · Registrar</title>"));
    assert!(html.contains("property=\"og:url\" content=\"https://registrar.example.edu/courses/course-v1:MITxT+18.03.1x/\""));
    assert!(html.contains("property=\"og:image\" content=\"https://registrar.example.edu/media/original_images/18031_about_image_MITxO.png"));
    assert!(html.contains("<meta name=\"description\" content=\"Scientists and engineers understand the world through differential equations."));
    assert!(html.contains("2T2024") && html.contains("Sep 4, 2024 – Dec 18, 2024"));
    assert!(html.contains("Enrolling now"));
    assert!(html.contains("$100.00"));
    assert!(html.contains("David Jerison"));
    assert!(html.contains("href=\"/programs/program-v1:MITxT+18.03x/\""));
    assert!(html.contains("<button type=\"button\" disabled"));
    assert!(
        html.contains("Sign in to enroll for free (audit track)."),
        "an open audit run invites signing in"
    );
    let (_, closed) = get(&app, "/courses/course-v1:MITxT+18.03.3x/").await;
    assert!(closed.contains("Enrollment closed."), "{closed}");
    let later = self::app(Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()).await;
    let (_, before) = get(&later, "/courses/course-v1:xPRO+LASERx3/").await;
    assert!(
        before.contains("Enrollment opens on Mar 6, 2024."),
        "{before}"
    );
    assert_eq!(
        get(&app, "/courses/course-v1:Nope+X/").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn program_page_shows_the_requirement_tree() {
    let app = app(now()).await;
    let (status, html) = get(&app, "/programs/program-v1:MITxT+18.03x/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Required Courses"));
    assert!(html.contains("(all of)"));
    assert!(html.contains(
        "href=\"/courses/course-v1:MITxT+18.03.2x/\">Differential Equations: 2x2 Systems</a>"
    ));
    let (_, xpro) = get(&app, "/programs/program-v1:xPRO+QCR/").await;
    assert!(xpro.contains("$2,419.00"));
    assert!(xpro.contains("4.50 CEUs in total"));
    let (_, placeholders) = get(&app, "/programs/program-v1:MITxT+8.02x/").await;
    assert!(placeholders.contains("A course not yet in the catalog"));
}

#[tokio::test]
async fn frame_error_pages_and_assets() {
    let app = app(now()).await;
    let (status, html) = get(&app, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found") && html.contains("Skip to content"));
    let (status, json) = get(&app, "/api/no/such").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json.contains("\"detail\""));
    let response = app
        .clone()
        .oneshot(
            Request::get("/static/registrar-1.css")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        get(&app, "/static/htmx-2.0.11.min.js").await.0,
        StatusCode::OK
    );
    assert_eq!(get(&app, "/static/other.js").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unexpected_error_is_the_sites_page_saying_something_went_wrong() {
    let store = store::testing::fresh_store().await;
    let settings = common::settings("https://registrar.example.edu");
    let app = web::router(web::AppState::new(store.clone(), settings, Arc::new(now)));
    // With the database gone, the catalog cannot be read: a `PageError` the handler did
    // not expect, drawn as the site's error page by `render_page_errors`.
    store.close().await.unwrap();
    let (status, html) = get(&app, "/catalog/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(html.contains("<h1>Something went wrong</h1>"), "{html}");
    assert!(
        html.contains("The problem has been logged.") && html.contains("Skip to content"),
        "the site's frame, saying nothing of the cause: {html}"
    );
    assert!(!html.to_lowercase().contains("pool"), "{html}");
}
