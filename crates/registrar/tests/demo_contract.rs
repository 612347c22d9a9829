//! What MIT Learn's ETL reads (shared reference `catalog-consumer-contract.md`), checked on
//! responses built from the demo catalog: every key it reads with `d["key"]` is present, with
//! the JSON type and nullability it expects.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

async fn demo_app() -> axum::Router {
    let store = store::testing::fresh_store().await;
    let now = chrono::Utc::now();
    let txn = store.write().await.unwrap();
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, 48, 12),
        Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let settings = web::Settings {
        onboarding: services::accounts::Onboarding {
            provision_openedx: false,
            screen_exports: false,
        },
        ..common::settings("https://registrar.example.edu")
    };
    web::router(web::AppState::new(store, settings, Arc::new(move || now)))
}

async fn get(app: &axum::Router, uri: &str) -> Value {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Num,
    Bool,
    Arr,
}

/// `(key, kind, nullable)`: read with `d["key"]` by the ETL, so it must be present.
fn check(value: &Value, fields: &[(&str, Kind, bool)], what: &str) {
    for (key, kind, nullable) in fields {
        let v = value
            .get(*key)
            .unwrap_or_else(|| panic!("{what}: `{key}` missing in {value}"));
        if v.is_null() {
            assert!(*nullable, "{what}: `{key}` is null");
            continue;
        }
        let ok = match kind {
            Kind::Str => v.is_string(),
            Kind::Num => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::Arr => v.is_array(),
        };
        assert!(ok, "{what}: `{key}` = {v} has the wrong type");
    }
}

fn utc(value: &Value, what: &str) {
    if let Some(s) = value.as_str() {
        assert!(s.ends_with('Z'), "{what}: {s} is not UTC with Z");
    }
}

const XPRO_COURSE: &[(&str, Kind, bool)] = &[
    ("readable_id", Kind::Str, false),
    ("platform", Kind::Str, true),
    ("title", Kind::Str, false),
    ("thumbnail_url", Kind::Str, true),
    ("description", Kind::Str, true),
    ("url", Kind::Str, true),
    ("courseruns", Kind::Arr, false),
    ("topics", Kind::Arr, true),
    ("availability", Kind::Str, false),
    ("credits", Kind::Num, true),
    ("format", Kind::Str, true),
];

const XPRO_RUN: &[(&str, Kind, bool)] = &[
    ("courseware_id", Kind::Str, false),
    ("title", Kind::Str, false),
    ("start_date", Kind::Str, true),
    ("end_date", Kind::Str, true),
    ("enrollment_start", Kind::Str, true),
    ("enrollment_end", Kind::Str, true),
    ("current_price", Kind::Num, true),
    ("instructors", Kind::Arr, false),
];

#[tokio::test]
async fn xpro_dialect_serves_what_learn_reads() {
    let app = demo_app().await;
    let courses = get(&app, "/api/courses/").await;
    let courses = courses.as_array().unwrap();
    assert!(!courses.is_empty());
    let platforms = [
        "Emeritus",
        "Global Alumni",
        "Simplilearn",
        "Susskind",
        "WHU",
        "xPRO",
    ];
    let mut priced_runs = 0;
    for course in courses {
        check(course, XPRO_COURSE, "xPRO course");
        assert!(platforms.contains(&course["platform"].as_str().unwrap()));
        assert!(
            course["url"]
                .as_str()
                .unwrap()
                .starts_with("https://registrar.example.edu/courses/")
        );
        for run in course["courseruns"].as_array().unwrap() {
            check(run, XPRO_RUN, "xPRO run");
            for key in [
                "start_date",
                "end_date",
                "enrollment_start",
                "enrollment_end",
            ] {
                utc(&run[key], key);
            }
            assert!(
                run["instructors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|i| i["name"].is_string())
            );
            priced_runs += usize::from(run["current_price"].as_f64().is_some_and(|p| p > 0.0));
        }
    }
    assert!(
        priced_runs > 0,
        "Learn publishes a course only when a run has a price"
    );
    let programs = get(&app, "/api/programs/").await;
    assert!(!programs.as_array().unwrap().is_empty());
    for program in programs.as_array().unwrap() {
        check(
            program,
            &[
                ("readable_id", Kind::Str, false),
                ("title", Kind::Str, false),
                ("thumbnail_url", Kind::Str, true),
                ("description", Kind::Str, true),
                ("current_price", Kind::Num, true),
                ("url", Kind::Str, true),
                ("topics", Kind::Arr, true),
                ("platform", Kind::Str, true),
                ("enrollment_start", Kind::Str, true),
                ("start_date", Kind::Str, true),
                ("end_date", Kind::Str, true),
                ("availability", Kind::Str, false),
                ("courses", Kind::Arr, false),
                ("credits", Kind::Num, true),
            ],
            "xPRO program",
        );
        for course in program["courses"].as_array().unwrap() {
            check(course, XPRO_COURSE, "xPRO program course");
        }
    }
}

#[tokio::test]
async fn mitxonline_dialect_serves_what_learn_reads() {
    let app = demo_app().await;
    let mut url = "/api/v2/courses/?live=True".to_string();
    let mut seen = 0;
    loop {
        let page = get(&app, &url).await;
        for course in page["results"].as_array().unwrap() {
            seen += 1;
            check(
                course,
                &[
                    ("id", Kind::Num, false),
                    ("readable_id", Kind::Str, false),
                    ("title", Kind::Str, false),
                    ("courseruns", Kind::Arr, false),
                    ("certificate_type", Kind::Str, false),
                    ("departments", Kind::Arr, false),
                    ("topics", Kind::Arr, false),
                    ("include_in_learn_catalog", Kind::Bool, false),
                    ("min_price", Kind::Num, true),
                    ("max_price", Kind::Num, true),
                ],
                "MITx Online course",
            );
            if let Some(page) = course["page"].as_object() {
                assert!(
                    page["instructors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|i| i["name"].is_string())
                );
                assert!(
                    page["page_url"]
                        .as_str()
                        .unwrap()
                        .starts_with("https://registrar.example.edu/courses/")
                );
            }
            for run in course["courseruns"].as_array().unwrap() {
                check(
                    run,
                    &[
                        ("title", Kind::Str, false),
                        ("courseware_id", Kind::Str, false),
                        ("is_enrollable", Kind::Bool, false),
                        ("enrollment_modes", Kind::Arr, false),
                        ("is_self_paced", Kind::Bool, false),
                        ("course_number", Kind::Str, false),
                    ],
                    "MITx Online run",
                );
                for key in [
                    "start_date",
                    "end_date",
                    "enrollment_start",
                    "enrollment_end",
                ] {
                    utc(&run[key], key);
                }
                assert!(run["courseware_id"].as_str().unwrap().len() <= 128);
            }
        }
        match page["next"].as_str() {
            // Learn follows `next` on the same host, keeping only its path and query.
            Some(next) => {
                assert!(next.contains("live=True"), "{next}");
                url = next
                    .trim_start_matches("https://registrar.example.edu")
                    .to_string();
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        get(&app, "/api/v2/courses/?live=True").await["count"]
            .as_u64()
            .unwrap() as usize
    );
    let programs = get(&app, "/api/v2/programs/?live=True&page_size=100").await;
    for program in programs["results"].as_array().unwrap() {
        check(
            program,
            &[
                ("id", Kind::Num, false),
                ("readable_id", Kind::Str, false),
                ("title", Kind::Str, false),
                ("req_tree", Kind::Arr, false),
            ],
            "MITx Online program",
        );
        // Learn fetches each course of the tree by id.
        for node in program["req_tree"].as_array().unwrap() {
            for leaf in node["children"].as_array().unwrap() {
                if let Some(id) = leaf["data"]["course"].as_i64() {
                    let course = get(&app, &format!("/api/v2/courses/{id}/?live=True")).await;
                    assert_eq!(course["id"], id);
                }
            }
        }
    }
}
