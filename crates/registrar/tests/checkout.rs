//! Checkout and the processor's answer through the services, on the demo's synthetic
//! catalog and the backend `REGISTRAR_TEST_DATABASE_URL` picks: signed requests, the two
//! copies of each result, replays, tampering, amount mismatches, free orders, and a crash
//! between receiving a result and acting on it.

use std::collections::HashMap;
use std::sync::Arc;

use domain::Money;
use domain::commerce::order::OrderState;
use domain::commerce::pricing::{Kind, Redemption};
use integrations::cybersource::secure_acceptance;
use services::commerce::basket::{self, BasketError};
use services::commerce::bulk;
use services::commerce::checkout::Checkout;
use services::commerce::payment::{self, Channel, Paid, PaymentError};
use store::accounts::User;
use store::commerce::baskets::Owner;
use store::commerce::bulk_orders;
use store::commerce::discounts;
use store::commerce::orders;

mod common;

use common::shop::{SECRET, Shop, discount, shop, shop_with};

#[tokio::test]
async fn a_paid_order_is_signed_reused_fulfilled_once_from_either_copy() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    let product = shop.on_sale()[0];
    shop.fill(&ada, product).await;
    let (order, fields) = shop.pay(&ada).await;
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(
        order.reference_number,
        format!("registrar-test-{}", order.id)
    );
    let form: HashMap<String, String> = fields.iter().cloned().collect();
    assert_eq!(
        secure_acceptance::verify(SECRET, &form),
        Ok(()),
        "every field we render is signed"
    );
    assert_eq!(form["amount"], order.amount_due().to_decimal().to_string());
    assert_eq!(form["customer_ip_address"], "203.0.113.7");
    let (again, _) = shop.pay(&ada).await;
    assert_eq!(
        again.id, order.id,
        "a second checkout reuses the pending order"
    );

    let accepted = shop.result(&fields, "ACCEPT", "tx-1");
    let after = shop
        .deliver(&accepted, Channel::Browser)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, OrderState::Fulfilled);
    let replay = shop
        .deliver(&accepted, Channel::Merchant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replay.state, OrderState::Fulfilled);
    let id = order.id;
    assert_eq!(
        shop.count(&format!(
            "SELECT COUNT(*) AS n FROM order_transitions WHERE order_id = {id}"
        ))
        .await,
        2,
        "created pending, then fulfilled once"
    );
    assert_eq!(
        shop.count(&format!(
            "SELECT COUNT(*) AS n FROM transactions WHERE order_id = {id}"
        ))
        .await,
        1
    );
    assert_eq!(
        shop.count(&format!(
            "SELECT COUNT(*) AS n FROM payment_responses WHERE order_id = {id} AND processed = true"
        ))
        .await,
        2,
        "both copies are kept"
    );
    let enrollments = store::enrollments::of_user(shop.store.db(), ada.id)
        .await
        .unwrap();
    assert_eq!(enrollments.len(), 1);
    assert_ne!(enrollments[0].mode, "audit", "the paid track");
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.sync_enrollment'")
            .await,
        1
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send'")
            .await,
        1,
        "one receipt"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'crm.sync_deal' AND payload LIKE '%\"order\"%'")
            .await,
        1,
        "checkout and payment queue one CRM deal sync between them"
    );
    assert!(
        store::commerce::baskets::find(shop.store.db(), &Owner::User(ada.id))
            .await
            .unwrap()
            .is_none(),
        "the basket is cleared"
    );
    assert!(
        matches!(
            basket::add(
                shop.store.db(),
                &shop.view,
                &Owner::User(ada.id),
                product,
                shop.now
            )
            .await,
            Err(BasketError::AlreadyPurchased)
        ),
        "it cannot be bought twice"
    );
}

#[tokio::test]
async fn tampered_mismatched_and_refused_results_fulfil_nothing() {
    let shop = shop().await;
    let products = shop.on_sale();
    let ada = shop.learner("ada").await;
    shop.fill(&ada, products[0]).await;
    let (order, fields) = shop.pay(&ada).await;
    let mut tampered = shop.result(&fields, "ACCEPT", "tx-2");
    tampered.insert("req_amount".into(), "0.01".into());
    assert!(matches!(
        shop.deliver(&tampered, Channel::Merchant).await,
        Err(PaymentError::BadSignature(_))
    ));
    assert_eq!(
        orders::find(shop.store.db(), order.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Pending
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM payment_responses WHERE signature_valid = false")
            .await,
        1,
        "the refused post is kept"
    );

    // Correctly signed, but for another amount (the basket changed while paying).
    let mut cheaper = fields.clone();
    for (k, v) in &mut cheaper {
        if k == "amount" {
            *v = "1.00".into();
        }
    }
    let paid_less = shop.result(&cheaper, "ACCEPT", "tx-3");
    let after = shop
        .deliver(&paid_less, Channel::Merchant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, OrderState::Errored);
    assert!(after.flag.unwrap().contains("paid 1.00 USD"));
    assert!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .is_empty()
    );

    for (name, decision, state) in [
        ("bob", "DECLINE", OrderState::Declined),
        ("cyd", "CANCEL", OrderState::Canceled),
        ("dee", "REVIEW", OrderState::Canceled),
        ("eve", "ERROR", OrderState::Errored),
    ] {
        let learner = shop.learner(name).await;
        shop.fill(&learner, products[1]).await;
        let (_, fields) = shop.pay(&learner).await;
        let after = shop
            .deliver(
                &shop.result(&fields, decision, &format!("tx-{name}")),
                Channel::Browser,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.state, state, "{decision}");
    }
    let mut elsewhere = fields.clone();
    for (k, v) in &mut elsewhere {
        if k == "reference_number" {
            *v = "registrar-test-999999".into();
        }
    }
    let unknown = shop.result(&elsewhere, "ACCEPT", "tx-unknown");
    assert!(matches!(
        shop.deliver(&unknown, Channel::Merchant).await,
        Err(PaymentError::UnknownOrder(_))
    ));
}

#[tokio::test]
async fn codes_price_the_basket_and_a_free_order_skips_the_processor() {
    let shop = shop().await;
    let products = shop.on_sale();
    discount(
        &shop,
        "AUTO5",
        Kind::DollarsOff(Money::parse("5").unwrap()),
        Redemption::Unlimited,
        true,
    )
    .await;
    discount(
        &shop,
        "FREE",
        Kind::PercentOff("100".parse().unwrap()),
        Redemption::OneTime,
        false,
    )
    .await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, products[0]).await;
    let priced = basket::priced(
        shop.store.db(),
        &shop.view,
        &Owner::User(ada.id),
        Some("US"),
        shop.now,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        priced.quote.discount,
        Money::parse("5").unwrap(),
        "the automatic discount applies without a code"
    );
    basket::apply_code(
        shop.store.db(),
        &shop.view,
        &Owner::User(ada.id),
        " FREE ",
        shop.now,
    )
    .await
    .unwrap();
    let Checkout::Free { order } = shop.checkout(&ada).await.unwrap() else {
        panic!("a 100 % code needs no payment");
    };
    assert_eq!(order.state, OrderState::Fulfilled);
    assert_eq!(order.total, Money::ZERO);
    assert_eq!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .len(),
        1
    );

    let bob = shop.learner("bob").await;
    shop.fill(&bob, products[0]).await;
    let refused = basket::apply_code(
        shop.store.db(),
        &shop.view,
        &Owner::User(bob.id),
        "FREE",
        shop.now,
    )
    .await;
    assert!(
        matches!(&refused, Err(BasketError::Code { why, .. }) if why.contains("used up")),
        "a one-time code counts its fulfilled redemption: {refused:?}"
    );
    assert!(matches!(
        basket::apply_code(
            shop.store.db(),
            &shop.view,
            &Owner::User(bob.id),
            "NOPE",
            shop.now
        )
        .await,
        Err(BasketError::Code { .. })
    ));
}

#[tokio::test]
async fn a_result_received_before_a_crash_is_acted_on_once_by_its_job() {
    let shop = shop().await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, shop.on_sale()[0]).await;
    let (order, fields) = shop.pay(&ada).await;
    let accepted = shop.result(&fields, "ACCEPT", "tx-crash");
    // The post is checked and recorded, then the process stops before acting on it.
    payment::receive(
        &shop.store,
        &shop.front,
        &accepted,
        Channel::Merchant,
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(
        orders::find(shop.store.db(), order.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Pending
    );
    // After the restart the worker runs the recorded job, and the browser's copy arrives.
    services::testing::drain(services::Context {
        site_url: "http://registrar.test".into(),
        mail_outbox: std::env::temp_dir().join("registrar-checkout-outbox"),
        storefront: Some(Arc::new(shop.front.clone())),
        ..services::testing::context(&shop.store)
    })
    .await;
    shop.deliver(&accepted, Channel::Browser).await.unwrap();
    let order = orders::find(shop.store.db(), order.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.state, OrderState::Fulfilled);
    assert_eq!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.sync_enrollment'")
            .await,
        1,
        "the edX enrollment is asked for once"
    );
}

use integrations::cybersource::refunds::{self as rest, Refunds};
use services::commerce::refunds::{self, Ask, Refund, RefundFailure, RequestRefusal};
use simulators::cybersource as sim;

async fn cybersource() -> (std::sync::Arc<sim::CyberSource>, String) {
    let state = std::sync::Arc::new(sim::CyberSource::default());
    let url = simulators::serve(sim::router(state.clone())).await;
    (state, url)
}

fn rest_client(url: &str, secret: &str) -> Refunds {
    Refunds::new(rest::Config {
        base_url: url.into(),
        merchant_id: sim::MERCHANT_ID.into(),
        key_id: sim::REST_KEY_ID.into(),
        shared_secret: secret.into(),
    })
}

impl Shop {
    /// A paid, fulfilled order of `name`, its payment known to the simulated processor.
    async fn paid(
        &self,
        name: &str,
        product: i64,
        processor: &sim::CyberSource,
    ) -> (User, orders::Order) {
        let learner = self.learner(name).await;
        self.fill(&learner, product).await;
        let (_, fields) = self.pay(&learner).await;
        let accepted = self.result(&fields, "ACCEPT", &format!("pay-{name}"));
        processor.results.lock().unwrap().push(accepted.clone());
        let order = self
            .deliver(&accepted, Channel::Merchant)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(order.state, OrderState::Fulfilled);
        (learner, order)
    }
}

#[tokio::test]
async fn staff_refund_through_the_rest_api_ends_the_enrollment_once() {
    let shop = shop().await;
    let (processor, url) = cybersource().await;
    let client = rest_client(&url, sim::REST_SECRET);
    let product = shop.on_sale()[0];
    let (ada, order) = shop.paid("ada", product, &processor).await;

    let refused = refunds::request(
        &shop.store,
        ada.id,
        &Ask {
            order_id: order.id,
            reason: "other",
            reason_text: "",
            consent: false,
        },
        Some(&shop.front),
        shop.now,
    )
    .await;
    assert!(matches!(refused, Err(RequestRefusal::Consent)));
    refunds::request(
        &shop.store,
        ada.id,
        &Ask {
            order_id: order.id,
            reason: "financial_reasons",
            reason_text: "changed jobs",
            consent: true,
        },
        Some(&shop.front),
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(
        store::commerce::refund_requests::pending(shop.store.db())
            .await
            .unwrap()
            .len(),
        1
    );

    let wrong = rest_client(&url, "d3Jvbmctc2VjcmV0");
    let ask = Refund {
        amount: None,
        reason: "asked by the learner",
        unenroll: true,
        by: "staff@example.edu",
    };
    assert!(
        matches!(
            refunds::refund(
                &shop.store,
                &shop.view,
                Some(&wrong),
                order.id,
                &ask,
                shop.now
            )
            .await,
            Err(RefundFailure::Processor(_))
        ),
        "a request the processor cannot authenticate refunds nothing"
    );
    assert_eq!(
        orders::find(shop.store.db(), order.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Fulfilled
    );

    let refunded = refunds::refund(
        &shop.store,
        &shop.view,
        Some(&client),
        order.id,
        &ask,
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(refunded.state, OrderState::Refunded);
    let kinds: Vec<String> = orders::transactions(shop.store.db(), order.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(kinds, ["payment", "refund"]);
    let enrollment = &store::enrollments::of_user(shop.store.db(), ada.id)
        .await
        .unwrap()[0];
    let site = shop.view.run(enrollment.run_id).unwrap().0.site;
    match site {
        domain::catalog::Site::Xpro => {
            assert!(!enrollment.active && enrollment.change_status.as_deref() == Some("refunded"));
        }
        domain::catalog::Site::Mitxonline => {
            assert!(
                enrollment.active && enrollment.mode == "audit",
                "MITx Online keeps the audit track"
            );
        }
    }
    assert!(
        store::commerce::refund_requests::pending(shop.store.db())
            .await
            .unwrap()
            .is_empty(),
        "the request is approved"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%\"subject\":\"Refund of order%'").await,
        1
    );
    assert!(matches!(
        refunds::refund(
            &shop.store,
            &shop.view,
            Some(&client),
            order.id,
            &ask,
            shop.now
        )
        .await,
        Err(RefundFailure::NotFulfilled(OrderState::Refunded))
    ));

    // Refunded at the processor already (our record of it lost): refunded here too, once.
    let (_, second) = shop.paid("bob", product, &processor).await;
    let payment = orders::transactions(shop.store.db(), second.id)
        .await
        .unwrap()
        .remove(0);
    client
        .refund(
            &payment.transaction_id,
            &second.reference_number,
            &payment.amount.to_decimal().to_string(),
            "USD",
        )
        .await
        .unwrap();
    let again = refunds::refund(
        &shop.store,
        &shop.view,
        Some(&client),
        second.id,
        &ask,
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(again.state, OrderState::Refunded);
    assert!(
        orders::transitions(shop.store.db(), second.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .cause
            .contains("refunded it already")
    );
}

fn purchase<'a>(
    product_id: i64,
    seats: i32,
    code: &'a str,
    contract: &'a str,
) -> bulk::Purchase<'a> {
    bulk::Purchase {
        email: "buyer@corp.example",
        num_seats: seats,
        product_id,
        code,
        contract_number: Some(contract),
    }
}

#[tokio::test]
async fn a_paid_bulk_purchase_makes_one_single_use_code_per_seat_once() {
    let shop = shop().await;
    let (product, list) = shop.xpro_product();
    shop.bulk_code("TEAM10", 10, Redemption::OneTime).await;
    let Checkout::Pay { order, fields, .. } = shop
        .bulk_checkout(&purchase(product, 3, "TEAM10", "PO-77"))
        .await
        .unwrap()
    else {
        panic!("a bulk purchase with a price is paid through the processor")
    };
    let gross = list.minor * 3;
    let off = (gross + 5) / 10;
    assert_eq!(
        order.total.minor,
        gross - off,
        "10 % off seats × price, half-up"
    );
    assert_eq!(order.discount.minor, off);
    assert_eq!(
        order.reference_number,
        format!("registrar-bulk-test-{}", order.id)
    );
    let form: HashMap<String, String> = fields.iter().cloned().collect();
    assert_eq!(secure_acceptance::verify(SECRET, &form), Ok(()));
    assert_eq!(form["item_0_quantity"], "3");
    assert_eq!(form["item_0_code"], "enrollment_code");
    assert_eq!(form["merchant_defined_data1"], "PO-77");
    assert_eq!(form["amount"], order.total.to_decimal().to_string());
    assert!(
        !form.contains_key("tax_amount"),
        "bulk purchases carry no tax"
    );

    let accepted = shop.result(&fields, "ACCEPT", "tx-bulk-1");
    let Some(Paid::Bulk(paid)) = shop.settle(&accepted, Channel::Browser).await.unwrap() else {
        panic!("the result names the bulk purchase")
    };
    assert_eq!(paid.state, OrderState::Fulfilled);
    let Some(Paid::Bulk(again)) = shop.settle(&accepted, Channel::Merchant).await.unwrap() else {
        panic!("the merchant copy names it too")
    };
    assert_eq!(again.state, OrderState::Fulfilled);
    let codes = bulk_orders::codes(shop.store.db(), order.id).await.unwrap();
    assert_eq!(codes.len(), 3, "one code per seat, made once");
    let first = discounts::by_code(shop.store.db(), &codes[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.payment_transaction.as_deref(),
        Some("PO-77"),
        "the codes name the contract they were paid under"
    );
    assert!(codes.iter().all(|(_, redeemed)| !redeemed));
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send'")
            .await,
        1,
        "one bulk receipt"
    );

    // The contract is spent, and so is the single-use bulk code.
    assert!(matches!(
        shop.bulk_checkout(&purchase(product, 2, "", "po-77")).await,
        Err(bulk::BulkError::ContractUsed)
    ));
    assert!(matches!(
        shop.bulk_checkout(&purchase(product, 2, "TEAM10", ""))
            .await,
        Err(bulk::BulkError::InvalidCode)
    ));

    // A learner redeems one code: nothing to pay, enrolled on the paid track.
    let ada = shop.learner("ada").await;
    shop.fill(&ada, product).await;
    let owner = Owner::User(ada.id);
    basket::apply_code(shop.store.db(), &shop.view, &owner, &codes[0].0, shop.now)
        .await
        .unwrap();
    assert!(matches!(
        shop.checkout(&ada).await.unwrap(),
        Checkout::Free { .. }
    ));
    let enrollments = store::enrollments::of_user(shop.store.db(), ada.id)
        .await
        .unwrap();
    assert_eq!(enrollments.len(), 1);
    assert_ne!(enrollments[0].mode, "audit");
    let codes = bulk_orders::codes(shop.store.db(), order.id).await.unwrap();
    assert_eq!(codes.iter().filter(|(_, used)| *used).count(), 1);

    // The same code is spent for the next learner.
    let bob = shop.learner("bob").await;
    shop.fill(&bob, product).await;
    assert!(matches!(
        basket::apply_code(
            shop.store.db(),
            &shop.view,
            &Owner::User(bob.id),
            &codes[0].0,
            shop.now
        )
        .await,
        Err(BasketError::Code { .. })
    ));
}

#[tokio::test]
async fn bulk_codes_never_price_a_basket_and_bad_purchases_are_refused() {
    let shop = shop().await;
    let (product, _) = shop.xpro_product();
    shop.bulk_code("CORP", 20, Redemption::Unlimited).await;
    let ada = shop.learner("ada").await;
    shop.fill(&ada, product).await;
    assert!(matches!(
        basket::apply_code(
            shop.store.db(),
            &shop.view,
            &Owner::User(ada.id),
            "CORP",
            shop.now
        )
        .await,
        Err(BasketError::Code { .. })
    ));
    let refused = |seats: i32, email: &'static str, code: &'static str| bulk::Purchase {
        email,
        num_seats: seats,
        product_id: product,
        code,
        contract_number: None,
    };
    assert!(matches!(
        shop.bulk_checkout(&refused(0, "buyer@corp.example", ""))
            .await,
        Err(bulk::BulkError::SeatCount)
    ));
    assert!(matches!(
        shop.bulk_checkout(&refused(2, "not an email", "")).await,
        Err(bulk::BulkError::Email)
    ));
    assert!(matches!(
        shop.bulk_checkout(&refused(2, "buyer@corp.example", "NOPE"))
            .await,
        Err(bulk::BulkError::InvalidCode)
    ));
    let mitx = shop
        .on_sale()
        .into_iter()
        .find(|id| {
            services::commerce::item(&shop.view, *id)
                .is_some_and(|i| i.site == domain::catalog::Site::Mitxonline)
        })
        .expect("the synthetic catalog sells MITx Online runs");
    assert!(matches!(
        shop.bulk_checkout(&bulk::Purchase {
            product_id: mitx,
            ..refused(2, "buyer@corp.example", "")
        })
        .await,
        Err(bulk::BulkError::NotSoldInBulk)
    ));
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_orders").await,
        0,
        "a refused purchase leaves nothing behind"
    );

    // Declined, then a payment of the wrong amount: no codes either way.
    let Checkout::Pay { order, fields, .. } = shop
        .bulk_checkout(&refused(2, "buyer@corp.example", "CORP"))
        .await
        .unwrap()
    else {
        panic!("expected a payment")
    };
    let declined = shop.result(&fields, "DECLINE", "tx-bulk-2");
    let Some(Paid::Bulk(after)) = shop.settle(&declined, Channel::Merchant).await.unwrap() else {
        panic!("the bulk purchase")
    };
    assert_eq!(after.state, OrderState::Declined);
    let Checkout::Pay {
        order: second,
        fields,
        ..
    } = shop
        .bulk_checkout(&refused(2, "buyer@corp.example", "CORP"))
        .await
        .unwrap()
    else {
        panic!("expected a payment")
    };
    assert_ne!(second.id, order.id);
    let mut short: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(k, _)| k != "signature" && k != "signed_field_names")
        .collect();
    for (k, v) in &mut short {
        if k == "amount" {
            *v = "1.00".into();
        }
    }
    let underpaid = shop.result(
        &secure_acceptance::sign(SECRET, short),
        "ACCEPT",
        "tx-bulk-3",
    );
    let Some(Paid::Bulk(after)) = shop.settle(&underpaid, Channel::Merchant).await.unwrap() else {
        panic!("the bulk purchase")
    };
    assert_eq!(after.state, OrderState::Errored);
    assert!(after.flag.is_some(), "flagged for staff");
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_order_codes")
            .await,
        0
    );
}

#[tokio::test]
async fn a_fully_discounted_bulk_purchase_is_fulfilled_without_the_processor() {
    let shop = shop().await;
    let (product, _) = shop.xpro_product();
    shop.bulk_code("GIFT", 100, Redemption::Unlimited).await;
    let Checkout::Free { order } = shop
        .bulk_checkout(&purchase(product, 2, "GIFT", ""))
        .await
        .unwrap()
    else {
        panic!("nothing to pay")
    };
    assert_eq!(order.state, OrderState::Fulfilled);
    assert_eq!(order.total, Money::ZERO);
    assert_eq!(
        bulk_orders::codes(shop.store.db(), order.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        bulk_orders::transitions(shop.store.db(), order.id)
            .await
            .unwrap()
            .last()
            .map(|t| t.cause.clone()),
        Some("no payment required".to_string())
    );
}

#[tokio::test]
async fn a_course_blocked_in_the_learners_country_is_neither_sold_nor_enrolled() {
    let shop = shop_with(|catalog| {
        for course in &mut catalog.courses {
            course.blocked_countries = vec!["US".into()];
        }
    })
    .await;
    let product = shop.on_sale()[0];
    let ada = shop.learner("ada").await;
    assert!(matches!(
        basket::add(
            shop.store.db(),
            &shop.view,
            &Owner::User(ada.id),
            product,
            shop.now
        )
        .await,
        Err(BasketError::CountryBlocked)
    ));
    // A visitor may fill a basket; once it is the learner's, checkout is refused.
    let visitor = Owner::Anonymous("visitor".into());
    basket::add(shop.store.db(), &shop.view, &visitor, product, shop.now)
        .await
        .unwrap();
    store::commerce::baskets::hand_over(shop.store.db(), "visitor", ada.id, shop.now)
        .await
        .unwrap();
    assert!(matches!(
        shop.checkout(&ada).await,
        Err(BasketError::NotForSale(why)) if why.contains("country")
    ));
    let free_run = shop
        .view
        .courses
        .iter()
        .filter(|c| c.live)
        .flat_map(|c| c.runs.iter().map(move |r| (c, r)))
        .find(|(c, r)| {
            r.has_mode("audit")
                && domain::catalog::predicates::open_for_enrollment(c.site, &r.window, shop.now)
        })
        .expect("an open run with a free track")
        .1
        .id;
    assert!(matches!(
        services::enrollments::enroll_free(&shop.store, &shop.view, ada.id, free_run, shop.now)
            .await,
        Err(services::enrollments::EnrollError::CountryBlocked)
    ));
    assert!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .is_empty(),
        "nothing was enrolled"
    );
}

#[tokio::test]
async fn a_paid_order_becomes_a_processed_hubspot_deal_with_its_line_contact_and_product() {
    let shop = shop().await;
    let (processor, _) = cybersource().await;
    let product = shop.on_sale()[0];
    let (ada, order) = shop.paid("ada", product, &processor).await;
    let hubspot = Arc::new(simulators::hubspot::HubSpot::default());
    let url = simulators::serve(simulators::hubspot::router(hubspot.clone())).await;
    services::testing::drain(services::Context {
        site_url: "http://registrar.test".into(),
        mail_outbox: std::env::temp_dir().join("registrar-checkout-outbox"),
        crm: Some(Arc::new(services::crm::Crm {
            hubspot: integrations::hubspot::HubSpot::new(&url, simulators::hubspot::TOKEN),
            prefix: "TEST".into(),
            pipeline: "default".into(),
            stages: services::crm::Stages::default(),
            signup_form: None,
        })),
        storefront: Some(Arc::new(shop.front.clone())),
        ..services::testing::context(&shop.store)
    })
    .await;
    let deal = hubspot
        .find("deals", "unique_app_id", &format!("TEST-{}", order.id))
        .expect("the order's deal");
    assert_eq!(deal.properties["dealstage"], "processed");
    assert_eq!(deal.properties["status"], "fulfilled");
    assert_eq!(deal.properties["amount"], order.total.to_string());
    assert!(
        deal.properties["dealname"]
            .as_str()
            .unwrap()
            .ends_with(&format!("-ORDER-{}", order.id))
    );
    let contact = hubspot
        .find("contacts", "email", &ada.email)
        .expect("the buyer's contact");
    let line = &hubspot.objects("line_items")[0];
    let product = hubspot
        .find("products", "unique_app_id", &format!("TEST-{product}"))
        .expect("the product sold");
    assert_eq!(line.properties["hs_product_id"], product.id.as_str());
    let associations = hubspot.associations();
    assert!(associations.contains(&(
        "deals".into(),
        deal.id.clone(),
        "contacts".into(),
        contact.id.clone()
    )));
    assert!(associations.contains(&(
        "line_items".into(),
        line.id.clone(),
        "deals".into(),
        deal.id.clone()
    )));
}

/// The refund worksheet of xPRO's enrollment-change sheet: three header rows, then requests.
fn refund_sheet(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut sheet = vec![
        vec!["Refund requests".to_string()],
        Vec::new(),
        vec!["Form response id".to_string()],
    ];
    sheet.extend(rows);
    sheet
}

fn cells(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[tokio::test]
async fn a_refund_request_row_refunds_once_marks_its_row_and_a_bad_row_gets_its_error() {
    use services::sheets::{ProcessSheets, RenewFileWatches, Sheets, Webhook, Worksheet};
    let shop = shop().await;
    let (processor, cybersource_url) = cybersource().await;
    let product = shop.on_sale()[0];
    let (ada, order) = shop.paid("ada", product, &processor).await;
    let view = store::catalog::read::load(shop.store.db()).await.unwrap();
    let text_id = services::commerce::item(&view, product)
        .unwrap()
        .readable_id;

    let google = Arc::new(simulators::google::Google::default());
    let google_url = simulators::serve(simulators::google::router(google.clone())).await;
    let order_id = order.id.to_string();
    google.set_sheet(
        "changes",
        "Refunds",
        refund_sheet(vec![
            cells(&[
                "101",
                "11/20/2026",
                &ada.email,
                "ZD-1",
                "staff@example.edu",
                &text_id,
                &order_id,
                "Paid via Cybersource",
                "finance@example.edu",
                "11/21/2026",
                "ok",
            ]),
            cells(&[
                "102",
                "11/20/2026",
                "nobody@example.edu",
                "ZD-2",
                "staff@example.edu",
                &text_id,
                "999",
                "Enrollment Code",
            ]),
            cells(&[
                "103",
                "11/20/2026",
                &ada.email,
                "ZD-3",
                "staff@example.edu",
                &text_id,
                &order_id,
                "Paid via Cybersource",
            ]),
        ]),
    );
    let token = "drive-channel-token";
    let sheets_at = |address: &str| {
        Arc::new(Sheets {
            refunds: Some(Worksheet {
                spreadsheet: "changes".into(),
                title: "Refunds".into(),
                first_row: 4,
            }),
            webhook: Some(Webhook {
                address: address.to_string(),
                token: token.into(),
            }),
            refund_client: Some(Arc::new(rest_client(&cybersource_url, sim::REST_SECRET))),
            ..Sheets::new(simulators::google::client(&google_url))
        })
    };
    // Registrar, serving Drive's notifications (its handler checks the channel's token).
    let settings = web::Settings {
        schedules: Vec::new(),
        sheets: Some(sheets_at("unused")),
        ..common::settings("http://registrar.test")
    };
    let registrar = simulators::serve(web::router(web::AppState::new(
        shop.store.clone(),
        settings,
        web::system_clock(),
    )))
    .await;
    let sheets = sheets_at(&format!("{registrar}/api/sheets/watch/"));
    let run = |sheets: Arc<Sheets>| {
        let store = shop.store.clone();
        async move {
            services::testing::drain(services::Context {
                site_url: "http://registrar.test".into(),
                mail_outbox: std::env::temp_dir().join("registrar-checkout-outbox"),
                sheets: Some(sheets),
                storefront: Some(Arc::new(common::shop::storefront())),
                ..services::testing::context(&store)
            })
            .await;
        }
    };
    jobs::push(
        shop.store.db(),
        &RenewFileWatches::default(),
        jobs::Enqueue::default(),
    )
    .await
    .unwrap();
    jobs::push(
        shop.store.db(),
        &ProcessSheets::default(),
        jobs::Enqueue::default(),
    )
    .await
    .unwrap();
    run(sheets.clone()).await;

    let rows = google.rows("changes", "Refunds");
    assert_eq!(
        rows[3][11..14],
        ["Registrar".to_string(), rows[3][12].clone(), String::new()],
        "{:?}",
        rows[3]
    );
    assert!(!rows[3][12].is_empty(), "the completed date is written");
    assert_eq!(
        rows[4][13],
        "Error: User with email 'nobody@example.edu' not found"
    );
    assert!(
        rows[5].len() <= 11,
        "a row waiting for finance is left alone: {:?}",
        rows[5]
    );
    let refunded = orders::find(shop.store.db(), order.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refunded.state, OrderState::Refunded);
    assert!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .iter()
            .all(|e| !e.active),
        "the enrollment is ended"
    );
    let refund_mails = "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%\"subject\":\"Refund of order%'";
    assert_eq!(shop.count(refund_mails).await, 1, "the learner is told");
    assert_eq!(
        processor.refunded.lock().unwrap().len(),
        1,
        "the money went back once"
    );

    // Drive told Registrar about its own write-back; the same notification twice makes one run.
    assert!(
        !google.pushed.lock().unwrap().is_empty(),
        "Drive notified the channel"
    );
    let channel = store::sheets::watch(shop.store.db(), "changes")
        .await
        .unwrap()
        .unwrap()
        .channel_id;
    let http = integrations::http_client(10, reqwest::redirect::Policy::none());
    for _ in 0..2 {
        let answer = http
            .post(format!("{registrar}/api/sheets/watch/?sheet=enrollchange"))
            .header("X-Goog-Channel-ID", &channel)
            .header("X-Goog-Channel-Token", token)
            .header("X-Goog-Resource-State", "update")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let forged = http
        .post(format!("{registrar}/api/sheets/watch/?sheet=enrollchange"))
        .header("X-Goog-Channel-ID", &channel)
        .header("X-Goog-Channel-Token", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        403,
        "a notification without the channel's token is refused"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'sheets.process_requests' AND state = 'queued'").await,
        1,
        "notifications coalesce into one run"
    );

    // A crash between the refund and its record, and a sheet that lost its write-back: the
    // next run finds the order refunded and only writes the row again.
    for sql in [
        "DELETE FROM sheet_rows WHERE row_key = '101'",
        "UPDATE jobs SET run_at = created_at WHERE state = 'queued'",
    ] {
        sea_orm::ConnectionTrait::execute_unprepared(shop.store.db(), sql)
            .await
            .unwrap();
    }
    google
        .edit("changes", "Refunds", 4, 11, &cells(&["", "", ""]))
        .await
        .unwrap();
    run(sheets).await;
    let rows = google.rows("changes", "Refunds");
    assert_eq!(rows[3][11], "Registrar");
    assert!(!rows[3][12].is_empty());
    assert_eq!(
        processor.refunded.lock().unwrap().len(),
        1,
        "nothing is refunded twice"
    );
    assert_eq!(shop.count(refund_mails).await, 1, "nor mailed twice");
}

/// A payment taken without fulfilment is dealt with from the staff order page: the
/// second payment of an order is refunded through CyberSource (the order and its
/// enrollment stay), and an order canceled before CyberSource accepted its payment is
/// fulfilled after all. Each clears the flag; neither can be done twice.
#[tokio::test]
async fn staff_refund_or_fulfil_a_payment_taken_without_fulfilment() {
    use services::commerce::held::{self, HeldError};
    let shop = shop().await;
    let (processor, url) = cybersource().await;
    let client = rest_client(&url, sim::REST_SECRET);
    let products = shop.on_sale();

    let ada = shop.learner("ada").await;
    shop.fill(&ada, products[0]).await;
    let (order, request) = shop.pay(&ada).await;
    for tx in ["tx-once", "tx-twice"] {
        let accepted = shop.result(&request, "ACCEPT", tx);
        processor.results.lock().unwrap().push(accepted.clone());
        shop.deliver(&accepted, Channel::Merchant).await.unwrap();
    }
    let flagged = orders::find(shop.store.db(), order.id)
        .await
        .unwrap()
        .unwrap();
    assert!(flagged.flag.is_some());
    let left = held::unaccounted(
        &flagged,
        &orders::transactions(shop.store.db(), order.id)
            .await
            .unwrap(),
    );
    assert_eq!(
        left.iter()
            .map(|t| t.transaction_id.as_str())
            .collect::<Vec<_>>(),
        ["tx-twice"],
        "the first payment is the order's"
    );
    assert!(matches!(
        held::refund_payment(
            &shop.store,
            Some(&client),
            order.id,
            "tx-once",
            "staff@example.edu",
            shop.now
        )
        .await,
        Err(HeldError::NoSuchPayment(_))
    ));
    let after = held::refund_payment(
        &shop.store,
        Some(&client),
        order.id,
        "tx-twice",
        "staff@example.edu",
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(after.state, OrderState::Fulfilled);
    assert_eq!(after.flag, None, "nothing is left unaccounted");
    assert_eq!(
        store::enrollments::of_user(shop.store.db(), ada.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        held::refund_payment(
            &shop.store,
            Some(&client),
            order.id,
            "tx-twice",
            "staff@example.edu",
            shop.now
        )
        .await,
        Err(HeldError::NoSuchPayment(_))
    ));

    let bob = shop.learner("bob").await;
    shop.fill(&bob, products[1]).await;
    let (order, request) = shop.pay(&bob).await;
    shop.deliver(
        &shop.result(&request, "CANCEL", "tx-cancel"),
        Channel::Browser,
    )
    .await
    .unwrap();
    shop.deliver(
        &shop.result(&request, "ACCEPT", "tx-late"),
        Channel::Merchant,
    )
    .await
    .unwrap();
    assert!(matches!(
        held::fulfil(
            &shop.store,
            &shop.view,
            "http://registrar.test",
            ada_order_id(&shop, ada.id).await,
            "staff@example.edu",
            shop.now
        )
        .await,
        Err(HeldError::NotHeld(OrderState::Fulfilled))
    ));
    let fulfilled = held::fulfil(
        &shop.store,
        &shop.view,
        "http://registrar.test",
        order.id,
        "staff@example.edu",
        shop.now,
    )
    .await
    .unwrap();
    assert_eq!(fulfilled.state, OrderState::Fulfilled);
    assert_eq!(fulfilled.flag, None);
    assert_eq!(
        store::enrollments::of_user(shop.store.db(), bob.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        held::fulfil(
            &shop.store,
            &shop.view,
            "http://registrar.test",
            order.id,
            "staff@example.edu",
            shop.now
        )
        .await,
        Err(HeldError::NotHeld(OrderState::Fulfilled))
    ));
}

async fn ada_order_id(shop: &Shop, user: i64) -> i64 {
    orders::of_purchaser(shop.store.db(), user).await.unwrap()[0].id
}

/// Two staff members at once, one refunding a held payment and one fulfilling the order
/// for it (or one double-clicking "Refund"): one wins; the learner never keeps both the
/// enrollment and the money, and the payment is refunded at most once.
#[tokio::test]
async fn refunding_and_fulfilling_one_held_payment_at_once_does_only_one() {
    use services::commerce::held;
    let shop = shop().await;
    let (processor, url) = cybersource().await;
    let client = rest_client(&url, sim::REST_SECRET);
    let bob = shop.learner("bob").await;
    shop.fill(&bob, shop.on_sale()[0]).await;
    let (order, request) = shop.pay(&bob).await;
    shop.deliver(&shop.result(&request, "CANCEL", "tx-c"), Channel::Browser)
        .await
        .unwrap();
    let late = shop.result(&request, "ACCEPT", "tx-late");
    processor.results.lock().unwrap().push(late.clone());
    shop.deliver(&late, Channel::Merchant).await.unwrap();
    let by = "staff@example.edu";
    let (refunded, fulfilled, again) = tokio::join!(
        held::refund_payment(
            &shop.store,
            Some(&client),
            order.id,
            "tx-late",
            by,
            shop.now
        ),
        held::fulfil(
            &shop.store,
            &shop.view,
            "http://registrar.test",
            order.id,
            by,
            shop.now
        ),
        held::refund_payment(
            &shop.store,
            Some(&client),
            order.id,
            "tx-late",
            by,
            shop.now
        ),
    );
    let wins = [refunded.is_ok(), fulfilled.is_ok(), again.is_ok()];
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "{refunded:?} {fulfilled:?} {again:?}"
    );
    let refunds = orders::transactions(shop.store.db(), order.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == "refund")
        .count();
    let enrolled = !store::enrollments::of_user(shop.store.db(), bob.id)
        .await
        .unwrap()
        .is_empty();
    assert!(
        (refunds == 1 && !enrolled) || (refunds == 0 && enrolled),
        "{refunds} refunds, enrolled {enrolled}"
    );
}
