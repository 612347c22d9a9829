//! OAuth2 provider records: applications, authorization codes and tokens. Raw SQL keeps it
//! to one small module; every secret is stored as a digest.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::secret::{digest, new_token};
use crate::sql::{all, one, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub name: String,
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

fn application(row: QueryResult) -> Result<Application, DbErr> {
    let uris: String = row.try_get("", "redirect_uris")?;
    Ok(Application {
        id: row.try_get("", "id")?,
        name: row.try_get("", "name")?,
        client_id: row.try_get("", "client_id")?,
        redirect_uris: uris.split_whitespace().map(str::to_string).collect(),
    })
}

/// Registers an application; returns it and its secret (shown once).
pub async fn create_application(
    db: &impl ConnectionTrait,
    name: &str,
    redirect_uris: &[String],
    now: DateTime<Utc>,
) -> Result<(Application, String), DbErr> {
    let client_id = new_token()[..32].to_string();
    let secret = new_token();
    run(
        db,
        "INSERT INTO oauth_applications (name, client_id, client_secret_hash, redirect_uris, created_on) VALUES ($1, $2, $3, $4, $5)",
        vec![name.into(), client_id.clone().into(), digest(&secret).into(), redirect_uris.join(" ").into(), now.into()],
    )
    .await?;
    let app = find_application(db, &client_id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(client_id.clone()))?;
    Ok((app, secret))
}

/// Registers `name` afresh, replacing an application of that name and what it issued: how
/// the demo hands its in-process Open edX a secret it can know.
pub async fn replace_application(
    db: &impl ConnectionTrait,
    name: &str,
    redirect_uris: &[String],
    now: DateTime<Utc>,
) -> Result<(Application, String), DbErr> {
    run(
        db,
        "DELETE FROM oauth_applications WHERE name = $1",
        vec![name.into()],
    )
    .await?;
    create_application(db, name, redirect_uris, now).await
}

pub async fn applications(db: &impl ConnectionTrait) -> Result<Vec<Application>, DbErr> {
    all(
        db,
        "SELECT id, name, client_id, redirect_uris FROM oauth_applications ORDER BY id",
        Vec::new(),
    )
    .await?
    .into_iter()
    .map(application)
    .collect()
}

pub async fn find_application(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<Application>, DbErr> {
    one(
        db,
        "SELECT id, name, client_id, redirect_uris FROM oauth_applications WHERE client_id = $1",
        vec![client_id.into()],
    )
    .await?
    .map(application)
    .transpose()
}

/// The application whose id and secret these are.
pub async fn authenticate_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    secret: &str,
) -> Result<Option<Application>, DbErr> {
    one(
        db,
        "SELECT id, name, client_id, redirect_uris FROM oauth_applications WHERE client_id = $1 AND client_secret_hash = $2",
        vec![client_id.into(), digest(secret).into()],
    )
    .await?
    .map(application)
    .transpose()
}

/// A one-time authorization code, valid for ten minutes.
pub async fn issue_code(
    db: &impl ConnectionTrait,
    application_id: i64,
    user_id: i64,
    redirect_uri: &str,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let code = new_token();
    run(
        db,
        "INSERT INTO oauth_grants (code_hash, application_id, user_id, redirect_uri, expires_on, used) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![digest(&code).into(), application_id.into(), user_id.into(), redirect_uri.into(), (now + Duration::minutes(10)).into(), false.into()],
    )
    .await?;
    Ok(code)
}

/// Uses a code once: the user it was issued for, if it belongs to this application and
/// redirect URI and has not expired.
pub async fn use_code(
    db: &impl ConnectionTrait,
    application_id: i64,
    code: &str,
    redirect_uri: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let used = run(
        db,
        "UPDATE oauth_grants SET used = $1 WHERE code_hash = $2 AND application_id = $3 AND redirect_uri = $4 AND used = $5 AND expires_on > $6",
        vec![true.into(), digest(code).into(), application_id.into(), redirect_uri.into(), false.into(), now.into()],
    )
    .await?;
    if used != 1 {
        return Ok(None);
    }
    one(
        db,
        "SELECT user_id FROM oauth_grants WHERE code_hash = $1",
        vec![digest(code).into()],
    )
    .await?
    .map(|r| r.try_get("", "user_id"))
    .transpose()
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub expires_in: Duration,
}

pub const ACCESS_LIFETIME: Duration = Duration::hours(10);

pub async fn issue_tokens(
    db: &impl ConnectionTrait,
    application_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Tokens, DbErr> {
    let (access, refresh) = (new_token(), new_token());
    run(
        db,
        "INSERT INTO oauth_tokens (access_hash, refresh_hash, application_id, user_id, expires_on, revoked) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![digest(&access).into(), digest(&refresh).into(), application_id.into(), user_id.into(), (now + ACCESS_LIFETIME).into(), false.into()],
    )
    .await?;
    Ok(Tokens {
        access,
        refresh,
        expires_in: ACCESS_LIFETIME,
    })
}

/// Exchanges a refresh token for new tokens; the old pair stops working.
pub async fn refresh(
    db: &impl ConnectionTrait,
    application_id: i64,
    refresh: &str,
    now: DateTime<Utc>,
) -> Result<Option<Tokens>, DbErr> {
    let Some(row) = one(
        db,
        "SELECT user_id FROM oauth_tokens WHERE refresh_hash = $1 AND application_id = $2 AND revoked = $3",
        vec![digest(refresh).into(), application_id.into(), false.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let user_id: i64 = row.try_get("", "user_id")?;
    // Only the request that revokes it gets new tokens: two refreshes with one token (a
    // replay racing the client) cannot both succeed.
    let revoked = run(
        db,
        "UPDATE oauth_tokens SET revoked = $1 WHERE refresh_hash = $2 AND revoked = $3",
        vec![true.into(), digest(refresh).into(), false.into()],
    )
    .await?;
    if revoked == 0 {
        return Ok(None);
    }
    issue_tokens(db, application_id, user_id, now)
        .await
        .map(Some)
}

/// The user an access token stands for.
pub async fn token_user(
    db: &impl ConnectionTrait,
    access: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    one(
        db,
        "SELECT user_id FROM oauth_tokens WHERE access_hash = $1 AND revoked = $2 AND expires_on > $3",
        vec![digest(access).into(), false.into(), now.into()],
    )
    .await?
    .map(|r| r.try_get("", "user_id"))
    .transpose()
}
