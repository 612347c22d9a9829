//! Free enrollment and unenrollment through pages and the v1 enrollments API.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeZone, Utc};
use domain::accounts::{Email, LegalAddress, Username};
use domain::catalog::import::parse;
use http_body_util::BodyExt;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use store::Store;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

const CSRF: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

async fn app() -> (axum::Router, Store) {
    let store = store::testing::fresh_store().await;
    let path = format!(
        "{}/../../fixtures/originals/mitxonline_courses.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (_, catalog) = parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let txn = store.write().await.unwrap();
    apply(&txn, &catalog, Mode::Import).await.unwrap();
    txn.commit().await.unwrap();
    let settings = web::Settings {
        onboarding: services::accounts::Onboarding {
            provision_openedx: true,
            screen_exports: false,
        },
        ..common::settings("http://registrar.test")
    };
    // 2T2024 of 18.03.1x (run 256) is open on this day and offers audit.
    let now = Utc.with_ymd_and_hms(2024, 9, 10, 12, 0, 0).unwrap();
    (
        web::router(web::AppState::new(
            store.clone(),
            settings,
            Arc::new(move || now),
        )),
        store,
    )
}

/// A verified learner with a session cookie.
async fn learner(store: &Store, name: &str) -> String {
    let address = LegalAddress {
        first_name: "A".into(),
        last_name: "B".into(),
        country: "GB".into(),
        state: None,
    };
    let email = Email::parse(&format!("{name}@example.edu")).unwrap();
    let username = Username::parse(name).unwrap();
    let new = store::accounts::NewUser {
        email: &email,
        username: &username,
        name,
        password_hash: None,
        address: &address,
        email_verified: true,
        global_id: None,
    };
    let user = store::accounts::create_user(store.db(), new, Utc::now())
        .await
        .unwrap();
    let session = store::accounts::start_session(
        store.db(),
        user.id,
        chrono::Duration::days(1),
        Utc.with_ymd_and_hms(2024, 9, 10, 0, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    format!("registrar_session={session}; registrar_csrf={CSRF}")
}

async fn dashboard_of(app: &axum::Router, cookie: &str) -> String {
    send(
        app,
        Request::get("/dashboard")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .1
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap(),
    )
}

fn api(method: &str, uri: &str, cookies: &str, body: Option<Value>, csrf: bool) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/json");
    if csrf {
        request = request.header("X-CSRFToken", CSRF);
    }
    request
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
        .unwrap()
}

#[tokio::test]
async fn a_learner_enrolls_free_from_the_course_page_and_unenrolls_from_the_dashboard() {
    let (app, store) = app().await;
    let (_, anonymous) = send(
        &app,
        Request::get("/courses/course-v1:MITxT+18.03.1x/")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(anonymous.contains("Sign in to enroll for free"));
    let ada = learner(&store, "ada").await;
    let (_, page) = send(
        &app,
        Request::get("/courses/course-v1:MITxT+18.03.1x/")
            .header(header::COOKIE, &ada)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.contains("Enroll for free (audit)"), "{page}");
    assert!(page.contains("name=\"run_id\" value=\"256\""));
    let enroll = Request::post("/enroll")
        .header(header::COOKIE, &ada)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("run_id=256&csrf={CSRF}")))
        .unwrap();
    let response = app.clone().oneshot(enroll).await.unwrap();
    assert_eq!(response.headers()["location"], "/dashboard");
    let dashboard = dashboard_of(&app, &ada).await;
    assert!(
        dashboard.contains("course-v1:MITxT+18.03.1x+2T2024")
            && dashboard.contains("Waiting for Open edX")
    );
    let jobs = jobs::admin::list(
        store.db(),
        Some("queued"),
        Some("openedx.sync_enrollment"),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        jobs.len(),
        1,
        "the edX enrollment was enqueued with the enrollment"
    );
    let (_, page) = send(
        &app,
        Request::get("/courses/course-v1:MITxT+18.03.1x/")
            .header(header::COOKIE, &ada)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.contains("You are enrolled in 2T2024"));

    let id = store::enrollments::of_user(store.db(), 1).await.unwrap()[0].id;
    assert!(
        dashboard.contains("On · turn off"),
        "course email starts on"
    );
    let emails_off = Request::post(format!("/enrollments/{id}/emails"))
        .header(header::COOKIE, &ada)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={CSRF}")))
        .unwrap();
    let response = app.clone().oneshot(emails_off).await.unwrap();
    assert_eq!(response.headers()["location"], "/dashboard");
    let dashboard = dashboard_of(&app, &ada).await;
    assert!(
        dashboard.contains("Off · turn on"),
        "the switch shows the choice"
    );
    assert!(
        !store::enrollments::find(store.db(), id)
            .await
            .unwrap()
            .unwrap()
            .edx_emails_subscription
    );
    let unenroll = Request::post(format!("/unenroll/{id}"))
        .header(header::COOKIE, &ada)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={CSRF}")))
        .unwrap();
    app.clone().oneshot(unenroll).await.unwrap();
    let row = store::enrollments::find(store.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.active);
    assert_eq!(row.change_status.as_deref(), Some("unenrolled"));
}

#[tokio::test]
async fn the_enrollments_api_is_per_learner_and_checks_csrf_and_windows() {
    let (app, store) = app().await;
    let ada = learner(&store, "ada").await;
    let grace = learner(&store, "grace").await;
    assert_eq!(
        send(
            &app,
            Request::get("/api/v1/enrollments/")
                .body(Body::empty())
                .unwrap()
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            &app,
            api(
                "POST",
                "/api/v1/enrollments/",
                &ada,
                Some(json!({"run_id": 256})),
                false
            )
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = send(
        &app,
        api(
            "POST",
            "/api/v1/enrollments/",
            &ada,
            Some(json!({"run_id": 256})),
            true,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        created["run"]["courseware_id"],
        "course-v1:MITxT+18.03.1x+2T2024"
    );
    assert_eq!(created["enrollment_mode"], "audit");
    let (status, body) = send(
        &app,
        api(
            "POST",
            "/api/v1/enrollments/",
            &ada,
            Some(json!({"run_id": 256})),
            true,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("already enrolled"));
    let (status, body) = send(
        &app,
        api(
            "POST",
            "/api/v1/enrollments/",
            &ada,
            Some(json!({"run_id": 195})),
            true,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "18.03.2x's run closed in 2023: {body}"
    );
    assert!(body.contains("not open for enrollment"));
    let (_, listed) = send(&app, api("GET", "/api/v1/enrollments/", &ada, None, false)).await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, theirs) = send(
        &app,
        api("GET", "/api/v1/enrollments/", &grace, None, false),
    )
    .await;
    assert_eq!(
        theirs, "[]",
        "one learner does not see another's enrollments"
    );
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/enrollments/{id}/");
    assert_eq!(
        created["edx_emails_subscription"], true,
        "course email is on by default"
    );
    let opt_out = Some(json!({"receive_emails": false}));
    assert_eq!(
        send(&app, api("PATCH", &path, &ada, opt_out.clone(), false))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "changing the email choice needs the CSRF token"
    );
    let (status, body) = send(&app, api("PATCH", &path, &ada, opt_out.clone(), true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["edx_emails_subscription"],
        false
    );
    let (status, body) = send(
        &app,
        api(
            "PATCH",
            &path,
            &ada,
            Some(json!({"receive_emails": "maybe"})),
            true,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("receive_emails"), "{body}");
    let jobs = store::testing::count(
        &store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.email_settings'",
    )
    .await;
    assert_eq!(
        jobs, 1,
        "the accepted choice, and only it, is queued for edX"
    );
    assert_eq!(
        send(&app, api("PATCH", &path, &grace, opt_out, true))
            .await
            .0,
        StatusCode::NOT_FOUND,
        "another learner cannot change it"
    );
    assert_eq!(
        send(&app, api("DELETE", &path, &grace, None, true)).await.0,
        StatusCode::NOT_FOUND,
        "nor unenroll them"
    );
    assert_eq!(
        send(&app, api("DELETE", &path, &ada, None, true)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, after) = send(&app, api("GET", "/api/v1/enrollments/", &ada, None, false)).await;
    assert_eq!(after, "[]");
}

#[tokio::test]
async fn the_xpro_dashboard_api_splits_current_and_past_enrollments() {
    let (app, store) = app().await;
    let ada = learner(&store, "ada").await;
    let user = store::accounts::list(store.db(), 1).await.unwrap()[0].id;
    // 2T2024 (run 256) is current on the test day; 2T2023 (run 174) ended in 2023.
    store::enrollments::activate(store.db(), user, 256, "audit", Utc::now())
        .await
        .unwrap();
    store::enrollments::activate(store.db(), user, 174, "audit", Utc::now())
        .await
        .unwrap();
    let (status, body) = send(&app, api("GET", "/api/enrollments/", &ada, None, false)).await;
    assert_eq!(status, StatusCode::OK);
    let dashboard: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(dashboard["course_run_enrollments"][0]["run"]["id"], 256);
    assert_eq!(
        dashboard["course_run_enrollments"][0]["run"]["course"]["readable_id"],
        "course-v1:MITxT+18.03.1x"
    );
    assert_eq!(
        dashboard["past_course_run_enrollments"][0]["run"]["courseware_id"],
        "course-v1:MITxT+18.03.1x+2T2023"
    );
    assert_eq!(dashboard["program_enrollments"], json!([]));
    assert!(dashboard["course_run_enrollments"][0]["certificate"].is_null());

    // A certificate and a grade of the past run show in both references' shapes.
    store::certificates::issue(
        store.db(),
        user,
        store::certificates::Of::Run(174),
        Utc::now(),
    )
    .await
    .unwrap();
    store::certificates::save_grade(
        store.db(),
        user,
        174,
        &domain::certificates::Grade {
            grade: 0.875,
            letter: Some("B".into()),
            passed: true,
            set_by_admin: false,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let (_, body) = send(&app, api("GET", "/api/enrollments/", &ada, None, false)).await;
    let dashboard: Value = serde_json::from_str(&body).unwrap();
    let certificate = &dashboard["past_course_run_enrollments"][0]["certificate"];
    let uuid = certificate["uuid"].as_str().expect("the certificate");
    assert_eq!(certificate["link"], format!("/certificate/{uuid}/"));
    let (_, body) = send(&app, api("GET", "/api/v1/enrollments/", &ada, None, false)).await;
    let listed: Value = serde_json::from_str(&body).unwrap();
    let past = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["run"]["id"] == 174)
        .unwrap();
    assert_eq!(past["certificate"]["uuid"], uuid);
    assert_eq!(
        past["grades"][0]["grade_percent"], 88.0,
        "0.875 rounds half-even"
    );
    assert_eq!(past["grades"][0]["letter_grade"], "B");
    assert_eq!(
        send(
            &app,
            Request::get("/api/enrollments/")
                .body(Body::empty())
                .unwrap()
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn program_enrollments_and_certificates_show_in_both_references_apis() {
    let (app, store) = app().await;
    let path = format!(
        "{}/../../fixtures/originals/mitxonline_programs.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (_, programs) = parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let txn = store.write().await.unwrap();
    apply(&txn, &programs, Mode::Import).await.unwrap();
    txn.commit().await.unwrap();
    let ada = learner(&store, "ada").await;
    let user = store::accounts::list(store.db(), 1).await.unwrap()[0].id;
    store::enrollments::activate(store.db(), user, 256, "audit", Utc::now())
        .await
        .unwrap();

    // MITx Online v3: enroll in program 5 (18.03x), which holds course 62 (run 256).
    let body = || Some(json!({"program_id": 5}));
    let (status, created) = send(
        &app,
        api("POST", "/api/v3/program_enrollments/", &ada, body(), true),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["program"]["readable_id"], "program-v1:MITxT+18.03x");
    assert_eq!(created["enrollment_mode"], "audit");
    assert!(created["certificate"].is_null());
    let (again, _) = send(
        &app,
        api("POST", "/api/v3/program_enrollments/", &ada, body(), true),
    )
    .await;
    assert_eq!(again, StatusCode::OK, "already enrolled");
    let (unknown, _) = send(
        &app,
        api(
            "POST",
            "/api/v3/program_enrollments/",
            &ada,
            Some(json!({"program_id": 999})),
            true,
        ),
    )
    .await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    let (no_csrf, _) = send(
        &app,
        api("POST", "/api/v3/program_enrollments/", &ada, body(), false),
    )
    .await;
    assert_eq!(no_csrf, StatusCode::FORBIDDEN);

    let program_certificate = store::certificates::issue(
        store.db(),
        user,
        store::certificates::Of::Program(5),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(program_certificate);
    let (_, one) = send(
        &app,
        api("GET", "/api/v3/program_enrollments/5/", &ada, None, false),
    )
    .await;
    let one: Value = serde_json::from_str(&one).unwrap();
    let uuid = one["certificate"]["uuid"]
        .as_str()
        .expect("the program certificate")
        .to_string();
    assert_eq!(
        one["certificate"]["link"],
        format!("/certificate/program/{uuid}/")
    );

    // xPRO's shapes: the run sits under its program, the program carries its certificate.
    let (_, dashboard) = send(&app, api("GET", "/api/enrollments/", &ada, None, false)).await;
    let dashboard: Value = serde_json::from_str(&dashboard).unwrap();
    let program = &dashboard["program_enrollments"][0];
    assert_eq!(program["program"]["id"], 5);
    assert_eq!(program["course_run_enrollments"][0]["run"]["id"], 256);
    assert_eq!(program["certificate"]["uuid"], uuid.as_str());
    assert_eq!(
        dashboard["course_run_enrollments"],
        json!([]),
        "nested, not repeated"
    );
    let (_, listed) = send(
        &app,
        api("GET", "/api/program_certificates/", &ada, None, false),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap(),
        json!([{"uuid": uuid, "link": format!("/certificate/program/{uuid}/")}])
    );
    let (status, _) = send(
        &app,
        api(
            "GET",
            &format!("/api/program_certificates/{uuid}/"),
            &ada,
            None,
            false,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &app,
        api(
            "GET",
            &format!("/api/course_run_certificates/{uuid}/"),
            &ada,
            None,
            false,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a program certificate is not a run's"
    );

    // Leaving: 204, and a bought program is refused.
    let (left, _) = send(
        &app,
        api("DELETE", "/api/v3/program_enrollments/5/", &ada, None, true),
    )
    .await;
    assert_eq!(left, StatusCode::NO_CONTENT);
    let (_, listed) = send(
        &app,
        api("GET", "/api/v3/program_enrollments/", &ada, None, false),
    )
    .await;
    assert_eq!(listed, "[]");
    store
        .db()
        .execute_unprepared(&format!(
            "INSERT INTO orders (purchaser_id, state, total_minor, currency, created_on, updated_on) \
             VALUES ({user}, 'fulfilled', 17500, 'USD', '2024-09-01 00:00:00+00:00', '2024-09-01 00:00:00+00:00')"
        ))
        .await
        .unwrap();
    store::enrollments::activate_program(store.db(), user, 6, "verified", Some(1), Utc::now())
        .await
        .unwrap();
    let (bought, body) = send(
        &app,
        api("DELETE", "/api/v3/program_enrollments/6/", &ada, None, true),
    )
    .await;
    assert_eq!(bought, StatusCode::BAD_REQUEST, "{body}");
}
