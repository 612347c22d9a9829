//! The basket and checkout APIs of both references through the full router, on the demo's
//! synthetic catalog: shapes, errors, CSRF, and the signed checkout payload.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use services::commerce::Storefront;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

mod common;

const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Api {
    router: axum::Router,
    store: store::Store,
    cookie: String,
    on_sale: Vec<(i64, String)>,
    /// An xPRO product on sale: (product id, version id).
    xpro: (i64, i64),
    /// A MITx Online product on sale.
    mitx: i64,
    /// An xPRO program on sale: (product id, readable id).
    program: (i64, String),
}

async fn api() -> Api {
    let store = store::testing::fresh_store().await;
    let now = Utc::now();
    let txn = store.write().await.unwrap();
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, 24, 2),
        Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let on_sale: Vec<(i64, String)> = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .filter_map(|r| r.product.as_ref().map(|p| (p.id, r.courseware_id.clone())))
        .filter(|(id, _)| {
            services::commerce::item(&view, *id).is_some_and(|item| {
                services::commerce::basket::sale_blocker(&view, &item, now).is_none()
            })
        })
        .collect();
    let xpro = on_sale
        .iter()
        .filter_map(|(id, _)| services::commerce::item(&view, *id))
        .find(|item| item.site == domain::catalog::Site::Xpro)
        .map(|item| (item.product_id, item.version_id))
        .expect("the synthetic catalog sells xPRO runs");
    let mitx = on_sale
        .iter()
        .filter_map(|(id, _)| services::commerce::item(&view, *id))
        .find(|item| item.site == domain::catalog::Site::Mitxonline)
        .map(|item| item.product_id)
        .expect("the synthetic catalog sells MITx Online runs");
    let program = view
        .programs
        .iter()
        .filter(|p| p.site == domain::catalog::Site::Xpro && !p.runs.is_empty())
        .find_map(|p| {
            let product = p.product.as_ref()?;
            let item = services::commerce::item(&view, product.id)?;
            services::commerce::basket::sale_blocker(&view, &item, now)
                .is_none()
                .then(|| (product.id, p.readable_id.clone()))
        })
        .expect("the synthetic catalog sells an xPRO program with a run");
    let user = common::learner(&store, "ada", now).await;
    let session =
        store::accounts::start_session(store.db(), user.id, chrono::Duration::hours(1), now)
            .await
            .unwrap();
    let state = web::AppState::new(
        store.clone(),
        web::Settings {
            storefront: Some(Storefront {
                support_email: None,
                ..common::shop::storefront()
            }),
            ..common::settings("http://registrar.test")
        },
        web::system_clock(),
    );
    Api {
        router: web::router(state),
        store,
        cookie: format!("registrar_session={session}; registrar_csrf={CSRF}"),
        on_sale,
        xpro,
        mitx,
        program,
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A request with no session, its status and body as text.
    async fn anonymous(
        &self,
        method: &str,
        uri: &str,
        body: Option<(&str, String)>,
    ) -> (StatusCode, String) {
        let request = Request::builder().method(method).uri(uri);
        let (request, body) = match body {
            Some((kind, body)) => (request.header(header::CONTENT_TYPE, kind), Body::from(body)),
            None => (request, Body::empty()),
        };
        self.send(request.body(body).unwrap()).await
    }

    /// CyberSource's merchant post accepting the payment a signed request asked for.
    async fn accept(&self, request: &[(String, String)], transaction: &str) -> StatusCode {
        let field = |k: &str| request.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let result: Vec<(String, String)> = vec![
            ("decision".into(), "ACCEPT".into()),
            ("reason_code".into(), "100".into()),
            ("transaction_id".into(), transaction.into()),
            ("req_reference_number".into(), field("reference_number")),
            ("req_amount".into(), field("amount")),
            ("req_currency".into(), field("currency")),
            ("req_transaction_uuid".into(), field("transaction_uuid")),
            ("req_access_key".into(), field("access_key")),
            ("req_profile_id".into(), field("profile_id")),
            ("req_card_number".into(), "xxxxxxxxxxxx1111".into()),
            ("req_card_type".into(), "001".into()),
            ("req_bill_to_forename".into(), "Grace".into()),
            ("req_bill_to_surname".into(), "Hopper".into()),
        ];
        let signed = integrations::cybersource::secure_acceptance::sign("security", result);
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(signed.iter())
            .finish();
        self.anonymous(
            "POST",
            "/api/checkout/result/",
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await
        .0
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if csrf {
            request = request.header("x-csrftoken", CSRF);
        }
        let body = body
            .map(|b| Body::from(b.to_string()))
            .unwrap_or_else(Body::empty);
        let (status, text) = self.send(request.body(body).unwrap()).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn xpro_basket_patch_and_checkout() {
    let api = api().await;
    let (product, courseware_id) = api.on_sale[0].clone();
    let (status, empty) = api.call("GET", "/api/basket/", None, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["items"], json!([]));
    let patch = json!({"items": [{"product_id": courseware_id}]});
    let (status, _) = api
        .call("PATCH", "/api/basket/", Some(patch.clone()), false)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a change needs X-CSRFToken");
    let (status, basket) = api.call("PATCH", "/api/basket/", Some(patch), true).await;
    assert_eq!(status, StatusCode::OK, "{basket}");
    assert_eq!(
        basket["items"][0]["product_id"], product,
        "a text id finds the product"
    );
    assert_eq!(basket["items"][0]["type"], "courserun");
    assert_eq!(basket["tax_info"]["active"], false);
    let two = json!({"items": [{"product_id": product}, {"product_id": api.on_sale[1].0}]});
    let (status, errors) = api.call("PATCH", "/api/basket/", Some(two), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors["errors"]["items"][0],
        "Basket cannot contain more than one item"
    );
    let (status, errors) = api
        .call(
            "PATCH",
            "/api/basket/",
            Some(json!({"coupons": [{"code": "NOPE"}]})),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors["errors"]["coupons"][0],
        "Enrollment / Promotional Code 'NOPE' is invalid"
    );
    let (status, checkout) = api.call("POST", "/api/checkout/", None, true).await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    assert_eq!(checkout["method"], "POST");
    assert_eq!(checkout["url"], "http://pay.test/pay");
    let form: std::collections::HashMap<String, String> = checkout["payload"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        integrations::cybersource::secure_acceptance::verify("security", &form),
        Ok(())
    );
    assert_eq!(form["merchant_defined_data2"], courseware_id);

    // xPRO's receipt exists once the order is paid, for its buyer only.
    let order_id = form["reference_number"]
        .rsplit('-')
        .next()
        .unwrap()
        .to_string();
    let receipt_uri = format!("/api/order_receipt/{order_id}/");
    let (status, _) = api.call("GET", &receipt_uri, None, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not paid yet");
    let request: Vec<(String, String)> = form.into_iter().collect();
    assert_eq!(api.accept(&request, "tx-xpro").await, StatusCode::OK);
    let (status, receipt) = api.call("GET", &receipt_uri, None, false).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["order"]["id"].to_string(), order_id);
    assert_eq!(receipt["purchaser"]["email"], "ada@example.edu");
    assert_eq!(receipt["lines"][0]["readable_id"], courseware_id);
    assert_eq!(receipt["lines"][0]["quantity"], 1);
    assert_eq!(
        receipt["lines"][0]["total_paid"],
        checkout["payload"]["amount"]
    );
    assert_eq!(receipt["receipt"]["card_type"], "Visa");
    assert_eq!(receipt["receipt"]["name"], "Grace Hopper");
    let (status, _) = api.anonymous("GET", &receipt_uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn xpro_products_on_sale() {
    let api = api().await;
    let (status, body) = api.anonymous("GET", "/api/products/", None).await;
    assert_eq!(status, StatusCode::OK);
    let products: Value = serde_json::from_str(&body).unwrap();
    let products = products.as_array().unwrap();
    let (xpro, version) = api.xpro;
    let listed = products
        .iter()
        .find(|p| p["id"] == xpro)
        .expect("an xPRO run on sale is listed");
    assert_eq!(listed["product_type"], "courserun");
    assert_eq!(listed["latest_version"]["id"], version);
    assert!(
        listed["latest_version"]["price"]
            .as_str()
            .unwrap()
            .contains('.')
    );
    assert!(listed["content_object"]["course"]["title"].is_string());
    assert!(
        products.iter().all(|p| p["id"] != api.mitx),
        "MITx Online products are not xPRO's to list"
    );
    assert!(
        products
            .iter()
            .all(|p| p["product_type"] == "courserun" || p["product_type"] == "program"),
        "{products:?}"
    );
}

#[tokio::test]
async fn mitxonline_baskets_and_checkout_payload() {
    let api = api().await;
    let (status, none) = api.call("GET", "/api/v0/baskets/", None, false).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    let (status, _) = api
        .call("GET", "/api/v0/baskets/checkout/", None, false)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "checkout creates orders: a GET without the CSRF header is refused"
    );
    let (status, refused) = api
        .call("GET", "/api/v0/baskets/checkout/", None, true)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "basket-empty");
    let product = api.on_sale[0].0;
    let (status, basket) = api
        .call(
            "POST",
            &format!("/api/v0/baskets/create_from_product/{product}/"),
            None,
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{basket}");
    assert_eq!(basket["basket_items"][0]["product"]["id"], product);
    assert_eq!(basket["total_price"], basket["discounted_price"]);
    let (status, payload) = api
        .call("GET", "/api/v0/baskets/checkout/", None, true)
        .await;
    assert_eq!(status, StatusCode::OK, "{payload}");
    assert_eq!(payload["no_checkout"], false);
    assert_eq!(payload["method"], "POST");
    assert!(payload["order_id"].as_i64().unwrap() > 0);
    assert!(payload["payload"]["signature"].is_string());
    let (status, _) = api
        .call("DELETE", "/api/v0/baskets/clear/", None, true)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = api.call("GET", "/api/v0/baskets/", None, false).await;
    assert_eq!(after, json!([]));
}

#[tokio::test]
async fn xpro_bulk_purchase_api_from_checkout_to_codes() {
    let api = api().await;
    let (product, version) = api.xpro;
    store::commerce::discounts::create(
        api.store.db(),
        &store::commerce::discounts::NewDiscount {
            code: Some("TEAM25"),
            automatic: false,
            payment_type: Some("sales"),
            payment_transaction: None,
            batch: None,
            bulk: true,
            rules: &domain::commerce::pricing::Discount {
                kind: domain::commerce::pricing::Kind::PercentOff(25.into()),
                redemption: domain::commerce::pricing::Redemption::Unlimited,
                max_redemptions: 0,
                activation: None,
                expiration: None,
                products: Vec::new(),
                users: Vec::new(),
            },
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let api = &api;
    let post = |body: Value| async move {
        let (status, text) = api
            .anonymous(
                "POST",
                "/api/b2b/checkout/",
                Some(("application/json", body.to_string())),
            )
            .await;
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let ok = json!({"num_seats": 4, "email": "buyer@corp.example", "product_version_id": version, "discount_code": "TEAM25", "contract_number": "C-1"});
    let mut without_code = ok.clone();
    without_code
        .as_object_mut()
        .unwrap()
        .remove("discount_code");
    assert_eq!(
        post(without_code).await,
        (
            StatusCode::BAD_REQUEST,
            json!(["Missing parameter discount_code"])
        )
    );
    let mut bad = ok.clone();
    bad["email"] = json!("nope");
    assert_eq!(
        post(bad).await,
        (StatusCode::BAD_REQUEST, json!({"email": ["Invalid email"]}))
    );
    let mut bad = ok.clone();
    bad["num_seats"] = json!("many");
    assert_eq!(
        post(bad).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"num_seats": ["num_seats must be a number"]})
        )
    );
    let mut bad = ok.clone();
    bad["discount_code"] = json!("NOPE");
    assert_eq!(
        post(bad).await,
        (StatusCode::BAD_REQUEST, json!(["Invalid coupon code"]))
    );

    let (status, checkout) = post(ok).await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    assert_eq!(checkout["method"], "POST");
    let request: Vec<(String, String)> = checkout["payload"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let field = |k: &str| request.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(
        field("override_custom_receipt_page"),
        "http://registrar.test/checkout/result/"
    );
    assert!(field("reference_number").starts_with("registrar-bulk-test-"));
    let bulk_id: i64 = field("reference_number")
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let hash = store::commerce::bulk_orders::find(api.store.db(), bulk_id)
        .await
        .unwrap()
        .unwrap()
        .unique_id;

    let (status, created) = api
        .anonymous("GET", &format!("/api/b2b/orders/{hash}/status/"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["status"], "created");

    assert_eq!(api.accept(&request, "tx-b2b").await, StatusCode::OK);

    let (_, paid) = api
        .anonymous("GET", &format!("/api/b2b/orders/{hash}/status/"), None)
        .await;
    let paid: Value = serde_json::from_str(&paid).unwrap();
    assert_eq!(paid["status"], "fulfilled");
    assert_eq!(paid["num_seats"], 4);
    assert_eq!(paid["coupon_code"], "TEAM25");
    assert_eq!(paid["contract_number"], "C-1");
    assert_eq!(
        paid["customer_name"], "Grace Hopper",
        "from the bill-to names"
    );
    assert_eq!(paid["receipt_data"]["card_number"], "xxxxxxxxxxxx1111");
    assert_eq!(paid["receipt_data"]["card_type"], "Visa");
    assert_eq!(paid["product_version"]["id"], version);
    assert_eq!(paid["total_price"], field("amount"));

    let (status, csv) = api
        .anonymous("GET", &format!("/api/b2b/orders/{hash}/codes/"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let links: Vec<&str> = csv.lines().skip_while(|l| *l != "url").skip(1).collect();
    assert_eq!(links.len(), 4, "{csv}");
    assert!(links[0].contains(&format!("/redeem/?product={product}&code=")));

    let (status, page) = api
        .anonymous(
            "GET",
            &format!("/ecommerce/bulk/receipt/?hash={hash}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Download the codes"), "{page}");

    let (status, coupon) = api
        .anonymous(
            "GET",
            &format!("/api/b2b/coupon_status/?code=TEAM25&product_id={product}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let coupon: Value = serde_json::from_str(&coupon).unwrap();
    assert_eq!(coupon["discount_percent"], "0.25");
    let (status, _) = api
        .anonymous(
            "GET",
            &format!("/api/b2b/coupon_status/?code=NOPE&product_id={product}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .anonymous("GET", "/api/b2b/orders/not-a-purchase/status/", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_xpro_program_is_bought_as_one_of_its_runs() {
    let api = api().await;
    let (product, readable_id) = api.program.clone();
    let full = format!("{readable_id}+R1");
    let (status, basket) = api
        .call(
            "PATCH",
            "/api/basket/",
            Some(json!({"items": [{"product_id": full}]})),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{basket}");
    assert_eq!(basket["items"][0]["product_id"], product);
    assert_eq!(basket["items"][0]["type"], "program");
    assert_eq!(basket["items"][0]["run_tag"], "R1");
    let (status, refused) = api
        .call(
            "PATCH",
            "/api/basket/",
            Some(json!({"items": [{"product_id": format!("{readable_id}+R9")}]})),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["errors"]["items"][0], "Invalid product id");

    let (status, checkout) = api.call("POST", "/api/checkout/", None, true).await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    let reference = checkout["payload"]["reference_number"].as_str().unwrap();
    let order = store::commerce::orders::by_reference(api.store.db(), reference)
        .await
        .unwrap()
        .unwrap();
    let lines = store::commerce::orders::lines(api.store.db(), order.id)
        .await
        .unwrap();
    assert_eq!(
        lines[0].program_run.as_deref(),
        Some("R1"),
        "the run tags the sale"
    );
}
