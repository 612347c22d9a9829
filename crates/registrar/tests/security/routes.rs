//! Every route of the router, as its source declares it (so a new route is covered without
//! being listed here), sent what the database cannot store (a NUL in the path, the query, a
//! form field or a JSON string) and other control characters, as a stranger, a learner and
//! staff. A NUL gets a 400 naming where it was; nothing gets a 500.

use std::path::Path;

use axum::http::{Method, StatusCode};

use crate::app::{CSRF, app};

/// A route as declared in `crates/web/src`: its path and methods.
#[derive(Debug)]
pub struct Route {
    pub path: String,
    pub methods: Vec<Method>,
}

fn source_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every `.route("…", get(…).post(…))` of the web crate.
pub fn declared_routes() -> Vec<Route> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    let mut routes = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let starts: Vec<usize> = text.match_indices(".route(").map(|(i, _)| i).collect();
        for (n, start) in starts.iter().enumerate() {
            let end = starts
                .get(n + 1)
                .copied()
                .or_else(|| text[*start..].find("\n}").map(|e| start + e))
                .unwrap_or(text.len());
            let segment = &text[*start..end];
            let Some(open) = segment.find('"') else {
                continue;
            };
            let Some(close) = segment[open + 1..].find('"') else {
                continue;
            };
            let path = &segment[open + 1..open + 1 + close];
            let methods: Vec<Method> = [
                ("get(", Method::GET),
                ("post(", Method::POST),
                ("put(", Method::PUT),
                ("patch(", Method::PATCH),
                ("delete(", Method::DELETE),
            ]
            .into_iter()
            .filter(|(token, _)| {
                segment
                    .match_indices(token)
                    .any(|(i, _)| i == 0 || !segment.as_bytes()[i - 1].is_ascii_alphanumeric())
            })
            .map(|(_, m)| m)
            .collect();
            assert!(
                !methods.is_empty(),
                "{}: no method found for {path}",
                file.display()
            );
            routes.push(Route {
                path: path.to_string(),
                methods,
            });
        }
    }
    assert!(routes.len() > 100, "the routes were read: {}", routes.len());
    routes
}

/// The path with each `{param}` replaced.
pub fn fill(path: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(&rest[..open]);
        out.push_str(with);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// A request to try: its address, its body (content type, text), and for a NUL, the field
/// the refusal must name.
type Try<'a> = (String, Option<(&'a str, String)>, &'a str);

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fn is_payment_result(path: &str) -> bool {
    path == "/checkout/result/" || path == "/api/checkout/result/"
}

#[tokio::test]
async fn a_nul_anywhere_in_a_request_gets_a_400_naming_where_on_every_route() {
    let app = app().await;
    let routes = declared_routes();
    let mut failures = Vec::new();
    for route in &routes {
        for method in &route.methods {
            for (who, headers) in &app.identities {
                let mut tries: Vec<Try> = vec![(
                    format!("{}?next=%00&q=a%00b", fill(&route.path, "1")),
                    None,
                    "next",
                )];
                if route.path.contains('{') {
                    tries.push((fill(&route.path, "x%00y"), None, "path"));
                }
                if *method != Method::GET && !is_payment_result(&route.path) {
                    let path = fill(&route.path, "1");
                    tries.push((
                        path.clone(),
                        Some((FORM, format!("csrf={CSRF}&email=a%00b"))),
                        "email",
                    ));
                    tries.push((
                        path.clone(),
                        Some((JSON, r#"{"items":[{"name":"a\u0000b"}]}"#.to_string())),
                        "items[0].name",
                    ));
                    // Some handlers read any body as JSON, whatever it says it is.
                    tries.push((
                        path,
                        Some(("text/plain", r#"{"email":"a\u0000b"}"#.to_string())),
                        "email",
                    ));
                }
                for (uri, body, field) in tries {
                    let (status, text) = app.send(headers, method, &uri, body).await;
                    if status != StatusCode::BAD_REQUEST || !text.contains(field) {
                        failures.push(format!("{method} {uri} as {who}: {status} {text:.120}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn control_characters_never_get_a_500_on_any_route() {
    let app = app().await;
    let mut failures = Vec::new();
    for route in &declared_routes() {
        for method in &route.methods {
            for (who, headers) in &app.identities {
                let path = fill(&route.path, "1");
                let mut tries: Vec<(String, Option<(&str, String)>)> = vec![
                    (
                        format!("{path}?next=%0d%0a/%09evil.example&q=%1b%7f&page=%0a"),
                        None,
                    ),
                    (fill(&route.path, "a%0d%0ab"), None),
                ];
                if *method != Method::GET {
                    tries.push((
                        path.clone(),
                        Some((
                            FORM,
                            format!(
                                "csrf={CSRF}&next=%0d%0a&email=a%01b%40example.edu&name=%7f&code=%0a&password=%09"
                            ),
                        )),
                    ));
                    tries.push((
                        path,
                        Some((
                            JSON,
                            r#"{"email":"a\u0001b","name":"\r\n","run_id":"\t"}"#.into(),
                        )),
                    ));
                }
                for (uri, body) in tries {
                    let (status, text) = app.send(headers, method, &uri, body).await;
                    if status.is_server_error() {
                        failures.push(format!("{method} {uri} as {who}: {status} {text:.160}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A payment result with a NUL is kept (escaped) and refused by its signature, not lost.
#[tokio::test]
async fn a_payment_result_with_a_nul_is_recorded_and_refused() {
    let app = app().await;
    for path in ["/checkout/result/", "/api/checkout/result/"] {
        let (status, _) = app
            .send(
                &app.identities[0].1,
                &Method::POST,
                path,
                Some((
                    FORM,
                    "decision=ACCEPT%00&req_reference_number=registrar-test-1%00&signature=x&signed_field_names=decision".into(),
                )),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        store::testing::count(
            &app.store,
            "SELECT COUNT(*) AS n FROM payment_responses WHERE signature_valid = false"
        )
        .await,
        2,
        "both posts are kept"
    );
}

/// Every response of every route carries the security headers, and no page Registrar
/// renders has an inline script or event handler the Content-Security-Policy would block.
#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_satisfy_the_policy() {
    let app = app().await;
    let mut failures = Vec::new();
    for route in &declared_routes() {
        for method in &route.methods {
            for (who, headers) in &app.identities {
                let uri = fill(&route.path, "1");
                let reply = app.request("192.0.2.1", headers, method, &uri, None).await;
                let csp = reply
                    .headers
                    .get("content-security-policy")
                    .cloned()
                    .unwrap_or_default();
                if !csp.contains("frame-ancestors 'none'") || !csp.contains("script-src 'self'") {
                    failures.push(format!("{method} {uri} as {who}: CSP {csp:?}"));
                }
                for (name, value) in [
                    ("x-content-type-options", "nosniff"),
                    ("referrer-policy", "strict-origin-when-cross-origin"),
                ] {
                    if reply.headers.get(name).map(String::as_str) != Some(value) {
                        failures.push(format!("{method} {uri} as {who}: {name}"));
                    }
                }
                let html = reply.body.to_ascii_lowercase();
                if reply
                    .headers
                    .get("content-type")
                    .is_some_and(|t| t.starts_with("text/html"))
                {
                    let inline_script = html
                        .match_indices("<script")
                        .any(|(i, _)| !html[i..].split('>').next().unwrap_or("").contains(" src="));
                    let handler = [
                        " onclick=",
                        " onload=",
                        " onsubmit=",
                        " onchange=",
                        "javascript:",
                    ]
                    .iter()
                    .any(|h| html.contains(h));
                    if inline_script || handler {
                        failures.push(format!(
                            "{method} {uri} as {who}: inline script in the page"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The templates themselves (pages not reached above need data, such as the payment
/// hand-off and certificates) carry no inline script or event handler.
#[test]
fn no_template_carries_an_inline_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/templates");
    let mut files = Vec::new();
    fn html_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                html_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "html") {
                found.push(path);
            }
        }
    }
    html_files(&root, &mut files);
    assert!(files.len() > 20);
    for file in files {
        let html = std::fs::read_to_string(&file).unwrap().to_ascii_lowercase();
        for (i, _) in html.match_indices("<script") {
            let tag = html[i..].split('>').next().unwrap_or("");
            assert!(tag.contains(" src="), "{}: inline script", file.display());
        }
        for handler in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " oninput=",
        ] {
            assert!(!html.contains(handler), "{}: {handler}", file.display());
        }
    }
}
