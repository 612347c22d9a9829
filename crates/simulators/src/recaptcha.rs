//! A reCAPTCHA fake: `siteverify` accepts the token `pass` with the right secret. The demo's
//! sign-up form renders a checkbox that submits that token instead of Google's widget.

use axum::Router;
use axum::extract::Form;
use axum::response::Json;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

pub const SECRET: &str = "registrar-demo-recaptcha-secret";
pub const SITE_KEY: &str = "registrar-demo-recaptcha-site-key";
/// The token a person "produces" in the simulation.
pub const PASSING_TOKEN: &str = "pass";

#[derive(Deserialize)]
struct Verify {
    secret: String,
    response: String,
}

async fn siteverify(Form(form): Form<Verify>) -> Json<Value> {
    if form.secret != SECRET {
        return Json(json!({"success": false, "error-codes": ["invalid-input-secret"]}));
    }
    let success = form.response == PASSING_TOKEN;
    Json(
        json!({"success": success, "error-codes": if success { json!([]) } else { json!(["invalid-input-response"]) }}),
    )
}

pub fn router() -> Router {
    Router::new().route("/recaptcha/api/siteverify", post(siteverify))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn only_the_passing_token_with_the_secret_passes() {
        for (body, expected) in [
            (format!("secret={SECRET}&response=pass"), true),
            (format!("secret={SECRET}&response=bot"), false),
            ("secret=wrong&response=pass".to_string(), false),
        ] {
            let request = Request::post("/recaptcha/api/siteverify")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            let response = router().oneshot(request).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            let verdict: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(verdict["success"], expected);
        }
    }
}
