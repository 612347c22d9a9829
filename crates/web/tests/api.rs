//! The HTTP API through the full router, on the backend `REGISTRAR_TEST_DATABASE_URL` picks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use domain::catalog::import::parse;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Store;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

struct App {
    router: axum::Router,
    store: Store,
}

fn fixture_text(path: &str) -> String {
    let path = format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(&format!("originals/{name}"))).unwrap()
}

async fn spawn_app(base_url: &str, now: DateTime<Utc>, files: &[&str]) -> App {
    let store = store::testing::fresh_store().await;
    for name in files {
        let (_, catalog) = parse(&fixture_text(&format!("originals/{name}"))).unwrap();
        let txn = store.write().await.unwrap();
        apply(&txn, &catalog, Mode::Import).await.unwrap();
        txn.commit().await.unwrap();
    }
    let state = web::AppState::new(
        store.clone(),
        common::settings(base_url),
        Arc::new(move || now),
    );
    App {
        router: web::router(state),
        store,
    }
}

impl App {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn ok(&self, uri: &str) -> Value {
        let (status, body) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        body
    }
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

/// Prices and credits compare as numbers, whether the originals wrote `"1.25"` or `1.25`.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn pick<'a>(list: &'a Value, key: &str, value: &Value) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| &item[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} = {value}"))
}

fn same_xpro_run(ours: &Value, theirs: &Value) {
    for key in [
        "title",
        "courseware_id",
        "run_tag",
        "id",
        "product_id",
        "start_date",
        "end_date",
        "enrollment_start",
        "enrollment_end",
        "expiration_date",
        "courseware_url",
        "instructors",
    ] {
        assert_eq!(
            ours[key], theirs[key],
            "run {} field {key}",
            theirs["courseware_id"]
        );
    }
    assert_eq!(
        number(&ours["current_price"]),
        number(&theirs["current_price"])
    );
}

fn same_xpro_course(ours: &Value, theirs: &Value) {
    for key in [
        "id",
        "title",
        "readable_id",
        "url",
        "description",
        "thumbnail_url",
        "time_commitment",
        "duration",
        "format",
        "video_url",
        "is_external",
        "platform",
        "availability",
        "next_run_id",
        "external_marketing_url",
        "marketing_hubspot_form_id",
    ] {
        assert_eq!(
            ours[key], theirs[key],
            "course {} field {key}",
            theirs["readable_id"]
        );
    }
    assert_eq!(number(&ours["credits"]), number(&theirs["credits"]));
    let mut topics: Vec<&Value> = theirs["topics"].as_array().unwrap().iter().collect();
    topics.sort_by_key(|t| t["name"].as_str().unwrap().to_string());
    assert_eq!(
        ours["topics"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        topics
    );
    for theirs in theirs["courseruns"].as_array().unwrap() {
        same_xpro_run(
            pick(
                &ours["courseruns"],
                "courseware_id",
                &theirs["courseware_id"],
            ),
            theirs,
        );
    }
}

#[tokio::test]
async fn xpro_payloads_import_and_come_back_through_the_xpro_api() {
    // While every recorded run was still open, as when the payloads were recorded.
    let app = spawn_app(
        "https://xpro.mit.edu",
        at(2024, 3, 10),
        &["xpro_courses.json", "xpro_programs.json"],
    )
    .await;
    let courses = app.ok("/api/courses/").await;
    let recorded = fixture("xpro_programs.json");
    // A course in both files reads as the later file (the programs payload) recorded it.
    let later: Vec<&Value> = recorded
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["courses"].as_array().unwrap())
        .collect();
    for theirs in fixture("xpro_courses.json").as_array().unwrap() {
        let theirs = later
            .iter()
            .find(|c| c["readable_id"] == theirs["readable_id"])
            .copied()
            .unwrap_or(theirs);
        same_xpro_course(
            pick(&courses, "readable_id", &theirs["readable_id"]),
            theirs,
        );
    }
    let laser3 = pick(&courses, "readable_id", &json!("course-v1:xPRO+LASERx3"));
    assert_eq!(laser3["courseruns"].as_array().unwrap().len(), 3);
    let programs = app.ok("/api/programs/").await;
    assert_eq!(
        programs.as_array().unwrap().len(),
        recorded.as_array().unwrap().len()
    );
    for theirs in recorded.as_array().unwrap() {
        let ours = pick(&programs, "readable_id", &theirs["readable_id"]);
        for key in [
            "id",
            "title",
            "url",
            "description",
            "thumbnail_url",
            "start_date",
            "end_date",
            "enrollment_start",
            "instructors",
            "platform",
            "is_external",
        ] {
            assert_eq!(
                ours[key], theirs[key],
                "program {} field {key}",
                theirs["readable_id"]
            );
        }
        assert_eq!(
            number(&ours["current_price"]),
            number(&theirs["current_price"])
        );
        let ids = |v: &Value| {
            v["courses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["readable_id"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(ours), ids(theirs));
        for course in theirs["courses"].as_array().unwrap() {
            same_xpro_course(
                pick(&ours["courses"], "readable_id", &course["readable_id"]),
                course,
            );
        }
    }
    let detail = app.ok("/api/courses/17/").await;
    assert_eq!(detail["readable_id"], "course-v1:xPRO+LASERx3");
    assert_eq!(app.get("/api/courses/9999/").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn xpro_lists_only_unexpired_runs_with_a_product() {
    let app = spawn_app(
        "https://xpro.mit.edu",
        at(2025, 3, 1),
        &["xpro_courses.json"],
    )
    .await;
    let courses = app.ok("/api/courses/").await;
    let laser4 = pick(&courses, "readable_id", &json!("course-v1:xPRO+LASERx4"));
    let runs: Vec<&str> = laser4["courseruns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_tag"].as_str().unwrap())
        .collect();
    assert_eq!(runs, vec!["R17", "R18"], "R16 ended in March 2025");
    assert_eq!(laser4["next_run_id"], 691);
}

#[tokio::test]
async fn mitxonline_payloads_import_and_come_back_through_the_v2_api() {
    let app = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 9, 10),
        &["mitxonline_courses.json", "mitxonline_programs.json"],
    )
    .await;
    let page = app.ok("/api/v2/courses/?live=True&page_size=100").await;
    let recorded = fixture("mitxonline_courses.json");
    assert_eq!(page["count"], 3);
    for theirs in recorded["results"].as_array().unwrap() {
        let ours = pick(&page["results"], "id", &theirs["id"]);
        for key in [
            "title",
            "readable_id",
            "departments",
            "topics",
            "include_in_learn_catalog",
            "certificate_type",
            "duration",
            "time_commitment",
            "required_prerequisites",
        ] {
            assert_eq!(
                ours[key], theirs[key],
                "course {} field {key}",
                theirs["readable_id"]
            );
        }
        for key in ["min_price", "max_price"] {
            assert_eq!(number(&ours[key]), number(&theirs[key]), "{key}");
        }
        for key in ["description", "live", "length", "effort", "instructors"] {
            assert_eq!(ours["page"][key], theirs["page"][key], "page {key}");
        }
        assert!(
            ours["page"]["feature_image_src"]
                .as_str()
                .unwrap()
                .starts_with("https://mitxonline.mit.edu/media/")
        );
        for run in theirs["courseruns"].as_array().unwrap() {
            let mine = pick(&ours["courseruns"], "id", &run["id"]);
            for key in [
                "title",
                "courseware_id",
                "run_tag",
                "start_date",
                "end_date",
                "enrollment_start",
                "enrollment_end",
                "expiration_date",
                "courseware_url",
                "certificate_available_date",
                "upgrade_deadline",
                "is_self_paced",
                "live",
                "course_number",
            ] {
                assert_eq!(
                    mine[key], run[key],
                    "run {} field {key}",
                    run["courseware_id"]
                );
            }
            let slugs = |v: &Value| {
                let mut s: Vec<String> = v["enrollment_modes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["mode_slug"].as_str().unwrap().to_string())
                    .collect();
                s.sort();
                s
            };
            assert_eq!(slugs(mine), slugs(run));
            for key in ["id", "price", "description", "is_active"] {
                assert_eq!(
                    mine["products"][0][key], run["products"][0][key],
                    "product {key}"
                );
            }
        }
    }
    let programs = app.ok("/api/v2/programs/?live=true").await;
    for theirs in fixture("mitxonline_programs.json")["results"]
        .as_array()
        .unwrap()
    {
        let ours = pick(&programs["results"], "id", &theirs["id"]);
        for key in [
            "title",
            "readable_id",
            "program_type",
            "certificate_type",
            "departments",
            "live",
            "availability",
            "start_date",
            "end_date",
            "enrollment_start",
            "enrollment_end",
            "duration",
            "min_weeks",
            "max_weeks",
            "time_commitment",
            "min_weekly_hours",
            "max_weekly_hours",
        ] {
            assert_eq!(
                ours[key], theirs[key],
                "program {} field {key}",
                theirs["readable_id"]
            );
        }
        for key in ["min_price", "max_price"] {
            assert_eq!(number(&ours[key]), number(&theirs[key]), "{key}");
        }
        for key in ["description", "live", "include_in_learn_catalog", "price"] {
            assert_eq!(ours["page"][key], theirs["page"][key], "page {key}");
        }
        // The recorded tree still carried the root node; ours serves its children.
        let tree = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    let leaves: Vec<Value> = n["children"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["data"]["course"].clone())
                        .collect();
                    (
                        n["data"]["operator"].clone(),
                        n["data"]["title"].clone(),
                        leaves,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            tree(&ours["req_tree"]),
            tree(&theirs["req_tree"][0]["children"])
        );
    }
    let p5 = app.ok("/api/v2/programs/5/").await;
    assert_eq!(p5["courses"], json!([62, 74, 79]));
    let required: Vec<Value> = p5["requirements"]["courses"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(required, vec![json!(62), json!(74), json!(79)]);
    let course = app.ok("/api/v2/courses/course-v1:MITxT+18.03.1x/").await;
    assert_eq!(course["id"], 62);
    assert_eq!(
        course["programs"][0]["readable_id"],
        "program-v1:MITxT+18.03x"
    );
}

#[tokio::test]
async fn v2_pagination_filters_and_lookups() {
    let app = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 9, 10),
        &["mitxonline_courses.json"],
    )
    .await;
    let first = app.ok("/api/v2/courses/?live=True&page_size=2").await;
    assert_eq!(first["count"], 3);
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().unwrap();
    assert!(
        next.starts_with("https://mitxonline.mit.edu/api/v2/courses/?"),
        "{next}"
    );
    assert!(
        next.contains("live=True") && next.contains("page=2") && next.contains("page_size=2"),
        "{next}"
    );
    let path = next.trim_start_matches("https://mitxonline.mit.edu");
    let second = app.ok(path).await;
    assert_eq!(second["results"].as_array().unwrap().len(), 1);
    assert_eq!(second["next"], Value::Null);
    assert!(
        !second["previous"].as_str().unwrap().contains("page=1"),
        "DRF drops page for the first page"
    );
    let titles: Vec<String> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["results"].as_array().unwrap())
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted, "ordered by title");

    assert_eq!(app.ok("/api/v2/courses/?live=true").await["count"], 3);
    assert_eq!(app.ok("/api/v2/courses/?live=False").await["count"], 0);
    assert_eq!(app.ok("/api/v2/courses/?id=62,79").await["count"], 2);
    assert_eq!(app.ok("/api/v2/courses/?id=62&id=74").await["count"], 2);
    assert_eq!(
        app.ok("/api/v2/courses/?readable_id=course-v1:MITxT%2B18.03.2x")
            .await["count"],
        1
    );
    assert_eq!(
        app.ok("/api/v2/courses/?org_id=4").await["count"],
        0,
        "no one belongs to an organization yet"
    );
    let enrollable = app
        .ok("/api/v2/courses/?courserun_is_enrollable=true")
        .await;
    assert_eq!(enrollable["count"], 1);
    assert!(
        enrollable["results"][0]["courseruns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["is_enrollable"] == true)
    );
    assert_eq!(
        app.get("/api/v2/courses/?page=9").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = app.get("/api/v2/courses/?live=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["detail"].as_str().unwrap().contains("live"));
    assert_eq!(
        app.get("/api/v2/courses/12345/").await.0,
        StatusCode::NOT_FOUND
    );
    let response = app
        .send(
            Request::get("/api/v2/courses/62/?live=True")
                .header("Authorization", "Api-Key whatever")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        response.0,
        StatusCode::OK,
        "MIT Learn's API key header is tolerated"
    );
}

#[tokio::test]
async fn v1_routes_paginate_only_when_asked() {
    let app = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 9, 10),
        &["mitxonline_courses.json", "mitxonline_programs.json"],
    )
    .await;
    let courses = app.ok("/api/v1/courses/").await;
    assert_eq!(courses.as_array().unwrap().len(), 3);
    assert_eq!(courses[0]["programs"], Value::Null);
    assert_eq!(app.ok("/api/v1/courses/?page=1").await["count"], 3);
    let runs = app.ok("/api/v1/course_runs/").await;
    assert_eq!(runs.as_array().unwrap().len(), 4);
    let run = app.ok("/api/v1/course_runs/256/").await;
    assert_eq!(run["course"]["readable_id"], "course-v1:MITxT+18.03.1x");
    assert_eq!(run["products"][0]["product_flexible_price"], Value::Null);
    let program = app.ok("/api/v1/programs/5/").await;
    assert_eq!(program["requirements"]["required"], json!([62, 74, 79]));
    assert_eq!(
        program["req_tree"][0]["children"][0]["data"]["course"],
        "62"
    );
}

/// Every property of the spec's schemas, with its type and nullability.
fn check_schema(name: &str, value: &Value, schemas: &Value, path: &str) {
    let schema = &schemas[name];
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{path}: not an object"));
    for (key, spec) in schema.as_object().unwrap() {
        let present = object.get(key);
        if spec["required"] == true {
            assert!(present.is_some(), "{path}.{key} is required by {name}");
        }
        let Some(v) = present else { continue };
        if v.is_null() {
            assert!(
                spec["nullable"] == true,
                "{path}.{key} is null but {name} does not allow it"
            );
            continue;
        }
        let ok = match spec["type"].as_str().unwrap() {
            "string" => v.is_string(),
            "integer" | "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            // DRF wraps some list serializers as an object in the spec.
            "object" => v.is_object() || v.is_array(),
            _ => true,
        };
        assert!(ok, "{path}.{key} = {v} is not a {}", spec["type"]);
    }
}

#[tokio::test]
async fn responses_match_the_mitxonline_openapi_schemas() {
    let schemas: Value =
        serde_json::from_str(&fixture_text("openapi/mitxonline-catalog-schemas.json")).unwrap();
    let schemas = &schemas["schemas"];
    let app = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 9, 10),
        &["mitxonline_courses.json", "mitxonline_programs.json"],
    )
    .await;
    for course in app.ok("/api/v2/courses/").await["results"]
        .as_array()
        .unwrap()
    {
        check_schema(
            "CourseWithCourseRunsSerializerV2",
            course,
            schemas,
            "course",
        );
        check_schema("CoursePage", &course["page"], schemas, "course.page");
        for run in course["courseruns"].as_array().unwrap() {
            check_schema("CourseRunV2", run, schemas, "run");
            for product in run["products"].as_array().unwrap() {
                check_schema("BaseProduct", product, schemas, "product");
            }
        }
        for program in course["programs"].as_array().unwrap() {
            check_schema("BaseProgram", program, schemas, "course.programs[]");
        }
    }
    for program in app.ok("/api/v2/programs/").await["results"]
        .as_array()
        .unwrap()
    {
        check_schema("V2ProgramDetail", program, schemas, "program");
        check_schema("ProgramPage", &program["page"], schemas, "program.page");
        for node in program["req_tree"].as_array().unwrap() {
            check_schema("V2ProgramRequirement", node, schemas, "req_tree[]");
            check_schema(
                "V2ProgramRequirementData",
                &node["data"],
                schemas,
                "req_tree[].data",
            );
        }
    }
    for course in app.ok("/api/v1/courses/").await.as_array().unwrap() {
        check_schema("V1CourseWithCourseRuns", course, schemas, "v1 course");
        for run in course["courseruns"].as_array().unwrap() {
            check_schema("V1BaseCourseRun", run, schemas, "v1 run");
        }
    }
    for run in app.ok("/api/v1/course_runs/").await.as_array().unwrap() {
        check_schema("V1CourseRunWithCourse", run, schemas, "v1 course run");
        check_schema("Course", &run["course"], schemas, "v1 course run.course");
    }
    for program in app.ok("/api/v1/programs/").await.as_array().unwrap() {
        check_schema("V1Program", program, schemas, "v1 program");
    }
}

async fn staff_token(app: &App) -> String {
    store::staff::create_token(app.store.db(), "staff@example.edu")
        .await
        .unwrap()
}

fn post(uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post(uri).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn staff_catalog_api_edits_with_field_errors_and_loses_nothing() {
    let app = spawn_app(
        "https://xpro.mit.edu",
        at(2024, 3, 10),
        &["xpro_courses.json"],
    )
    .await;
    let (status, _) = app
        .send(post(
            "/api/staff/catalog",
            None,
            &json!({"format": "registrar-catalog/1"}),
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(post(
            "/api/staff/catalog",
            Some("wrong"),
            &json!({"format": "registrar-catalog/1"}),
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = staff_token(&app).await;

    let (status, exported) = app
        .send(
            Request::get("/api/staff/catalog")
                .header("Authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut course = exported["courses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["readable_id"] == "course-v1:xPRO+LASERx3")
        .unwrap()
        .clone();

    // A bad edit: end before start, and a malformed course key on a new run.
    let mut bad = course.clone();
    bad["title"] = json!("Renamed but rejected");
    bad["runs"][0]["end_date"] = json!("2020-01-01T00:00:00Z");
    let mut new_run = course["runs"][0].clone();
    new_run["id"] = Value::Null;
    new_run["courseware_id"] = json!("course-v1:xPRO+LASERx3");
    new_run["run_tag"] = json!("R99");
    bad["runs"].as_array_mut().unwrap().push(new_run);
    let (status, body) = app
        .send(post(
            "/api/staff/catalog",
            Some(&token),
            &json!({"format": "registrar-catalog/1", "courses": [bad]}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["errors"]["courses[0].runs[0].end_date"][0],
        "must not be before start_date"
    );
    assert!(
        body["errors"]["courses[0].runs[3].courseware_id"][0]
            .as_str()
            .unwrap()
            .contains("course-v1:ORG+NUMBER+RUN")
    );
    let listed = app.ok("/api/courses/17/").await;
    assert_eq!(
        listed["title"], "Navigating and Leveraging Culture and Networks",
        "nothing was written"
    );

    // A good edit: new title and a new price on the first run.
    course["title"] = json!("Culture and Networks for Engineers");
    course["runs"][0]["product"]["prices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"price": "1099.00"}));
    let (status, report) = app
        .send(post(
            "/api/staff/catalog",
            Some(&token),
            &json!({"format": "registrar-catalog/1", "courses": [course]}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["price_versions_added"], 1);
    let listed = app.ok("/api/courses/17/").await;
    assert_eq!(listed["title"], "Culture and Networks for Engineers");
    assert_eq!(
        pick(&listed["courseruns"], "id", &json!(686))["current_price"],
        1099.0
    );

    let (status, body) = app
        .send(post(
            "/api/staff/catalog",
            Some(&token),
            &json!({"courses": 3}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().starts_with("body:"),
        "{body}"
    );
}

#[tokio::test]
async fn operations_endpoints() {
    let app = spawn_app("http://localhost", at(2024, 3, 10), &[]).await;
    assert_eq!(app.get("/healthz").await, (StatusCode::OK, json!("ok")));
    assert_eq!(app.get("/readyz").await, (StatusCode::OK, json!("ready")));
    app.ok("/api/courses/").await;
    let (status, _) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "metrics need their token");
    let (status, metrics) = app
        .send(
            Request::get("/metrics")
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", common::METRICS_TOKEN),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.as_str().unwrap().contains("http_requests_total"),
        "{metrics}"
    );
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("route=\"/api/courses/\""),
        "{metrics}"
    );
    let response = app
        .router
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let schema = app.ok("/api/schema/").await;
    assert!(schema["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v2/courses/",
        "/api/v2/programs/{id}/",
        "/api/courses/",
        "/api/staff/catalog",
        "/api/v1/course_runs/",
    ] {
        assert!(
            schema["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let params = schema["paths"]["/api/v2/courses/"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        params
            .iter()
            .any(|p| p["name"] == "courserun_is_enrollable")
    );
    let (status, body) = app.get("/api/no/such").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Not found.");
}

#[tokio::test]
async fn staff_jobs_api_lists_retries_and_cancels() {
    let app = spawn_app("http://localhost", at(2024, 3, 10), &[]).await;
    let db = app.store.db();
    let now = at(2024, 3, 10);
    let dead = jobs::enqueue(
        db,
        "demo.sync",
        &json!({"user": 1}),
        1,
        jobs::Enqueue::default(),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    let claimed = jobs::claim(db, "w", Duration::from_secs(30), now)
        .await
        .unwrap()
        .unwrap();
    jobs::fail(
        db,
        &claimed,
        "peer down",
        jobs::Failure::Retry(jobs::Backoff::default()),
        now,
    )
    .await
    .unwrap();
    let queued = jobs::enqueue(
        db,
        "demo.sync",
        &json!({"user": 2}),
        3,
        jobs::Enqueue::default(),
        now,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(app.get("/api/staff/jobs").await.0, StatusCode::UNAUTHORIZED);
    let token = staff_token(&app).await;
    let authed = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, list) = app.send(authed("GET", "/api/staff/jobs?state=dead")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["last_error"], "peer down");
    assert_eq!(
        app.send(authed("GET", "/api/staff/jobs?state=sleeping"))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, job) = app
        .send(authed("POST", &format!("/api/staff/jobs/{dead}/retry")))
        .await;
    assert_eq!(
        (status, job["state"].clone()),
        (StatusCode::OK, json!("queued"))
    );
    let (status, body) = app
        .send(authed("POST", &format!("/api/staff/jobs/{dead}/retry")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["detail"].as_str().unwrap().contains("is queued"));
    let (status, job) = app
        .send(authed("POST", &format!("/api/staff/jobs/{queued}/cancel")))
        .await;
    assert_eq!(
        (status, job["state"].clone()),
        (StatusCode::OK, json!("dead"))
    );
    assert_eq!(
        app.send(authed("GET", "/api/staff/jobs/999999")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn staff_flows_report_each_flow_from_its_jobs() {
    let app = spawn_app("http://localhost", at(2024, 3, 10), &[]).await;
    let db = app.store.db();
    let now = at(2024, 3, 10);
    let kind = "registrar.purge_finished_jobs";
    for outcome in ["ok", "dead"] {
        jobs::enqueue(
            db,
            kind,
            &json!({"keep_days": 14}),
            1,
            jobs::Enqueue::default(),
            now,
        )
        .await
        .unwrap();
        let job = jobs::claim(db, "w", Duration::from_secs(30), now)
            .await
            .unwrap()
            .unwrap();
        if outcome == "ok" {
            jobs::succeed(db, &job, now).await.unwrap();
        } else {
            jobs::fail(
                db,
                &job,
                "disk full",
                jobs::Failure::Retry(jobs::Backoff::default()),
                now,
            )
            .await
            .unwrap();
        }
    }
    jobs::enqueue(
        db,
        kind,
        &json!({"keep_days": 14}),
        1,
        jobs::Enqueue::default(),
        now,
    )
    .await
    .unwrap();
    let token = staff_token(&app).await;
    let (status, flows) = app
        .send(
            Request::get("/api/staff/flows")
                .header("Authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let housekeeping = pick(&flows, "id", &json!("worker-database"));
    assert_eq!(housekeeping["enabled"], true);
    assert_eq!(
        (
            housekeeping["queue_depth"].clone(),
            housekeeping["dead"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(housekeeping["last_error"], "disk full");
    assert!(
        housekeeping["last_success"]
            .as_str()
            .unwrap()
            .starts_with("2024-03-10")
    );
    assert_eq!(
        housekeeping["schedule_states"][0]["name"],
        "purge-finished-jobs"
    );
    let hubspot = pick(&flows, "id", &json!("worker-hubspot"));
    assert_eq!(
        (
            hubspot["enabled"].clone(),
            hubspot["availability"]["status"].clone()
        ),
        (json!(true), json!("available"))
    );
    let keycloak = pick(&flows, "id", &json!("worker-keycloak"));
    assert_eq!(
        (
            keycloak["enabled"].clone(),
            keycloak["availability"]["status"].clone()
        ),
        (json!(false), json!("planned"))
    );
    assert_eq!(
        pick(&flows, "id", &json!("mitlearn-catalog"))["mode"],
        "async"
    );
    assert_eq!(
        app.get("/api/staff/flows").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn staff_discount_api_creates_codes_and_batches_with_field_errors() {
    let app = spawn_app("https://mitxonline.mit.edu", at(2024, 3, 10), &[]).await;
    let body = json!({"discount_code": "WELCOME", "amount": 15, "discount_type": "percent-off", "redemption_type": "one-time-per-user", "expiration_date": "2030-01-01T00:00:00Z", "payment_type": "marketing"});
    let (status, _) = app.send(post("/api/v0/discounts/", None, &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "staff only");
    let token = staff_token(&app).await;
    let (status, created) = app
        .send(post("/api/v0/discounts/", Some(&token), &body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["discount_code"], "WELCOME");
    assert_eq!(created["amount"], "15");
    assert_eq!(created["redemption_type"], "one-time-per-user");
    assert_eq!(created["expiration_date"], "2030-01-01T00:00:00Z");
    let batch = json!({"count": 2, "prefix": "BULK-", "amount": 100, "discount_type": "percent-off", "one_time": true});
    let (status, codes) = app
        .send(post(
            "/api/v0/discounts/create_batch/",
            Some(&token),
            &batch,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{codes}");
    let codes = codes.as_array().unwrap();
    assert_eq!(codes.len(), 2);
    assert!(codes.iter().all(
        |c| c["discount_code"].as_str().unwrap().starts_with("BULK-")
            && c["redemption_type"] == "one-time"
            && c["is_bulk"] == true
    ));
    let (status, refused) = app
        .send(post(
            "/api/v0/discounts/create_batch/",
            Some(&token),
            &json!({"count": 3, "amount": 5, "discount_type": "dollars-off"}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["errors"]["prefix"][0]
            .as_str()
            .unwrap()
            .contains("prefix")
    );
    let list = Request::get("/api/v0/discounts/?q=BULK")
        .header("Authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, page) = app.send(list).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 2, "nothing of the refused batch was written");
}

fn staff_call(method: &str, uri: &str, token: &str, body: Option<&Value>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("Authorization", format!("Bearer {token}"))
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap()
}

#[tokio::test]
async fn staff_discount_api_reads_changes_scopes_and_removes_one_discount() {
    let app = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 3, 10),
        &["mitxonline_courses.json"],
    )
    .await;
    let token = staff_token(&app).await;
    let body = json!({"discount_code": "SPRING", "amount": 10, "discount_type": "percent-off", "redemption_type": "unlimited", "payment_type": "marketing"});
    let (_, created) = app
        .send(post("/api/v0/discounts/", Some(&token), &body))
        .await;
    let id = created["id"].as_i64().unwrap();
    let one = format!("/api/v0/discounts/{id}/");
    let (status, read) = app.send(staff_call("GET", &one, &token, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["discount_code"], "SPRING");

    let (status, changed) = app
        .send(staff_call(
            "PATCH",
            &one,
            &token,
            Some(&json!({"amount": 25, "expiration_date": "2030-06-30T00:00:00Z"})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["amount"], "25");
    assert_eq!(changed["discount_code"], "SPRING", "untouched fields stay");
    assert_eq!(changed["redemption_type"], "unlimited");
    assert_eq!(changed["expiration_date"], "2030-06-30T00:00:00Z");
    let (status, refused) = app
        .send(staff_call(
            "PATCH",
            &one,
            &token,
            Some(&json!({"discount_type": "half-off"})),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["errors"]["discount_type"].is_array(),
        "errors are named as the API names its fields: {refused}"
    );
    let (_, still) = app.send(staff_call("GET", &one, &token, None)).await;
    assert_eq!(
        still["discount_type"], "percent-off",
        "a refused change writes nothing"
    );

    let view = store::catalog::read::load(app.store.db()).await.unwrap();
    let product = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .find_map(|r| r.product.as_ref().map(|p| p.id))
        .expect("the fixture has products");
    let products = format!("/api/v0/discounts/{id}/products/");
    let (status, linked) = app
        .send(staff_call(
            "POST",
            &products,
            &token,
            Some(&json!({"product_id": product})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    assert_eq!(linked[0]["product"]["id"], product);
    let (status, _) = app
        .send(staff_call(
            "PATCH",
            &format!("{products}{product}/"),
            &token,
            Some(&json!({"product_id": product})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "linking twice changes nothing");
    let (_, page) = app.send(staff_call("GET", &products, &token, None)).await;
    assert_eq!(page["count"], 1);
    let (status, left) = app
        .send(staff_call(
            "DELETE",
            &format!("{products}{product}/"),
            &token,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(left, json!([]));

    let user = store::accounts::create_user(
        app.store.db(),
        store::accounts::NewUser {
            email: &domain::accounts::Email::parse("grace@example.edu").unwrap(),
            username: &domain::accounts::Username::parse("grace").unwrap(),
            name: "Grace",
            password_hash: None,
            address: &Default::default(),
            email_verified: true,
            global_id: None,
        },
        at(2024, 3, 10),
    )
    .await
    .unwrap();
    let assignees = format!("/api/v0/discounts/{id}/assignees/");
    let (status, assigned) = app
        .send(staff_call(
            "POST",
            &assignees,
            &token,
            Some(&json!({"user": user.id})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
    assert_eq!(assigned[0]["user"]["email"], "grace@example.edu");
    let (status, _) = app
        .send(staff_call(
            "POST",
            &assignees,
            &token,
            Some(&json!({"user": 99_999})),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, left) = app
        .send(staff_call(
            "DELETE",
            &format!("{assignees}{}/", user.id),
            &token,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(left, json!([]));
    let (status, none) = app
        .send(staff_call(
            "GET",
            &format!("/api/v0/discounts/{id}/redemptions/"),
            &token,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["count"], 0);

    let (status, _) = app.send(staff_call("DELETE", &one, &token, None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send(staff_call("GET", &one, &token, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .send(staff_call("DELETE", &one, "not a token", None))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn xpro_coupon_api_creates_batches_and_promo_codes_and_deactivates_them() {
    let app = spawn_app(
        "https://xpro.mit.edu",
        at(2024, 3, 10),
        &["xpro_courses.json"],
    )
    .await;
    let token = staff_token(&app).await;
    let view = store::catalog::read::load(app.store.db()).await.unwrap();
    let product = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .find_map(|r| r.product.as_ref().map(|p| p.id))
        .expect("the fixture has products");
    let single = json!({
        "name": "Acme PO 42", "coupon_type": "single-use", "discount_type": "percent-off",
        "amount": "1", "num_coupon_codes": 3, "payment_type": "purchase_order",
        "payment_transaction": "PO-42", "activation_date": "2024-03-01T00:00:00Z",
        "expiration_date": "2030-01-01T00:00:00Z", "product_ids": [product],
        "include_future_runs": false,
    });
    let (status, _) = app.send(post("/api/coupons/", None, &single)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, batch) = app.send(post("/api/coupons/", Some(&token), &single)).await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    assert_eq!(batch["num_coupon_codes"], 3);
    let codes = batch["codes"].as_array().unwrap();
    assert!(
        codes.iter().all(|c| c.as_str().unwrap().len() == 32),
        "bare random codes"
    );
    let stored = store::commerce::discounts::in_batch(app.store.db(), "Acme PO 42")
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .all(|d| d.payment_transaction.as_deref() == Some("PO-42")),
        "the purchase order is kept with each code"
    );
    let (status, again) = app.send(post("/api/coupons/", Some(&token), &single)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again["errors"][0]["name"].is_string(), "{again}");

    let promo = json!({
        "name": "Spring promo", "coupon_type": "promo", "discount_type": "percent-off",
        "amount": "0.2", "coupon_code": "SPRING20", "activation_date": "2024-03-01T00:00:00Z",
        "expiration_date": "2030-01-01T00:00:00Z", "is_global": true, "max_redemptions": 100,
    });
    let (status, created) = app.send(post("/api/coupons/", Some(&token), &promo)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, listed) = app
        .send(staff_call(
            "GET",
            "/api/v0/discounts/?q=SPRING20",
            &token,
            None,
        ))
        .await;
    assert_eq!(
        listed["results"][0]["amount"], "20",
        "xPRO's fraction is a percent here"
    );
    assert_eq!(listed["results"][0]["redemption_type"], "one-time-per-user");
    assert_eq!(listed["results"][0]["max_redemptions"], 100);

    let (status, refused) = app
        .send(post(
            "/api/coupons/",
            Some(&token),
            &json!({"name": "x", "coupon_type": "single-use", "discount_type": "percent-off", "amount": "1.5"}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<String> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e.as_object().unwrap().keys().cloned())
        .collect();
    for field in [
        "amount",
        "expiration_date",
        "num_coupon_codes",
        "product_ids",
    ] {
        assert!(fields.contains(&field.to_string()), "{field} in {refused}");
    }

    let (status, ended) = app
        .send(staff_call(
            "PUT",
            "/api/coupons/",
            &token,
            Some(&json!({"coupons": "Acme PO 42\nSPRING20\nNO-SUCH"})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["num_of_coupons_deactivated"], 4);
    assert_eq!(ended["skipped_codes"], json!(["NO-SUCH"]));
    let (_, listed) = app
        .send(staff_call(
            "GET",
            "/api/v0/discounts/?q=SPRING20",
            &token,
            None,
        ))
        .await;
    assert!(listed["results"][0]["expiration_date"].is_string());
}

/// The catalog dialects as a peer receives them, whole: a change to any field of these
/// answers shows up as a snapshot diff (`cargo insta review`), on top of the field checks
/// above. Times a database writes (row creation) are redacted; the catalog itself comes
/// from the originals' recorded payloads, read at a fixed instant, so it is the same on
/// SQLite and PostgreSQL.
#[tokio::test]
async fn the_catalog_dialects_answer_in_their_recorded_shapes() {
    let xpro = spawn_app(
        "https://xpro.mit.edu",
        at(2024, 3, 10),
        &["xpro_courses.json", "xpro_programs.json"],
    )
    .await;
    let mitx = spawn_app(
        "https://mitxonline.mit.edu",
        at(2024, 9, 10),
        &["mitxonline_courses.json", "mitxonline_programs.json"],
    )
    .await;
    for (name, app, uri) in [
        ("xpro_courses", &xpro, "/api/courses/"),
        ("xpro_programs", &xpro, "/api/programs/"),
        (
            "mitxonline_v2_courses",
            &mitx,
            "/api/v2/courses/?page_size=2",
        ),
        (
            "mitxonline_v2_programs",
            &mitx,
            "/api/v2/programs/?page_size=2",
        ),
    ] {
        insta::assert_json_snapshot!(name, app.ok(uri).await, {
            ".**.created_on" => "[time]",
            ".**.updated_on" => "[time]",
        });
    }
}
