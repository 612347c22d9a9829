//! Open edX's enrollment and certificate webhooks through the full router: bearer tokens of
//! staff accounts only, 400 and 404 that say what is wrong, idempotent mirroring.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use common::App;
use serde_json::{Value, json};

async fn call(app: &App, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let reply = app
        .send(request.body(Body::from(body.to_string())).unwrap())
        .await;
    (
        reply.status,
        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn edx_webhooks_mirror_enrollments_and_ask_for_certificates() {
    let store = store::testing::fresh_store().await;
    common::import(&store, &["mitxonline_courses.json"]).await;
    let now = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
    let app = App::at(&store, "https://registrar.example.edu", now);
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let run = &view.courses[0].runs[0];
    let (service, learner) = (
        common::account(&store, "edxworker", true).await.id,
        common::account(&store, "ada", false).await.id,
    );
    let (edx_app, _) = store::oauth2::create_application(store.db(), "Open edX", &[], Utc::now())
        .await
        .unwrap();
    let staff_token = store::oauth2::issue_tokens(store.db(), edx_app.id, service, Utc::now())
        .await
        .unwrap()
        .access;
    let learner_token = store::oauth2::issue_tokens(store.db(), edx_app.id, learner, Utc::now())
        .await
        .unwrap()
        .access;
    let event =
        json!({"email": "ADA@example.edu", "course_id": run.courseware_id, "role": "student"});
    let enroll = "/api/openedx_webhook/enrollment/";

    assert_eq!(
        call(&app, enroll, None, event.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, enroll, Some(&learner_token), event.clone())
            .await
            .0,
        StatusCode::FORBIDDEN,
        "a learner's token is not enough"
    );
    let (status, refused) = call(
        &app,
        enroll,
        Some(&staff_token),
        json!({"email": "ada@example.edu"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["detail"].as_str().unwrap().contains("course_id"));
    let (status, missing) = call(
        &app,
        enroll,
        Some(&staff_token),
        json!({"email": "nobody@example.edu", "course_id": run.courseware_id}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("nobody@example.edu")
    );
    let (status, _) = call(
        &app,
        enroll,
        Some(&staff_token),
        json!({"email": "ada@example.edu", "course_id": "course-v1:No+Such+Run"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, created) = call(&app, enroll, Some(&staff_token), event.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["active"], true);
    assert_eq!(created["edx_enrolled"], true);
    let (status, again) = call(&app, enroll, Some(&staff_token), event.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again["enrollment_id"], created["enrollment_id"],
        "idempotent"
    );
    let enrollment = store::enrollments::for_run(store.db(), learner, run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enrollment.mode, "audit");

    let certify = "/api/openedx_webhook/certificate/";
    for _ in 0..2 {
        let (status, reply) = call(&app, certify, Some(&staff_token), event.clone()).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    assert_eq!(
        store::testing::count(
            &store,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'courses.certify_learner'"
        )
        .await,
        1,
        "two requests queue one grade check"
    );
    store::certificates::issue(
        store.db(),
        learner,
        store::certificates::Of::Run(run.id),
        now,
    )
    .await
    .unwrap();
    let (status, held) = call(&app, certify, Some(&staff_token), event).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        held["certificate"].is_string(),
        "an existing certificate is reported: {held}"
    );
}

#[tokio::test]
async fn the_edx_simulator_sends_both_webhooks_and_refreshes_a_stale_token() {
    use simulators::openedx as sim;
    let store = store::testing::fresh_store().await;
    common::import(&store, &["mitxonline_courses.json"]).await;
    let now = Utc::now();
    let registrar = simulators::serve(App::at(&store, "http://registrar.test", now).router).await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let run = view.courses[0].runs[0].courseware_id.clone();
    let service = common::account(&store, "edxworker", true).await.id;
    let learner = common::account(&store, "ada", false).await.id;
    let (edx_app, secret) = store::oauth2::create_application(store.db(), "Open edX", &[], now)
        .await
        .unwrap();
    let tokens = store::oauth2::issue_tokens(store.db(), edx_app.id, service, now)
        .await
        .unwrap();

    let edx = std::sync::Arc::new(sim::OpenEdx::default());
    edx.users.lock().unwrap().insert(
        "ada".into(),
        sim::EdxUser {
            username: "ada".into(),
            email: "ada@example.edu".into(),
            name: "Ada".into(),
            country: "GB".into(),
        },
    );
    edx.set_webhooks(sim::Webhooks {
        registrar_url: registrar,
        // A token Registrar no longer knows: the first delivery refreshes it.
        access_token: "expired".into(),
        refresh_token: tokens.refresh,
        client_id: edx_app.client_id.clone(),
        client_secret: secret,
    });
    let lms = simulators::serve(sim::router(edx.clone())).await;
    let http = integrations::http_client(10, reqwest::redirect::Policy::none());

    http.post(format!("{lms}/_enroll"))
        .form(&[("username", "ada"), ("course_id", run.as_str())])
        .send()
        .await
        .unwrap();
    let sent = edx.webhooks_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/api/openedx_webhook/enrollment/");
    assert_eq!(sent[0].status, 201, "delivered after refreshing the token");
    let mirrored = store::enrollments::for_run(store.db(), learner, view.courses[0].runs[0].id)
        .await
        .unwrap()
        .expect("the enrollment made in edX is mirrored");
    assert!(mirrored.active && mirrored.edx_enrolled);

    for passed in ["false", "true"] {
        http.post(format!("{lms}/_grades"))
            .form(&[
                ("username", "ada"),
                ("course_id", run.as_str()),
                ("percent", "0.9"),
                ("passed", passed),
            ])
            .send()
            .await
            .unwrap();
    }
    let sent = edx.webhooks_sent();
    assert_eq!(
        sent.len(),
        2,
        "only the passing grade speaks of a certificate"
    );
    assert_eq!(sent[1].path, "/api/openedx_webhook/certificate/");
    assert_eq!(sent[1].status, 200);
    assert_eq!(
        store::testing::count(
            &store,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'courses.certify_learner'"
        )
        .await,
        1,
        "Registrar queued the learner's grade check"
    );
}
