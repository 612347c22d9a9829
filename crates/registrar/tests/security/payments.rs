//! Payment results that cannot be forged, one order per basket, and a payment never lost
//! silently.

use std::collections::HashMap;

use domain::commerce::order::OrderState;
use integrations::cybersource::secure_acceptance::{self, REQUIRED_RESULT_FIELDS};
use services::commerce::checkout::Checkout;
use services::commerce::payment::{CAPTURED_WITHOUT_FULFILMENT, Channel, Paid, PaymentError};
use store::commerce::orders;

use crate::common::shop::{SECRET, Shop, shop};

async fn state_of(shop: &Shop, order: i64) -> orders::Order {
    orders::find(shop.store.db(), order).await.unwrap().unwrap()
}

async fn enrollments(shop: &Shop, user: i64) -> usize {
    store::enrollments::of_user(shop.store.db(), user)
        .await
        .unwrap()
        .len()
}

fn refused(outcome: Result<Option<orders::Order>, PaymentError>) -> String {
    match outcome {
        Err(PaymentError::BadSignature(why)) => why,
        other => panic!("expected the post to be refused, got {other:?}"),
    }
}

/// The checkout form Registrar signed for the learner, posted back as a "result" with the
/// fields a result carries added unsigned: it used to fulfil the order with no payment.
#[tokio::test]
async fn the_signed_request_form_posted_back_with_unsigned_result_fields_is_refused() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    let mut forged: HashMap<String, String> = request.iter().cloned().collect();
    let get = |k: &str| forged[k].clone();
    let added = [
        ("decision", "ACCEPT".to_string()),
        ("reason_code", "100".to_string()),
        ("transaction_id", "forged-1".to_string()),
        ("req_reference_number", get("reference_number")),
        ("req_amount", get("amount")),
        ("req_currency", get("currency")),
        ("req_transaction_uuid", get("transaction_uuid")),
        ("req_access_key", get("access_key")),
        ("req_profile_id", get("profile_id")),
    ];
    for (k, v) in added {
        forged.insert(k.into(), v);
    }
    assert_eq!(
        secure_acceptance::verify(SECRET, &forged),
        Ok(()),
        "the request's own signature still holds over the fields it names"
    );
    for channel in [Channel::Browser, Channel::Merchant] {
        let why = refused(shop.deliver(&forged, channel).await);
        assert!(why.contains("decision"), "{why}");
    }
    assert_eq!(state_of(&shop, order.id).await.state, OrderState::Pending);
    assert_eq!(enrollments(&shop, ada.id).await, 0);
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM payment_responses WHERE signature_valid = false")
            .await,
        2,
        "both refused posts are kept"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'commerce.process_payment'")
            .await,
        0,
        "nothing is queued for a refused post"
    );
}

/// Every field Registrar acts on, left out of the signature in turn (present in the post
/// but not in `signed_field_names`), gets the post refused.
#[tokio::test]
async fn a_result_with_any_acted_on_field_unsigned_is_refused() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    let genuine = shop.result(&request, "ACCEPT", "tx-1");
    let mut fields: Vec<&str> = REQUIRED_RESULT_FIELDS.to_vec();
    fields.extend(["transaction_id", "auth_amount"]);
    for left_out in fields {
        let mut form = genuine.clone();
        form.insert("auth_amount".into(), form["req_amount"].clone());
        let names: Vec<&str> = form["signed_field_names"]
            .split(',')
            .chain(["auth_amount"])
            .filter(|n| *n != left_out)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        form.insert("signed_field_names".into(), names.join(","));
        let pairs: Vec<(String, String)> =
            form.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        form.insert(
            "signature".into(),
            secure_acceptance::signature(SECRET, &pairs),
        );
        assert_eq!(
            secure_acceptance::verify(SECRET, &form),
            Ok(()),
            "validly signed without {left_out}"
        );
        let why = refused(shop.deliver(&form, Channel::Merchant).await);
        assert!(why.contains(left_out), "{left_out}: {why}");
    }
    assert_eq!(state_of(&shop, order.id).await.state, OrderState::Pending);
    let accepted = shop.deliver(&genuine, Channel::Merchant).await.unwrap();
    assert_eq!(
        accepted.unwrap().state,
        OrderState::Fulfilled,
        "the genuine result still goes through"
    );
}

#[tokio::test]
async fn a_result_made_for_another_profile_or_access_key_is_refused() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    for (field, other) in [
        ("profile_id", "another-profile"),
        ("access_key", "another-key"),
    ] {
        let mut elsewhere = request.clone();
        for (k, v) in &mut elsewhere {
            if k == field {
                *v = other.into();
            }
        }
        let form = shop.result(&elsewhere, "ACCEPT", &format!("tx-{field}"));
        let why = refused(shop.deliver(&form, Channel::Merchant).await);
        assert!(why.contains(&format!("req_{field}")), "{why}");
    }
    assert_eq!(state_of(&shop, order.id).await.state, OrderState::Pending);
}

/// A buyer's text with commas in it (a contract number, here) cannot make the request's
/// signed message read as a result: Registrar never signs a comma inside a value.
#[tokio::test]
async fn a_contract_number_crafted_to_resplit_the_signed_message_forges_nothing() {
    let shop = shop().await;
    let (product, _) = shop.xpro_product();
    let crafted = "X,decision=ACCEPT,reason_code=100,req_reference_number=registrar-bulk-test-1";
    let Checkout::Pay { order, fields, .. } = shop
        .bulk_checkout(&services::commerce::bulk::Purchase {
            email: "buyer@corp.example",
            num_seats: 3,
            product_id: product,
            code: "",
            contract_number: Some(crafted),
        })
        .await
        .unwrap()
    else {
        panic!("a payment was expected")
    };
    for (name, value) in &fields {
        if name != "signed_field_names" {
            assert!(
                !value.contains(','),
                "{name} is signed with a comma: {value}"
            );
        }
    }
    // The message the request's signature covers, as CyberSource would read it: with the
    // contract's commas signed as they were, it held `,decision=ACCEPT,` and a forged
    // `signed_field_names` could re-split those very bytes into a validly signed "result".
    let form_fields: HashMap<String, String> = fields.iter().cloned().collect();
    let message: String = form_fields["signed_field_names"]
        .split(',')
        .map(|n| format!("{n}={}", form_fields.get(n).cloned().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",");
    for result_field in [",decision=", ",reason_code=", ",req_reference_number="] {
        assert!(
            !message.contains(result_field),
            "the signed message can be re-split at {result_field}: {message}"
        );
    }
    // The request's message, re-read with other names over the same bytes.
    let mut form: HashMap<String, String> = fields.iter().cloned().collect();
    form.insert("decision".into(), "ACCEPT".into());
    form.insert(
        "req_reference_number".into(),
        order.reference_number.clone(),
    );
    let why = match shop.settle(&form, Channel::Browser).await {
        Err(PaymentError::BadSignature(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(why.contains("decision"), "{why}");
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_order_codes")
            .await,
        0
    );
}

/// Two tabs, a double click, a client retry: checkouts of one basket at the same moment
/// make one pending order (the learner's row is locked for the checkout on PostgreSQL).
#[tokio::test]
async fn concurrent_checkouts_of_one_basket_make_one_pending_order() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let attempts = futures::future::join_all((0..6).map(|_| shop.checkout(&ada))).await;
    let mut ids: Vec<i64> = attempts
        .into_iter()
        .map(|c| match c.unwrap() {
            Checkout::Pay { order, .. } | Checkout::Free { order } => order.id,
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every checkout names the one order: {ids:?}");
    assert_eq!(
        shop.count(&format!(
            "SELECT COUNT(*) AS n FROM orders WHERE purchaser_id = {} AND state = 'pending'",
            ada.id
        ))
        .await,
        1
    );
}

async fn support_mails(shop: &Shop) -> i64 {
    shop.count(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%support@example.edu%' AND payload LIKE '%Payment needs attention%'",
    )
    .await
}

/// CyberSource accepts a payment for an order that was canceled, declined or errored first,
/// or after a REVIEW canceled it: the money is kept on the order, the order flagged and
/// staff mailed once however often the result is delivered.
#[tokio::test]
async fn an_accepted_payment_for_an_order_no_longer_pending_is_kept_and_flagged_once() {
    let shop = shop().await;
    let products = shop.on_sale();
    for (i, first) in ["CANCEL", "DECLINE", "ERROR", "REVIEW"].iter().enumerate() {
        let learner = shop.learner(&format!("learner{i}")).await;
        shop.fill(&learner, products[i % products.len()]).await;
        let (order, request) = shop.pay(&learner).await;
        let transaction = format!("tx-{first}");
        let before = shop.result(&request, first, &transaction);
        let settled = shop
            .deliver(&before, Channel::Browser)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(settled.state, OrderState::Pending, "{first}");
        let mails = support_mails(&shop).await;
        // REVIEW is followed by ACCEPT of the same transaction; the others by a new one.
        let later = if *first == "REVIEW" {
            transaction.clone()
        } else {
            format!("{transaction}-later")
        };
        let accepted = shop.result(&request, "ACCEPT", &later);
        for channel in [Channel::Merchant, Channel::Browser, Channel::Merchant] {
            let after = shop.deliver(&accepted, channel).await.unwrap().unwrap();
            assert_eq!(
                after.state, settled.state,
                "{first}: the order does not move"
            );
            let flag = after.flag.unwrap_or_default();
            assert!(
                flag.starts_with(CAPTURED_WITHOUT_FULFILMENT),
                "{first}: {flag}"
            );
            assert!(flag.contains(&later), "{first}: {flag}");
        }
        assert_eq!(
            support_mails(&shop).await,
            mails + 1,
            "{first}: staff mailed once"
        );
        let kept = orders::transactions(shop.store.db(), order.id)
            .await
            .unwrap();
        assert_eq!(
            kept.iter().filter(|t| t.transaction_id == later).count(),
            1,
            "{first}: the payment is kept once"
        );
        assert_eq!(enrollments(&shop, learner.id).await, 0, "{first}");
    }
}

/// One order paid twice (two tabs showed the same pending order's form): the first payment
/// fulfils it, the second is kept and flagged, and nothing is granted twice.
#[tokio::test]
async fn a_second_payment_of_a_fulfilled_order_is_kept_and_flagged() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    let first = shop.result(&request, "ACCEPT", "tx-first");
    let second = shop.result(&request, "ACCEPT", "tx-second");
    assert_eq!(
        shop.deliver(&first, Channel::Browser)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Fulfilled
    );
    // Its second copy is a replay, not a second payment.
    let replay = shop
        .deliver(&first, Channel::Merchant)
        .await
        .unwrap()
        .unwrap();
    assert!(replay.flag.is_none());
    let after = shop
        .deliver(&second, Channel::Merchant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, OrderState::Fulfilled);
    assert!(after.flag.unwrap().contains("tx-second"));
    assert_eq!(
        orders::transactions(shop.store.db(), order.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(enrollments(&shop, ada.id).await, 1);
    assert_eq!(support_mails(&shop).await, 1);
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%Purchase Order Receipt%'")
            .await,
        1,
        "one receipt"
    );
}

/// The learner came to hold what the order sells (staff, a seat code, another order)
/// while paying: the payment is kept and flagged instead of enrolling twice.
#[tokio::test]
async fn a_payment_for_what_the_learner_already_holds_is_flagged_not_granted_twice() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    let product = shop.on_sale()[0];
    shop.fill(&ada, product).await;
    let (order, request) = shop.pay(&ada).await;
    let Some(store::catalog::read::Purchasable::Run(run)) = shop.view.purchasable(product) else {
        panic!("a run product")
    };
    let (course, _) = shop.view.run(run).unwrap();
    let mode = services::commerce::fulfilment::paid_mode(course.site);
    store::enrollments::activate(shop.store.db(), ada.id, run, mode, shop.now)
        .await
        .unwrap();
    let after = shop
        .deliver(
            &shop.result(&request, "ACCEPT", "tx-held"),
            Channel::Merchant,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, OrderState::Errored);
    let flag = after.flag.unwrap();
    assert!(flag.starts_with(CAPTURED_WITHOUT_FULFILMENT), "{flag}");
    assert!(flag.contains("already holds"), "{flag}");
    assert_eq!(enrollments(&shop, ada.id).await, 1);
    assert_eq!(
        orders::transactions(shop.store.db(), order.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(support_mails(&shop).await, 1);
}

/// A declined or canceled result takes no money: no payment transaction is kept for it.
#[tokio::test]
async fn a_result_that_took_no_money_records_no_payment() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    let declined = shop.result(&request, "DECLINE", "tx-declined");
    let Some(Paid::Order(after)) = shop.settle(&declined, Channel::Merchant).await.unwrap() else {
        panic!("the order")
    };
    assert_eq!(after.state, OrderState::Declined);
    assert!(
        orders::transactions(shop.store.db(), order.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `kill -9` between taking a payment result's job and acting on it: the dead process's
/// claim is renewed by nobody, so another process's worker takes the job back when its
/// lease lapses and fulfils the order once, with one receipt and one edX enrollment.
#[tokio::test]
async fn a_payment_whose_processing_process_died_is_fulfilled_once_by_another() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    let accepted = shop.result(&request, "ACCEPT", "tx-killed");
    services::commerce::payment::receive(
        &shop.store,
        &shop.front,
        &accepted,
        Channel::Merchant,
        shop.now,
    )
    .await
    .unwrap();
    // The dead process had taken every job due, the processing one among them.
    let claimed = jobs::claim_batch(
        shop.store.db(),
        "a-process-that-died",
        std::time::Duration::from_millis(200),
        chrono::Utc::now(),
        100,
    )
    .await
    .unwrap();
    assert!(
        claimed.iter().any(|j| j.kind == "commerce.process_payment"),
        "{claimed:?}"
    );
    services::testing::drain(services::Context {
        storefront: Some(std::sync::Arc::new(shop.front.clone())),
        ..services::testing::context(&shop.store)
    })
    .await;
    assert_eq!(state_of(&shop, order.id).await.state, OrderState::Fulfilled);
    assert_eq!(enrollments(&shop, ada.id).await, 1);
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%Purchase Order Receipt%'")
            .await,
        1,
        "one receipt"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.sync_enrollment'")
            .await,
        1
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'commerce.process_payment' AND state = 'succeeded'")
            .await,
        1
    );
}

/// The learner whose payment was held is told so, on the receipt the browser returns to:
/// never "nothing was charged", never a prompt to pay again.
#[tokio::test]
async fn a_learner_whose_payment_was_held_is_told_it_was_received() {
    let app = crate::app::app().await;
    let shop = Shop {
        store: app.store.clone(),
        view: store::catalog::read::load(app.store.db()).await.unwrap(),
        now: chrono::Utc::now(),
        front: crate::common::shop::storefront(),
    };
    let ada = app.learner.clone();
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&ada).await;
    shop.deliver(&shop.result(&request, "CANCEL", "tx-c"), Channel::Browser)
        .await
        .unwrap();
    let late: Vec<(String, String)> = shop
        .result(&request, "ACCEPT", "tx-late")
        .into_iter()
        .collect();
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(late.iter())
        .finish();
    let reply = app
        .request(
            "192.0.2.1",
            &[],
            &axum::http::Method::POST,
            "/checkout/result/",
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await;
    assert_eq!(
        reply.location.as_deref(),
        Some(format!("/orders/{}/", order.id).as_str()),
        "the receipt, not the basket"
    );
    let receipt = app
        .request(
            "192.0.2.1",
            &app.identities[1].1,
            &axum::http::Method::GET,
            &format!("/orders/{}/", order.id),
            None,
        )
        .await;
    assert!(
        receipt.body.contains("We received your payment"),
        "{}",
        receipt.body
    );
    assert!(!receipt.body.contains("nothing was charged"));
    // Staff see it from their home page to the order, with what they can do about it.
    let staff = &app.identities[2].1;
    let home = app
        .request(
            "192.0.2.1",
            staff,
            &axum::http::Method::GET,
            "/staff/",
            None,
        )
        .await;
    assert!(
        home.body.contains("1 order needs attention"),
        "{}",
        home.body
    );
    let queue = app
        .request(
            "192.0.2.1",
            staff,
            &axum::http::Method::GET,
            "/staff/orders/?attention=1",
            None,
        )
        .await;
    assert!(queue.body.contains(&order.reference_number));
    let page = app
        .request(
            "192.0.2.1",
            staff,
            &axum::http::Method::GET,
            &format!("/staff/orders/{}", order.id),
            None,
        )
        .await;
    for expected in [
        "Payments taken without fulfilment",
        "tx-late",
        "Refund this payment",
        "Fulfil the order for this payment",
    ] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
}
