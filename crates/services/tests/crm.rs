//! HubSpot sync against the simulator over real HTTP, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks: a burst of contact changes coalesces into batches,
//! a 429 storm is outlasted without losing a contact, an unchanged contact is not
//! sent again, a basket is a checkout-abandoned deal until it is emptied, and MITx Online
//! certificates are custom objects of the learner's contact, archived when removed.

use jobs::Job as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use integrations::hubspot::HubSpot;
use services::Context;
use services::crm::{Crm, SignUpForm, Stages};
use simulators::hubspot as sim;
use store::Store;

async fn hubspot() -> (Arc<sim::HubSpot>, String) {
    let state = Arc::new(sim::HubSpot::default());
    let url = simulators::serve(sim::router(state.clone())).await;
    (state, url)
}

/// Runs the jobs with HubSpot at `url`; a 429 longer than `max_wait` is left to the job's retry.
async fn drain(store: &Store, url: &str, max_wait: Duration) {
    let mut client = HubSpot::new(url, sim::TOKEN);
    client.max_wait = max_wait;
    services::testing::drain(Context {
        mail_outbox: std::env::temp_dir().join("registrar-crm-outbox"),
        crm: Some(Arc::new(Crm {
            hubspot: client,
            prefix: "TEST".into(),
            pipeline: "default".into(),
            stages: Stages::default(),
            signup_form: Some(SignUpForm {
                url: url.to_string(),
                portal_id: "portal-1".into(),
                form_id: "signup".into(),
            }),
        })),
        ..services::testing::context(store)
    })
    .await;
}

async fn learners(store: &Store, name: &str, count: usize) -> Vec<i64> {
    let now = Utc::now();
    let txn = store.write().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..count {
        let user = store::testing::learner(&txn, &format!("{name}{i}"), now)
            .await
            .unwrap();
        services::crm::contact_changed(&txn, user.id, now)
            .await
            .unwrap();
        ids.push(user.id);
    }
    txn.commit().await.unwrap();
    ids
}

async fn count(store: &Store, sql: &str) -> i64 {
    store::testing::count(store, sql).await
}

#[tokio::test]
async fn a_burst_of_contact_changes_goes_out_in_batches_of_a_hundred_once() {
    let store = store::testing::fresh_store().await;
    let (sim, url) = hubspot().await;
    let ids = learners(&store, "learner", 250).await;
    // Another change to a learner already marked: still one contact.
    services::crm::contact_changed(store.db(), ids[0], Utc::now())
        .await
        .unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'crm.sync_contacts'"
        )
        .await,
        1,
        "251 changes, one sweep queued"
    );
    drain(&store, &url, Duration::from_secs(10)).await;
    let contacts = sim.objects("contacts");
    assert_eq!(contacts.len(), 250);
    let learner7 = sim
        .find("contacts", "email", "learner7@example.edu")
        .unwrap();
    assert_eq!(learner7.properties["firstname"], "learner7");
    assert_eq!(
        learner7.properties["state"], "MA",
        "HubSpot takes the subdivision's own code"
    );
    let batches: Vec<usize> = sim
        .batches
        .lock()
        .unwrap()
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(batches, vec![100, 100, 50]);
    assert_eq!(services_waiting(&store).await, 0);

    // Marked again without a change: nothing is sent.
    services::crm::contact_changed(store.db(), ids[3], Utc::now())
        .await
        .unwrap();
    drain(&store, &url, Duration::from_secs(10)).await;
    assert_eq!(
        sim.batches.lock().unwrap().len(),
        3,
        "an unchanged contact is not sent again"
    );
    assert_eq!(services_waiting(&store).await, 0);
}

async fn services_waiting(store: &Store) -> i64 {
    store::crm::waiting(store.db(), "contact").await.unwrap()
}

#[tokio::test]
async fn a_rate_limit_storm_is_outlasted_without_losing_a_contact() {
    let store = store::testing::fresh_store().await;
    let (sim, url) = hubspot().await;
    learners(&store, "early", 120).await;
    // Short limits are waited out in place, as Retry-After asks.
    sim.throttle_next.store(2, Ordering::SeqCst);
    drain(&store, &url, Duration::from_secs(10)).await;
    assert_eq!(sim.objects("contacts").len(), 120);

    // A storm: every limit fails the attempt; the job comes back until HubSpot lets it.
    let more = learners(&store, "late", 30).await;
    let learner = store::accounts::find(store.db(), more[0])
        .await
        .unwrap()
        .unwrap();
    sim.throttle_next.store(12, Ordering::SeqCst);
    drain(&store, &url, Duration::ZERO).await;
    assert_eq!(sim.objects("contacts").len(), 150, "every contact arrived");
    assert!(sim.find("contacts", "email", &learner.email).is_some());
    assert_eq!(services_waiting(&store).await, 0);
    let attempts = count(
        &store,
        "SELECT CAST(MAX(attempts) AS BIGINT) AS n FROM jobs WHERE kind = 'crm.sync_contacts'",
    )
    .await;
    assert!(
        attempts > 10,
        "the storm cost attempts ({attempts}), not contacts"
    );
}

#[tokio::test]
async fn a_basket_is_a_checkout_abandoned_deal_until_it_is_emptied() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "xpro_programs.json").await;
    let (hubspot, url) = hubspot().await;
    let now = Utc::now();
    let ada = store::testing::learner(store.db(), "ada", now)
        .await
        .unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let (readable_id, product) = view
        .programs
        .iter()
        .find_map(|p| {
            let product = p.product.as_ref().filter(|p| p.is_active)?;
            p.live.then(|| (p.readable_id.clone(), product.id))
        })
        .expect("a program on sale");
    let owner = store::commerce::baskets::Owner::User(ada.id);
    services::commerce::basket::add(store.db(), &view, &owner, product, now)
        .await
        .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    let deals = hubspot.objects("deals");
    assert_eq!(deals.len(), 1, "{deals:?}");
    let deal = &deals[0].properties;
    assert_eq!(deal["dealstage"], "checkout_abandoned");
    assert_eq!(deal["unique_app_id"], format!("TEST-BASKET-{}", ada.id));
    let lines = hubspot.objects("line_items");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].properties["product_id"], readable_id);
    let contact = &hubspot.objects("contacts")[0].id;
    assert!(
        hubspot
            .associations()
            .iter()
            .any(|(f, id, t, to)| f == "deals"
                && id == &deals[0].id
                && t == "contacts"
                && to == contact),
        "the deal is the learner's"
    );

    services::commerce::basket::clear(&store, &owner)
        .await
        .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    assert!(
        hubspot.objects("deals").is_empty(),
        "archived with the basket"
    );
    assert!(hubspot.objects("line_items").is_empty());
    assert!(
        hubspot
            .associations()
            .iter()
            .all(|(f, ..)| f != "deals" && f != "line_items"),
        "its associations go with it"
    );
}

#[tokio::test]
async fn mitx_online_certificates_are_custom_objects_of_the_learners_contact() {
    use store::certificates::Of;
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "mitxonline_courses.json").await;
    let (hubspot, url) = hubspot().await;
    let now = Utc::now();
    let ada = store::testing::learner(store.db(), "ada", now)
        .await
        .unwrap();
    let run = Of::Run(174);
    assert!(
        store::certificates::issue(store.db(), ada.id, run, now)
            .await
            .unwrap()
    );
    services::crm::SyncCertificates {
        learners: services::certificates::Learners::new(run, &[ada.id]),
    }
    .enqueue(store.db())
    .await
    .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    let (name, type_id) = sim::CERTIFICATE_SCHEMAS[0];
    assert_eq!(name, "course_run_certificate");
    let certificates = hubspot.objects(type_id);
    assert_eq!(certificates.len(), 1, "by the schema's objectTypeId");
    let properties = &certificates[0].properties;
    assert_eq!(properties["user_email"], ada.email);
    assert_eq!(
        properties["course_run_readable_id"],
        "course-v1:MITxT+18.03.1x+2T2023"
    );
    assert_eq!(properties["is_revoked"], "false");
    let contact = hubspot
        .find("contacts", "email", &ada.email)
        .expect("the learner's contact");
    assert!(hubspot.associations().contains(&(
        type_id.to_string(),
        certificates[0].id.clone(),
        "contacts".to_string(),
        contact.id
    )));

    store::certificates::set_revoked(store.db(), ada.id, run, Some("plagiarism"))
        .await
        .unwrap();
    services::crm::SyncCertificates {
        learners: services::certificates::Learners::new(run, &[ada.id]),
    }
    .enqueue(store.db())
    .await
    .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    let certificates = hubspot.objects(type_id);
    assert_eq!(certificates.len(), 1, "the same object, updated");
    assert_eq!(certificates[0].properties["is_revoked"], "true");

    // A grade that no longer passes removes the certificate: its object goes too.
    let removed = store::certificates::remove_from(store.db(), run, &[ada.id])
        .await
        .unwrap();
    services::crm::ArchiveCertificates {
        program: false,
        ids: removed,
    }
    .enqueue(store.db())
    .await
    .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    assert!(hubspot.objects(type_id).is_empty(), "archived");
}

#[tokio::test]
async fn a_sign_up_posts_the_registration_form_with_the_visitors_cookie() {
    let store = store::testing::fresh_store().await;
    let (hubspot, url) = hubspot().await;
    services::accounts::sign_up(
        &store,
        &services::accounts::SignUp {
            email: "Ada@Example.edu".into(),
            username: "ada".into(),
            name: "Ada Lovelace".into(),
            password: "a long enough passphrase".into(),
            address: domain::accounts::LegalAddress {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                country: "GB".into(),
                ..Default::default()
            },
            hubspotutk: Some("visitor-cookie".into()),
        },
        "http://registrar.test",
        services::accounts::Onboarding::default(),
        Utc::now(),
    )
    .await
    .unwrap();
    drain(&store, &url, Duration::from_secs(2)).await;
    let submissions = hubspot.submissions.lock().unwrap().clone();
    assert_eq!(submissions.len(), 1);
    let (portal, form, fields) = &submissions[0];
    assert_eq!((portal.as_str(), form.as_str()), ("portal-1", "signup"));
    assert_eq!(fields["email"], "ada@example.edu");
    assert_eq!(fields["hs_context"], r#"{"hutk":"visitor-cookie"}"#);
}
