//! Each learner's own edX API token, end to end over real HTTP: Registrar serving its
//! OAuth2 provider, the edX simulator signing learners in through it, and the jobs that use
//! the token (course-email settings, name and email updates). On the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks.

mod common;

use jobs::Job as _;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use domain::accounts::{Email, LegalAddress, Username};
use integrations::openedx::{Config, OpenEdx, SOCIAL_LOGIN_PATH};
use sea_orm::{ConnectionTrait, Statement};
use services::Context;
use services::openedx::CreateEdxUser;
use simulators::openedx as sim;
use store::Store;
use store::catalog::write::{Mode, apply};

struct Harness {
    store: Store,
    sim: Arc<sim::OpenEdx>,
    site: String,
    edx_url: String,
}

/// Registrar and the simulated edX, each on its own port, edX registered as an OAuth2
/// application of Registrar.
async fn harness() -> Harness {
    let store = store::testing::fresh_store().await;
    let txn = store.write().await.unwrap();
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(Utc::now(), 2, 0),
        Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let state = web::AppState::new(
        store.clone(),
        web::Settings {
            onboarding: services::accounts::Onboarding {
                provision_openedx: true,
                screen_exports: false,
            },
            ..common::settings(&site)
        },
        web::system_clock(),
    );
    tokio::spawn(
        axum::serve(
            listener,
            web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
    );
    let sim = Arc::new(sim::OpenEdx::default());
    let edx_url = simulators::serve(sim::router(sim.clone())).await;
    let mut provider = sim::Provider {
        registrar_url: site.clone(),
        client_id: String::new(),
        client_secret: String::new(),
        public_url: edx_url.clone(),
    };
    let (app, secret) = store::oauth2::create_application(
        store.db(),
        "edx",
        &[provider.redirect_uri()],
        Utc::now(),
    )
    .await
    .unwrap();
    (provider.client_id, provider.client_secret) = (app.client_id, secret);
    sim.auth.set_provider(provider);
    Harness {
        store,
        sim,
        site,
        edx_url,
    }
}

impl Harness {
    async fn drain(&self) {
        services::testing::drain(Context {
            site_url: self.site.clone(),
            openedx: Some(Arc::new(OpenEdx::new(Config {
                base_url: self.edx_url.clone(),
                client_id: sim::CLIENT_ID.into(),
                client_secret: sim::CLIENT_SECRET.into(),
                social_login_path: SOCIAL_LOGIN_PATH.into(),
            }))),
            ..services::testing::context(&self.store)
        })
        .await;
    }

    /// A learner with an edX account and an audit enrollment; returns (user, enrollment).
    async fn enrolled_learner(&self) -> (i64, i64) {
        let db = self.store.db();
        let user = store::accounts::create_user(
            db,
            store::accounts::NewUser {
                email: &Email::parse("ada@example.edu").unwrap(),
                username: &Username::parse("ada").unwrap(),
                name: "Ada Lovelace",
                password_hash: None,
                address: &LegalAddress {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    country: "GB".into(),
                    state: None,
                },
                email_verified: true,
                global_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
        CreateEdxUser { user_id: user.id }
            .enqueue(db)
            .await
            .unwrap();
        let run = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM course_runs ORDER BY id LIMIT 1",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "id")
            .unwrap();
        let enrollment = store::enrollments::activate(db, user.id, run, "audit", Utc::now())
            .await
            .unwrap();
        self.drain().await;
        assert_eq!(self.sim.users().len(), 1, "the learner is in edX");
        (user.id, enrollment.id)
    }

    async fn choose_course_emails(&self, user: i64, enrollment: i64, receive: bool) {
        services::enrollments::set_course_emails(
            &self.store,
            user,
            enrollment,
            receive,
            Utc::now(),
        )
        .await
        .unwrap();
        self.drain().await;
    }

    fn edx_choice(&self) -> Option<bool> {
        self.sim
            .email_settings
            .lock()
            .unwrap()
            .values()
            .next()
            .copied()
    }

    fn token_calls(&self) -> usize {
        self.sim
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "POST /oauth2/access_token")
            .count()
    }

    fn handshakes(&self) -> usize {
        self.sim
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with("GET /auth/complete/"))
            .count()
    }

    async fn stored_token(&self, user: i64) -> store::openedx::ApiToken {
        store::openedx::api_token(self.store.db(), user)
            .await
            .unwrap()
            .expect("a stored edX token")
    }
}

#[tokio::test]
async fn the_first_use_mints_a_token_by_signing_the_learner_in_to_edx_through_registrar() {
    let h = harness().await;
    let (user, enrollment) = h.enrolled_learner().await;
    assert!(
        store::openedx::api_token(h.store.db(), user)
            .await
            .unwrap()
            .is_none(),
        "no token until one is needed"
    );
    h.choose_course_emails(user, enrollment, false).await;
    assert_eq!(h.edx_choice(), Some(false), "the opt-out reached edX");
    assert_eq!(h.handshakes(), 1);
    let token = h.stored_token(user).await;
    let lifetime = token.expires_on - Utc::now();
    assert!(
        lifetime > chrono::Duration::seconds(35_900)
            && lifetime <= chrono::Duration::seconds(35_990),
        "expiry is edX's lifetime less ten seconds, got {lifetime}"
    );
    let sessions = store::testing::count(&h.store, "SELECT COUNT(*) AS n FROM sessions").await;
    assert_eq!(sessions, 0, "the handshake's session ends with it");

    h.choose_course_emails(user, enrollment, true).await;
    assert_eq!(h.edx_choice(), Some(true));
    assert_eq!(h.handshakes(), 1, "a valid token is reused");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_call_goes_through() {
    let h = harness().await;
    let (user, enrollment) = h.enrolled_learner().await;
    h.choose_course_emails(user, enrollment, false).await;
    let first = h.stored_token(user).await;
    // Time passes: edX stops honouring the access token and so does our record of it.
    h.sim.auth.expire_access_tokens();
    store::openedx::save_api_token(
        h.store.db(),
        user,
        &store::openedx::ApiToken {
            expires_on: Utc::now() - chrono::Duration::seconds(1),
            ..first.clone()
        },
    )
    .await
    .unwrap();
    let before = h.token_calls();
    h.choose_course_emails(user, enrollment, true).await;
    assert_eq!(h.edx_choice(), Some(true), "the opt-in went through");
    assert_eq!(h.token_calls(), before + 1, "one refresh");
    assert_eq!(h.handshakes(), 1, "no new handshake was needed");
    let refreshed = h.stored_token(user).await;
    assert_ne!(refreshed.access, first.access);
    assert_ne!(
        refreshed.refresh, first.refresh,
        "edX rotates refresh tokens"
    );
    assert!(refreshed.expires_on > Utc::now() + chrono::Duration::hours(9));
}

#[tokio::test]
async fn a_refused_refresh_token_is_dropped_and_a_new_token_minted() {
    let h = harness().await;
    let (user, enrollment) = h.enrolled_learner().await;
    h.choose_course_emails(user, enrollment, false).await;
    let first = h.stored_token(user).await;
    h.sim.auth.revoke_tokens();
    store::openedx::save_api_token(
        h.store.db(),
        user,
        &store::openedx::ApiToken {
            expires_on: Utc::now(),
            ..first.clone()
        },
    )
    .await
    .unwrap();
    h.choose_course_emails(user, enrollment, true).await;
    assert_eq!(h.edx_choice(), Some(true));
    assert_eq!(h.handshakes(), 2, "invalid_grant led to a new handshake");
    assert_ne!(h.stored_token(user).await.refresh, first.refresh);
}

#[tokio::test]
async fn a_token_edx_turns_away_early_is_replaced_on_the_retry() {
    let h = harness().await;
    let (user, enrollment) = h.enrolled_learner().await;
    h.choose_course_emails(user, enrollment, false).await;
    // edX stops honouring a token our record still thinks is good.
    h.sim.auth.expire_access_tokens();
    h.choose_course_emails(user, enrollment, true).await;
    assert_eq!(h.edx_choice(), Some(true), "the retry got through");
    assert_eq!(h.handshakes(), 2);
}

#[tokio::test]
async fn a_changed_name_and_email_reach_the_edx_account_with_the_learners_token() {
    let h = harness().await;
    let (user, _) = h.enrolled_learner().await;
    let token = store::accounts::issue_token(
        h.store.db(),
        user,
        store::accounts::Purpose::ChangeEmail,
        Some(&Email::parse("countess@example.edu").unwrap()),
        chrono::Duration::hours(1),
        Utc::now(),
    )
    .await
    .unwrap();
    let changed = services::accounts::confirm_email_change(&h.store, &token, Utc::now())
        .await
        .unwrap();
    assert_eq!(changed.unwrap().email, "countess@example.edu");
    h.drain().await;
    assert_eq!(h.sim.users()[0].email, "countess@example.edu");
    assert!(
        h.sim
            .calls
            .lock()
            .unwrap()
            .contains(&"PATCH /api/user/v1/accounts/{username}".to_string()),
        "pushed through the accounts API"
    );
}
