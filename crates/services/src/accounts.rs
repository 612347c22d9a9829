//! Account use cases: sign-up with email verification, sign-in, password reset and change
//! of email. Each write and the mail it causes commit together.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use domain::accounts::{Email, LegalAddress, Password, Username};
use domain::catalog::validate::FieldErrors;
use jobs::Job as _;
use sea_orm::{ConnectionTrait, DbErr};
use store::Store;
use store::accounts::{self, AccountsError, NewUser, Purpose, User};

use crate::emails;
use crate::mail::Mail;

/// Email links last a day, as the references' change-of-email requests do.
const LINK_LIFETIME: Duration = Duration::hours(24);

pub fn hash_password(password: &Password) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a salt");
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

pub fn password_matches(hash: &str, candidate: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

/// What the sign-up form submits, unparsed.
#[derive(Debug, Default, Clone)]
pub struct SignUp {
    pub email: String,
    pub username: String,
    pub name: String,
    pub password: String,
    pub address: LegalAddress,
    /// HubSpot's visitor cookie (`hubspotutk`), which ties the registration form post to
    /// the visits HubSpot tracked before.
    pub hubspotutk: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("invalid: {0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn invalid(field: &str, message: impl Into<String>) -> FormError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    FormError::Invalid(errors)
}

/// What follows the creation of a local account in this deployment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Onboarding {
    /// Create the learner's Open edX account.
    pub provision_openedx: bool,
    /// Keep the account inactive until the export-compliance screening clears it.
    pub screen_exports: bool,
}

/// Creates an unverified account, mails the verification link and, as `onboarding` asks,
/// enqueues its export screening (the account inactive until cleared) or its Open edX
/// account, all in the caller's transaction. Blocked addresses are refused without saying
/// they are blocked.
async fn sign_up_in(
    db: &impl ConnectionTrait,
    form: &SignUp,
    base_url: &str,
    onboarding: Onboarding,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let mut errors = form.address.validate();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let username = Username::parse(&form.username)
        .map_err(|e| errors.add("username", e.to_string()))
        .ok();
    let password = Password::parse(&form.password)
        .map_err(|e| errors.add("password", e.to_string()))
        .ok();
    if form.name.trim().is_empty() {
        errors.add("name", "must not be blank");
    }
    let (Some(email), Some(username), Some(password)) = (email, username, password) else {
        return Err(FormError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(FormError::Invalid(errors));
    }
    if accounts::is_blocked(db, &email).await? {
        tracing::warn!(email = %email.as_str(), "sign-up refused: blocklisted");
        return Err(invalid(
            "email",
            "this address cannot be used to register; contact support",
        ));
    }
    let user = accounts::create_user(
        db,
        NewUser {
            email: &email,
            username: &username,
            name: &form.name,
            password_hash: Some(hash_password(&password)),
            address: &form.address,
            email_verified: false,
            global_id: None,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        AccountsError::EmailTaken => invalid("email", e.to_string()),
        AccountsError::UsernameTaken => invalid("username", e.to_string()),
        AccountsError::Db(db) => FormError::Db(db),
    })?;
    let user = if onboarding.screen_exports {
        // Open edX follows once the screening clears the account.
        crate::compliance::ScreenUser { user_id: user.id }
            .enqueue(db)
            .await?;
        accounts::update(db, user, |u| u.is_active = sea_orm::Set(false)).await?
    } else {
        if onboarding.provision_openedx {
            crate::openedx::CreateEdxUser { user_id: user.id }
                .enqueue(db)
                .await?;
        }
        user
    };
    let token =
        accounts::issue_token(db, user.id, Purpose::Verify, None, LINK_LIFETIME, now).await?;
    Mail::compose(
        email.as_str(),
        "Verify your email",
        &emails::Verification {
            name: &user.name,
            link: emails::link(base_url, &format!("/verify/{token}")),
        },
    )
    .send(db)
    .await?;
    crate::crm::contact_changed(db, user.id, now).await?;
    crate::crm::SubmitSignUpForm {
        email: email.as_str().to_string(),
        hubspotutk: form.hubspotutk.as_deref().map(str::to_string),
    }
    .enqueue(db)
    .await?;
    Ok(user)
}

/// Marks the email verified; the user it belongs to.
async fn verify_in(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, DbErr> {
    let Some((user_id, _)) = accounts::use_token(db, token, Purpose::Verify, now).await? else {
        return Ok(None);
    };
    let Some(user) = accounts::find(db, user_id).await? else {
        return Ok(None);
    };
    Ok(Some(
        accounts::update(db, user, |u| u.email_verified = sea_orm::Set(true)).await?,
    ))
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    Ok(User),
    /// The password was right but the address is not verified yet.
    Unverified,
    /// The password was right but the export screening has not cleared the account (yet).
    UnderReview,
    /// The password was right but the export screening denied the account.
    Denied,
    Refused,
    /// Too many failed attempts: from this address, or at this account from everywhere
    /// (then only an address that signed in before may try). Try again in `minutes`.
    Throttled {
        minutes: i64,
    },
}

/// The sign-in limits: per account and source address, `PER_SOURCE` failures in `WINDOW`
/// stop that address (a stranger elsewhere cannot lock the owner out); past
/// `PER_ACCOUNT` failures from everywhere in the window the account is softly locked: only
/// an address that signed in to it before (within [`store::sign_in::KEPT`]) may try, and a
/// password reset lifts it.
pub const PER_SOURCE: i64 = 5;
pub const PER_ACCOUNT: i64 = 20;
pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Signs in from a source address, within the limits above; failures and successes are
/// recorded in the database, so every process shares them and a restart keeps them.
pub async fn sign_in_from(
    store: &Store,
    email: &str,
    password: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<SignIn, DbErr> {
    // Each step commits on its own: an attempt must count even when the request dies.
    let db = store.db();
    let account = email.trim().to_lowercase();
    // The attempt counts (as a failure) before anything is checked, so guesses sent in
    // parallel cannot all pass the count; it is forgotten if it is not let through.
    let attempt = store::sign_in::attempt(db, &account, source, now).await?;
    let recent = store::sign_in::recent(db, &account, source, now - WINDOW).await?;
    let throttled = if recent.failed_here > PER_SOURCE {
        let until = recent.first_failed_here.unwrap_or(now) + WINDOW;
        Some(minutes_until(until, now))
    } else if recent.failed_anywhere > PER_ACCOUNT && !recent.known_source {
        Some(WINDOW.num_minutes())
    } else {
        None
    };
    if let Some(minutes) = throttled {
        store::sign_in::forget(db, attempt).await?;
        return Ok(SignIn::Throttled { minutes });
    }
    let outcome = sign_in(db, &account, password).await?;
    match &outcome {
        // The failure recorded up front stands.
        SignIn::Refused => {}
        SignIn::Ok(_) => {
            store::sign_in::forget(db, attempt).await?;
            store::sign_in::record(db, &account, source, true, now).await?;
        }
        _ => store::sign_in::forget(db, attempt).await?,
    }
    Ok(outcome)
}

/// How long a staff-area session lasts.
pub const STAFF_SESSION: chrono::Duration = chrono::Duration::hours(8);

/// Signs staff in to the staff area with their token: (their email, a new staff session
/// that expires), or none for a token that is not a staff token.
pub async fn staff_sign_in(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(String, String)>, DbErr> {
    let db = store.db();
    let Some(email) = store::staff::authenticate(db, token).await? else {
        return Ok(None);
    };
    let session = store::staff::start_session(db, &email, STAFF_SESSION, now).await?;
    Ok(Some((email, session)))
}

/// Ends a staff-area session (and any that have expired).
pub async fn staff_sign_out(store: &Store, session: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    store::staff::end_session(store.db(), session, now).await
}

/// How long a learner's session lasts.
pub const SESSION: chrono::Duration = chrono::Duration::days(14);

/// Starts a learner's session (after `sign_in_from` let them in): its id, for the cookie.
pub async fn start_session(
    store: &Store,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    accounts::start_session(store.db(), user_id, SESSION, now).await
}

/// Ends a learner's session.
pub async fn sign_out(store: &Store, session: &str) -> Result<(), DbErr> {
    accounts::end_session(store.db(), session).await
}

fn minutes_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    ((until - now).num_seconds() + 59).div_euclid(60).max(1)
}

pub async fn sign_in(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> Result<SignIn, DbErr> {
    let Ok(email) = Email::parse(email) else {
        return Ok(SignIn::Refused);
    };
    let Some(user) = accounts::find_by_email(db, &email).await? else {
        // Spend the same time as a real check, so timing does not tell which emails exist.
        let _ = password_matches(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$5mO8Xc+Ue3hbqk28Si4xnE2l0w26sLdT9TxlZ5bMGsY",
            password,
        );
        return Ok(SignIn::Refused);
    };
    let matches = user
        .password_hash
        .as_deref()
        .is_some_and(|hash| password_matches(hash, password));
    Ok(match (matches, user.is_active, user.email_verified) {
        (true, true, true) => SignIn::Ok(user),
        (true, true, false) => SignIn::Unverified,
        (true, false, _) => match crate::compliance::latest_result(db, user.id).await? {
            Some(domain::compliance::ComputedResult::Denied) => SignIn::Denied,
            _ => SignIn::UnderReview,
        },
        _ => SignIn::Refused,
    })
}

/// Mails a reset link if the address has an account; says nothing either way.
async fn request_reset_in(
    db: &impl ConnectionTrait,
    email: &str,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Some(user) = accounts::find_by_email(db, &email).await? else {
        return Ok(());
    };
    let token =
        accounts::issue_token(db, user.id, Purpose::Reset, None, LINK_LIFETIME, now).await?;
    Mail::compose(
        &user.email,
        "Your Password Reset Link",
        &emails::PasswordReset {
            link: emails::link(base_url, &format!("/reset/{token}")),
        },
    )
    .send(db)
    .await
}

/// Sets a new password with a reset link, signing the user out everywhere. Using the link
/// also proves the address, so it verifies it.
async fn reset_in(
    db: &impl ConnectionTrait,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let password = Password::parse(password).map_err(|e| invalid("password", e.to_string()))?;
    let Some((user_id, _)) = accounts::use_token(db, token, Purpose::Reset, now).await? else {
        return Err(invalid(
            "token",
            "this link has expired or was already used; ask for a new one",
        ));
    };
    let user = accounts::find(db, user_id)
        .await?
        .ok_or_else(|| invalid("token", "the account is gone"))?;
    let hash = hash_password(&password);
    let user = accounts::update(db, user, |u| {
        u.password_hash = sea_orm::Set(Some(hash));
        u.email_verified = sea_orm::Set(true);
    })
    .await?;
    accounts::end_sessions(db, user.id).await?;
    // The owner proved the address: the failed guesses at the account are behind it.
    store::sign_in::forgive(db, &user.email.to_lowercase()).await?;
    Ok(user)
}

/// Mails a confirmation link to the new address; the change happens when it is used.
async fn request_email_change(
    db: &impl ConnectionTrait,
    user: &User,
    new_email: &str,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), FormError> {
    let email = Email::parse(new_email).map_err(|e| invalid("email", e.to_string()))?;
    if accounts::find_by_email(db, &email).await?.is_some() {
        return Err(invalid(
            "email",
            "an account with this email already exists",
        ));
    }
    let token = accounts::issue_token(
        db,
        user.id,
        Purpose::ChangeEmail,
        Some(&email),
        LINK_LIFETIME,
        now,
    )
    .await?;
    Mail::compose(
        email.as_str(),
        "Confirm email change",
        &emails::ChangeEmail {
            link: emails::link(base_url, &format!("/change-email/{token}")),
        },
    )
    .send(db)
    .await?;
    Ok(())
}

async fn confirm_email_change_in(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, DbErr> {
    let Some((user_id, Some(new_email))) =
        accounts::use_token(db, token, Purpose::ChangeEmail, now).await?
    else {
        return Ok(None);
    };
    let Ok(email) = Email::parse(&new_email) else {
        return Ok(None);
    };
    if accounts::find_by_email(db, &email).await?.is_some() {
        return Ok(None);
    }
    let Some(user) = accounts::find(db, user_id).await? else {
        return Ok(None);
    };
    let user = accounts::update(db, user, |u| {
        u.email = sea_orm::Set(email.as_str().to_string())
    })
    .await?;
    crate::openedx::UpdateEdxUser { user_id: user.id }
        .enqueue(db)
        .await?;
    crate::crm::contact_changed(db, user.id, now).await?;
    Ok(Some(user))
}

/// Saves name and legal address; a new email address is only requested (confirmed from
/// its own inbox). Checked first, so nothing is half-saved.
async fn update_profile_in(
    db: &impl ConnectionTrait,
    user: User,
    name: &str,
    address: &LegalAddress,
    new_email: Option<&str>,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let mut errors = address.validate();
    if name.trim().is_empty() {
        errors.add("name", "must not be blank");
    }
    if !errors.is_empty() {
        return Err(FormError::Invalid(errors));
    }
    accounts::save_address(db, user.id, address).await?;
    let name = name.trim().to_string();
    let renamed = name != user.name;
    let user = accounts::update(db, user, |u| u.name = sea_orm::Set(name)).await?;
    if renamed {
        crate::openedx::UpdateEdxUser { user_id: user.id }
            .enqueue(db)
            .await?;
    }
    crate::crm::contact_changed(db, user.id, now).await?;
    if let Some(email) = new_email {
        request_email_change(db, &user, email, base_url, now).await?;
    }
    Ok(user)
}

// The use cases as the edge calls them: each runs in one transaction of its own, so what it
// writes and the mail and jobs it queues commit together or not at all.

/// Creates an account and mails its verification link.
pub async fn sign_up(
    store: &Store,
    form: &SignUp,
    base_url: &str,
    onboarding: Onboarding,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let txn = store.write().await?;
    let user = sign_up_in(&txn, form, base_url, onboarding, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Marks the email verified; the user it belongs to.
pub async fn verify(store: &Store, token: &str, now: DateTime<Utc>) -> Result<Option<User>, DbErr> {
    let txn = store.write().await?;
    let user = verify_in(&txn, token, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Mails a reset link if the address has an account; says nothing either way.
pub async fn request_reset(
    store: &Store,
    email: &str,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = store.write().await?;
    request_reset_in(&txn, email, base_url, now).await?;
    txn.commit().await
}

/// Sets a new password with a reset link, ending every session of the account.
pub async fn reset(
    store: &Store,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let txn = store.write().await?;
    let user = reset_in(&txn, token, password, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Changes the email with a confirmation link: the account, edX and the CRM all at once.
pub async fn confirm_email_change(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, DbErr> {
    let txn = store.write().await?;
    let user = confirm_email_change_in(&txn, token, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// Saves name and legal address, and asks to confirm a new email address.
pub async fn update_profile(
    store: &Store,
    user: User,
    name: &str,
    address: &LegalAddress,
    new_email: Option<&str>,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<User, FormError> {
    let txn = store.write().await?;
    let user = update_profile_in(&txn, user, name, address, new_email, base_url, now).await?;
    txn.commit().await?;
    Ok(user)
}

/// The account of a person the gateway vouched for (`X-Userinfo`): found, or created or
/// brought up to date from what the gateway says.
pub async fn gateway_user(
    store: &Store,
    identity: &accounts::GatewayIdentity,
    now: DateTime<Utc>,
) -> Result<User, DbErr> {
    if let Some(user) = accounts::settled_gateway_user(store.db(), identity).await? {
        return Ok(user);
    }
    let txn = store.write().await?;
    let user = accounts::upsert_gateway_user(&txn, identity, now).await?;
    txn.commit().await?;
    Ok(user)
}
