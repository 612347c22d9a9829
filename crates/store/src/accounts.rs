//! Accounts in the database: users and their legal addresses, sessions, one-time email
//! tokens and the registration blocklist. Secrets are stored as digests (`secret`).

use chrono::{DateTime, Duration, Utc};
use domain::accounts::{Email, LegalAddress, Username};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::entity::{blocklist_entry, email_token, legal_address, session, user};
use crate::secret::{digest, new_token};

pub use crate::entity::user::Model as User;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("this username is taken")]
    UsernameTaken,
    #[error(transparent)]
    Db(#[from] DbErr),
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub username: &'a Username,
    pub name: &'a str,
    pub password_hash: Option<String>,
    pub address: &'a LegalAddress,
    pub email_verified: bool,
    pub global_id: Option<String>,
}

/// Creates a user with its legal address (in the caller's transaction).
pub async fn create_user(
    db: &impl ConnectionTrait,
    new: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<User, AccountsError> {
    if find_by_email(db, new.email).await?.is_some() {
        return Err(AccountsError::EmailTaken);
    }
    if user::Entity::find()
        .filter(user::Column::Username.eq(new.username.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AccountsError::UsernameTaken);
    }
    let created = user::ActiveModel {
        id: NotSet,
        email: Set(new.email.as_str().to_string()),
        username: Set(new.username.as_str().to_string()),
        name: Set(new.name.trim().to_string()),
        password_hash: Set(new.password_hash),
        is_active: Set(true),
        is_staff: Set(false),
        email_verified: Set(new.email_verified),
        global_id: Set(new.global_id),
        created_on: Set(now),
        updated_on: Set(now),
    }
    .insert(db)
    .await?;
    save_address(db, created.id, new.address).await?;
    Ok(created)
}

pub async fn save_address(
    db: &impl ConnectionTrait,
    user_id: i64,
    address: &LegalAddress,
) -> Result<(), DbErr> {
    let model = legal_address::ActiveModel {
        user_id: Set(user_id),
        first_name: Set(address.first_name.trim().to_string()),
        last_name: Set(address.last_name.trim().to_string()),
        country: Set(address.country.clone()),
        state: Set(address.state.clone().filter(|s| !s.is_empty())),
    };
    if legal_address::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some()
    {
        model.update(db).await?;
    } else {
        model.insert(db).await?;
    }
    Ok(())
}

pub async fn address(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<LegalAddress>, DbErr> {
    Ok(legal_address::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|a| LegalAddress {
            first_name: a.first_name,
            last_name: a.last_name,
            country: a.country,
            state: a.state,
        }))
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<User>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<User>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

pub async fn list(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<User>, DbErr> {
    user::Entity::find()
        .order_by_desc(user::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Applies a change to a user row and stamps it.
pub async fn update(
    db: &impl ConnectionTrait,
    user: User,
    change: impl FnOnce(&mut user::ActiveModel),
) -> Result<User, DbErr> {
    let mut active = user.into_active_model();
    change(&mut active);
    active.updated_on = Set(Utc::now());
    active.update(db).await
}

/// What a one-time email link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::ChangeEmail => "change_email",
        }
    }
}

/// Issues a one-time token; only its digest is kept.
pub async fn issue_token(
    db: &impl ConnectionTrait,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&Email>,
    valid_for: Duration,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let token = new_token();
    email_token::ActiveModel {
        token_hash: Set(digest(&token)),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_string()),
        new_email: Set(new_email.map(|e| e.as_str().to_string())),
        expires_on: Set(now + valid_for),
        used_on: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Uses a token once: the user it names and, for a change of email, the new address.
pub async fn use_token(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<(i64, Option<String>)>, DbErr> {
    let used = email_token::Entity::update_many()
        .col_expr(email_token::Column::UsedOn, Expr::value(now))
        .filter(email_token::Column::TokenHash.eq(digest(token)))
        .filter(email_token::Column::Purpose.eq(purpose.as_str()))
        .filter(email_token::Column::UsedOn.is_null())
        .filter(email_token::Column::ExpiresOn.gt(now))
        .exec(db)
        .await?
        .rows_affected;
    if used != 1 {
        return Ok(None);
    }
    Ok(email_token::Entity::find_by_id(digest(token))
        .one(db)
        .await?
        .map(|t| (t.user_id, t.new_email)))
}

/// The cookie a session id travels in.
pub const SESSION_COOKIE: &str = "registrar_session";

/// Starts a session; the returned id goes into the cookie.
pub async fn start_session(
    db: &impl ConnectionTrait,
    user_id: i64,
    valid_for: Duration,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let id = new_token();
    session::ActiveModel {
        id_hash: Set(digest(&id)),
        user_id: Set(user_id),
        created_on: Set(now),
        expires_on: Set(now + valid_for),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The active user a session cookie belongs to.
pub async fn session_user(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, DbErr> {
    let Some(session) = session::Entity::find_by_id(digest(id)).one(db).await? else {
        return Ok(None);
    };
    if session.expires_on <= now {
        return Ok(None);
    }
    Ok(find(db, session.user_id).await?.filter(|u| u.is_active))
}

pub async fn end_session(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(digest(id)).exec(db).await?;
    Ok(())
}

/// Signs a user out everywhere (after a password reset).
pub async fn end_sessions(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A blocked email, or any address at a blocked domain (`@example.com`), cannot register.
pub async fn is_blocked(db: &impl ConnectionTrait, email: &Email) -> Result<bool, DbErr> {
    Ok(blocklist_entry::Entity::find()
        .filter(
            Condition::any()
                .add(blocklist_entry::Column::Entry.eq(email.as_str()))
                .add(blocklist_entry::Column::Entry.eq(format!("@{}", email.domain()))),
        )
        .one(db)
        .await?
        .is_some())
}

pub async fn block(db: &impl ConnectionTrait, entry: &str) -> Result<(), DbErr> {
    blocklist_entry::ActiveModel {
        id: NotSet,
        entry: Set(entry.trim().to_lowercase()),
        created_on: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// What an identity gateway (APISIX with Keycloak) says about a user.
#[derive(Debug, Clone)]
pub struct GatewayIdentity {
    pub sub: String,
    pub email: Email,
    pub username: String,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
}

async fn find_by_sub(db: &impl ConnectionTrait, sub: &str) -> Result<Option<User>, DbErr> {
    user::Entity::find()
        .filter(user::Column::GlobalId.eq(sub))
        .one(db)
        .await
}

/// The user a gateway identity names, when storing the identity again would change
/// nothing: a returning user's requests then need no write transaction.
pub async fn settled_gateway_user(
    db: &impl ConnectionTrait,
    identity: &GatewayIdentity,
) -> Result<Option<User>, DbErr> {
    let Some(found) = find_by_sub(db, &identity.sub).await? else {
        return Ok(None);
    };
    if found.name.trim().is_empty() && !identity.name.trim().is_empty() {
        return Ok(None);
    }
    let needs_address = !identity.first_name.is_empty()
        && legal_address::Entity::find_by_id(found.id)
            .one(db)
            .await?
            .is_none();
    Ok((!needs_address).then_some(found))
}

/// Finds the user by the gateway's `sub` (or, the first time, by email), creating it if
/// needed; names are only filled in where blank, as MITx Online's gateway backend does.
pub async fn upsert_gateway_user(
    db: &impl ConnectionTrait,
    identity: &GatewayIdentity,
    now: DateTime<Utc>,
) -> Result<User, DbErr> {
    let existing = match find_by_sub(db, &identity.sub).await? {
        Some(found) => Some(found),
        None => find_by_email(db, &identity.email).await?,
    };
    let user = match existing {
        Some(found) => {
            let (sub, name) = (identity.sub.clone(), identity.name.clone());
            let blank_name = found.name.trim().is_empty();
            update(db, found, |u| {
                u.global_id = Set(Some(sub));
                if blank_name {
                    u.name = Set(name);
                }
            })
            .await?
        }
        None => {
            let mut username = identity.username.clone();
            let mut suffix = 0;
            while Username::parse(&username).is_err()
                || user::Entity::find()
                    .filter(user::Column::Username.eq(username.as_str()))
                    .one(db)
                    .await?
                    .is_some()
            {
                suffix += 1;
                let base: String = identity
                    .username
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    .take(24)
                    .collect();
                username = format!(
                    "{}{suffix}",
                    if base.len() >= 3 {
                        base
                    } else {
                        "learner".to_string()
                    }
                );
            }
            user::ActiveModel {
                id: NotSet,
                email: Set(identity.email.as_str().to_string()),
                username: Set(username),
                name: Set(identity.name.clone()),
                password_hash: Set(None),
                is_active: Set(true),
                is_staff: Set(false),
                // The gateway's identity provider verified the address.
                email_verified: Set(true),
                global_id: Set(Some(identity.sub.clone())),
                created_on: Set(now),
                updated_on: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    if legal_address::Entity::find_by_id(user.id)
        .one(db)
        .await?
        .is_none()
        && !identity.first_name.is_empty()
    {
        legal_address::ActiveModel {
            user_id: Set(user.id),
            first_name: Set(identity.first_name.clone()),
            last_name: Set(identity.last_name.clone()),
            country: Set(String::new()),
            state: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(user)
}

/// Locks these users' rows until the transaction ends (PostgreSQL; SQLite's write
/// transactions already run one at a time), so decisions about a learner made in
/// concurrent transactions happen one after the other, each seeing the other's commit.
pub async fn lock(db: &impl ConnectionTrait, users: &[i64]) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let mut sorted = users.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    crate::sql::all_in(
        db,
        "SELECT id FROM users WHERE id IN ({ids}) ORDER BY id FOR UPDATE",
        vec![],
        &sorted,
        |_| Ok(()),
    )
    .await
    .map(|_| ())
}
