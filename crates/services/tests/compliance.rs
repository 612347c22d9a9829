//! The export-compliance gate of sign-up against the CyberSource simulator over real HTTP,
//! on the backend `REGISTRAR_TEST_DATABASE_URL` picks. The simulator answers by last name.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use domain::accounts::LegalAddress;
use domain::compliance::ComputedResult;
use integrations::cybersource::export::{Config, ExportService};
use services::Context;
use services::accounts::{Onboarding, SignIn, SignUp, sign_in, sign_up};
use services::compliance::{Screening, approve_manually, new_key_pair, public_key, unseal};
use simulators::cybersource as sim;
use store::Store;

struct Harness {
    store: Store,
    sim: Arc<sim::CyberSource>,
    url: String,
    private_key: String,
    public_key: String,
    outbox: PathBuf,
}

async fn harness() -> Harness {
    let state = Arc::new(sim::CyberSource::default());
    let url = format!(
        "{}{}",
        simulators::serve(sim::router(state.clone())).await,
        sim::TRANSACTION_PATH
    );
    let (public_key, private_key) = new_key_pair();
    Harness {
        store: store::testing::fresh_store().await,
        sim: state,
        url,
        private_key,
        public_key,
        outbox: std::env::temp_dir().join(format!("registrar-outbox-{}", rand::random::<u64>())),
    }
}

impl Harness {
    fn screening(&self, transaction_key: &str) -> Screening {
        Screening {
            service: ExportService::new(Config {
                url: self.url.clone(),
                merchant_id: sim::MERCHANT_ID.into(),
                transaction_key: transaction_key.into(),
                address_operator: "AND".into(),
                address_weight: "high".into(),
                name_weight: "high".into(),
                sanctions_lists: None,
            }),
            public_key: public_key(&self.public_key).unwrap(),
            admin_email: Some("admin@example.edu".into()),
        }
    }

    /// Runs the jobs with this screening; the jobs that went dead.
    async fn drain_with(&self, screening: Screening) -> Vec<services::testing::DeadJob> {
        services::testing::drain_expecting_dead(Context {
            mail_outbox: self.outbox.clone(),
            // An LMS that is never up: provisioning is on, and its jobs can be counted.
            openedx: Some(Arc::new(integrations::openedx::OpenEdx::new(
                integrations::openedx::Config {
                    base_url: "http://127.0.0.1:9".into(),
                    client_id: "none".into(),
                    client_secret: "none".into(),
                    social_login_path: integrations::openedx::SOCIAL_LOGIN_PATH.into(),
                },
            ))),
            compliance: Some(Arc::new(screening)),
            ..services::testing::context(&self.store)
        })
        .await
    }

    /// Runs the jobs; none may go dead.
    async fn drain(&self) {
        let dead = self.drain_with(self.screening(sim::TRANSACTION_KEY)).await;
        assert!(dead.is_empty(), "jobs went dead: {dead:#?}");
    }

    /// Signs up (screening on), verified, with this last name; the user id.
    async fn sign_up(&self, email: &str, last_name: &str) -> i64 {
        let form = SignUp {
            email: email.into(),
            username: email.split('@').next().unwrap().into(),
            name: format!("Ada {last_name}"),
            password: "correct horse battery".into(),
            address: LegalAddress {
                first_name: "Ada".into(),
                last_name: last_name.into(),
                country: "US".into(),
                state: Some("US-MA".into()),
            },
            hubspotutk: None,
        };
        let onboarding = Onboarding {
            provision_openedx: true,
            screen_exports: true,
        };
        let user = sign_up(
            &self.store,
            &form,
            "http://registrar.test",
            onboarding,
            Utc::now(),
        )
        .await
        .unwrap();
        assert!(!user.is_active, "inactive until screened");
        store::accounts::update(self.store.db(), user, |u| {
            u.email_verified = sea_orm::Set(true)
        })
        .await
        .unwrap()
        .id
    }

    async fn active(&self, id: i64) -> bool {
        store::accounts::find(self.store.db(), id)
            .await
            .unwrap()
            .unwrap()
            .is_active
    }

    async fn results(&self, id: i64) -> Vec<ComputedResult> {
        store::compliance::of_user(self.store.db(), id)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.computed_result)
            .collect()
    }

    async fn edx_jobs(&self, id: i64) -> i64 {
        store::testing::count(
            &self.store,
            &format!(
                "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.create_user' AND unique_key = 'user:{id}'"
            ),
        )
        .await
    }

    async fn sign_in(&self, email: &str) -> SignIn {
        sign_in(self.store.db(), email, "correct horse battery")
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_cleared_learner_is_activated_provisioned_and_logged_sealed() {
    let h = harness().await;
    let id = h.sign_up("ada@example.edu", "Lovelace").await;
    assert_eq!(h.edx_jobs(id).await, 0, "no edX account before clearance");
    assert_eq!(h.sign_in("ada@example.edu").await, SignIn::UnderReview);
    h.drain().await;
    assert!(h.active(id).await);
    assert_eq!(h.results(id).await, [ComputedResult::Success]);
    assert_eq!(h.edx_jobs(id).await, 1, "the edX account follows clearance");
    assert!(matches!(h.sign_in("ada@example.edu").await, SignIn::Ok(_)));
    let screened = h.sim.screenings();
    assert_eq!(screened.len(), 1);
    assert_eq!(screened[0].reference, id.to_string());
    assert_eq!(screened[0].last_name, "Lovelace");

    let log = store::compliance::latest(h.store.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !log.encrypted_request.contains("Lovelace"),
        "sealed at rest"
    );
    let request = unseal(&h.private_key, &log.encrypted_request).unwrap();
    assert!(request.contains("<lastName>Lovelace</lastName>"));
    assert!(request.contains("<state>MA</state>"));
    assert!(
        !request.contains(sim::TRANSACTION_KEY),
        "the logged request never holds the transaction key"
    );
    let response = unseal(&h.private_key, &log.encrypted_response).unwrap();
    assert!(response.contains("<c:reasonCode>100</c:reasonCode>"));
    let (_, other_private) = new_key_pair();
    assert!(unseal(&other_private, &log.encrypted_request).is_err());
}

#[tokio::test]
async fn a_list_match_denies_blocks_and_alerts_the_admin() {
    let h = harness().await;
    let denied = h.sign_up("eve@example.edu", "Denied").await;
    let listed = h.sign_up("mal@example.edu", "Listed").await;
    h.drain().await;
    for id in [denied, listed] {
        assert!(!h.active(id).await, "a denial keeps the account inactive");
        assert_eq!(h.results(id).await, [ComputedResult::Denied]);
        assert_eq!(h.edx_jobs(id).await, 0, "and out of Open edX");
    }
    let info = store::compliance::latest(h.store.db(), listed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (info.reason_code, info.info_code.as_deref()),
        (Some(100), Some("MATCH-ALIAS")),
        "reason 100 with an info code still denies"
    );
    assert_eq!(h.sign_in("eve@example.edu").await, SignIn::Denied);
    let mut subjects: Vec<String> = services::mail::outbox(&h.outbox)
        .into_iter()
        .filter(|m| m.to == "admin@example.edu")
        .map(|m| m.subject)
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "Exports Compliance: denied eve@example.edu",
            "Exports Compliance: denied mal@example.edu"
        ]
    );
}

#[tokio::test]
async fn temporary_failures_and_outages_log_nothing_and_retry_until_an_answer() {
    let h = harness().await;
    let busy = h.sign_up("bob@example.edu", "Busy").await;
    let dead = h.drain_with(h.screening(sim::TRANSACTION_KEY)).await;
    assert!(
        dead.iter()
            .all(|d| d.kind == "compliance.screen_user" && d.last_error.contains("reason 150")),
        "only the screening that never got an answer gave up: {dead:#?}"
    );
    assert!(h.results(busy).await.is_empty(), "reason 150 is not logged");
    assert!(!h.active(busy).await);
    assert!(
        h.sim.screenings().len() > 1,
        "the job asked again after the temporary failure"
    );
    assert_eq!(h.sign_in("bob@example.edu").await, SignIn::UnderReview);

    h.sim.knobs.fail_next.store(3, Ordering::SeqCst);
    let id = h.sign_up("cyd@example.edu", "Lovelace").await;
    h.drain().await;
    assert!(h.active(id).await, "cleared once the service came back");
    assert_eq!(
        h.results(id).await,
        [ComputedResult::Success],
        "exactly one log entry"
    );
}

#[tokio::test]
async fn an_unknown_answer_waits_for_staff_who_may_approve_manually() {
    let h = harness().await;
    let id = h.sign_up("dee@example.edu", "Unclear").await;
    h.drain().await;
    assert_eq!(h.results(id).await, [ComputedResult::Unknown]);
    assert!(!h.active(id).await);
    let user = store::accounts::find(h.store.db(), id)
        .await
        .unwrap()
        .unwrap();
    approve_manually(&h.store, user.clone(), true, Utc::now())
        .await
        .unwrap();
    assert!(h.active(id).await);
    assert_eq!(h.results(id).await, [ComputedResult::ManuallyApproved]);
    assert_eq!(h.edx_jobs(id).await, 1);
    assert!(
        approve_manually(&h.store, user, true, Utc::now())
            .await
            .is_err(),
        "an approved screening is not approved twice"
    );
}

#[tokio::test]
async fn a_wrong_transaction_key_fails_loudly_and_logs_nothing() {
    let h = harness().await;
    let id = h.sign_up("fay@example.edu", "Lovelace").await;
    let dead = h.drain_with(h.screening("not-the-key")).await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert!(h.results(id).await.is_empty());
    assert!(!h.active(id).await);
    let dead = store::testing::count(
        &h.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'compliance.screen_user' AND state = 'dead' AND last_error LIKE '%UsernameToken%'",
    )
    .await;
    assert_eq!(dead, 1, "the job is dead with the SOAP fault as its reason");
}
