//! Discounts with their product and learner scopes, redemptions, and tax rates.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use domain::commerce::pricing::{Discount, Kind, Redemption, TaxRate, Usage};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::sql::{all, one, run};

/// A stored discount: its rules and how it is found and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountRow {
    pub id: i64,
    pub code: Option<String>,
    pub automatic: bool,
    pub payment_type: Option<String>,
    /// The purchase order or transaction it was paid for by (xPRO).
    pub payment_transaction: Option<String>,
    /// The batch it was generated in (xPRO coupon payment name).
    pub batch: Option<String>,
    /// Prices bulk seat purchases (xPRO's B2BCoupon), never a learner's basket.
    pub bulk: bool,
    pub rules: Discount,
    pub created_on: DateTime<Utc>,
}

/// What creating a discount takes.
pub struct NewDiscount<'a> {
    pub code: Option<&'a str>,
    pub automatic: bool,
    pub payment_type: Option<&'a str>,
    pub payment_transaction: Option<&'a str>,
    pub batch: Option<&'a str>,
    pub bulk: bool,
    pub rules: &'a Discount,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscountError {
    #[error("the code {0:?} is taken")]
    CodeTaken(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

const COLUMNS: &str = "id, code, kind, amount, automatic, redemption, max_redemptions, activation_date, expiration_date, payment_type, payment_transaction, batch, bulk, created_on";

fn corrupt(e: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("a stored discount does not read back: {e}"))
}

async fn row(db: &impl ConnectionTrait, r: QueryResult) -> Result<DiscountRow, DbErr> {
    let id: i64 = r.try_get("", "id")?;
    let kind: String = r.try_get("", "kind")?;
    let amount: String = r.try_get("", "amount")?;
    let redemption: String = r.try_get("", "redemption")?;
    let max: i32 = r.try_get("", "max_redemptions")?;
    let ids = |sql: &str| {
        let sql = sql.to_string();
        async move {
            all(db, &sql, vec![id.into()])
                .await?
                .into_iter()
                .map(|r| r.try_get::<i64>("", "id"))
                .collect::<Result<Vec<i64>, DbErr>>()
        }
    };
    Ok(DiscountRow {
        id,
        code: r.try_get("", "code")?,
        automatic: r.try_get("", "automatic")?,
        payment_type: r.try_get("", "payment_type")?,
        payment_transaction: r.try_get("", "payment_transaction")?,
        batch: r.try_get("", "batch")?,
        bulk: r.try_get("", "bulk")?,
        rules: Discount {
            kind: Kind::parse(&kind, Decimal::from_str(&amount).map_err(corrupt)?)
                .map_err(corrupt)?,
            redemption: Redemption::parse(&redemption).map_err(corrupt)?,
            max_redemptions: u32::try_from(max).unwrap_or(0),
            activation: r.try_get("", "activation_date")?,
            expiration: r.try_get("", "expiration_date")?,
            products: ids("SELECT product_id AS id FROM discount_products WHERE discount_id = $1 ORDER BY product_id").await?,
            users: ids("SELECT user_id AS id FROM discount_users WHERE discount_id = $1 ORDER BY user_id").await?,
        },
        created_on: r.try_get("", "created_on")?,
    })
}

async fn rows(
    db: &impl ConnectionTrait,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<DiscountRow>, DbErr> {
    let mut out = Vec::new();
    for r in all(
        db,
        &format!("SELECT {COLUMNS} FROM discounts {filter}"),
        values,
    )
    .await?
    {
        out.push(row(db, r).await?);
    }
    Ok(out)
}

/// The values of code, kind, amount, automatic, redemption, max_redemptions,
/// activation_date, expiration_date, payment_type, bulk and payment_transaction, in that
/// order.
fn terms(new: &NewDiscount<'_>) -> Vec<sea_orm::Value> {
    let rules = new.rules;
    vec![
        new.code.map(|c| c.trim().to_string()).into(),
        rules.kind.name().into(),
        rules.kind.amount().to_string().into(),
        new.automatic.into(),
        rules.redemption.name().into(),
        i32::try_from(rules.max_redemptions)
            .unwrap_or(i32::MAX)
            .into(),
        rules.activation.into(),
        rules.expiration.into(),
        new.payment_type.map(str::to_string).into(),
        new.bulk.into(),
        new.payment_transaction.map(str::to_string).into(),
    ]
}

pub async fn create(
    db: &impl ConnectionTrait,
    new: &NewDiscount<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DiscountError> {
    if let Some(code) = new.code
        && by_code(db, code).await?.is_some()
    {
        return Err(DiscountError::CodeTaken(code.to_string()));
    }
    let rules = new.rules;
    let id: i64 = one(
        db,
        "INSERT INTO discounts (code, kind, amount, automatic, redemption, max_redemptions, activation_date, expiration_date, payment_type, bulk, payment_transaction, batch, created_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        [
            terms(new),
            vec![new.batch.map(str::to_string).into(), now.into()],
        ]
        .concat(),
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the discount just written".into()))?
    .try_get("", "id")?;
    for product in &rules.products {
        run(
            db,
            "INSERT INTO discount_products (discount_id, product_id) VALUES ($1, $2)",
            vec![id.into(), (*product).into()],
        )
        .await?;
    }
    for user in &rules.users {
        run(
            db,
            "INSERT INTO discount_users (discount_id, user_id) VALUES ($1, $2)",
            vec![id.into(), (*user).into()],
        )
        .await?;
    }
    Ok(id)
}

/// Rewrites a discount's code and terms; its scopes are changed one by one (below).
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    new: &NewDiscount<'_>,
) -> Result<(), DiscountError> {
    if let Some(code) = new.code
        && by_code(db, code).await?.is_some_and(|other| other.id != id)
    {
        return Err(DiscountError::CodeTaken(code.to_string()));
    }
    run(
        db,
        "UPDATE discounts SET code = $1, kind = $2, amount = $3, automatic = $4, redemption = $5, max_redemptions = $6, \
         activation_date = $7, expiration_date = $8, payment_type = $9, bulk = $10, payment_transaction = $11 WHERE id = $12",
        [terms(new), vec![id.into()]].concat(),
    )
    .await?;
    Ok(())
}

/// Ends the discounts whose code or batch name is one of `names` now (xPRO's coupon
/// deactivation); the names that matched nothing.
pub async fn expire(
    db: &impl ConnectionTrait,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<(u64, Vec<String>), DbErr> {
    let mut ended = 0;
    let mut unmatched = Vec::new();
    for name in names {
        let n = run(
            db,
            "UPDATE discounts SET expiration_date = $1 WHERE (code = $2 OR batch = $2) \
             AND (expiration_date IS NULL OR expiration_date > $1)",
            vec![now.into(), name.as_str().into()],
        )
        .await?;
        let known = n > 0
            || one(
                db,
                "SELECT id FROM discounts WHERE code = $1 OR batch = $1",
                vec![name.as_str().into()],
            )
            .await?
            .is_some();
        if !known {
            unmatched.push(name.clone());
        }
        ended += n;
    }
    Ok((ended, unmatched))
}

/// Whether a batch of this name exists.
pub async fn batch_exists(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    Ok(one(
        db,
        "SELECT id FROM discounts WHERE batch = $1",
        vec![name.into()],
    )
    .await?
    .is_some())
}

/// Whether any order or purchase was priced with the discount (it is then kept, as the
/// record of what was paid).
pub async fn in_use(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(one(
        db,
        "SELECT 1 AS used WHERE EXISTS (SELECT 1 FROM orders WHERE discount_id = $1) \
         OR EXISTS (SELECT 1 FROM discount_redemptions WHERE discount_id = $1) \
         OR EXISTS (SELECT 1 FROM bulk_orders WHERE discount_id = $1)",
        vec![id.into()],
    )
    .await?
    .is_some())
}

/// `false` when there was no such discount.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(run(db, "DELETE FROM discounts WHERE id = $1", vec![id.into()]).await? == 1)
}

/// What a discount can be limited to: products, or learners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Products,
    Users,
}

impl Scope {
    /// (table, member column)
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Scope::Products => ("discount_products", "product_id"),
            Scope::Users => ("discount_users", "user_id"),
        }
    }
}

/// Adds a product or learner to the discount's scope; `false` when already there.
pub async fn add_to(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: i64,
    member: i64,
) -> Result<bool, DbErr> {
    let (table, column) = scope.table();
    Ok(run(
        db,
        &format!(
            "INSERT INTO {table} (discount_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        ),
        vec![id.into(), member.into()],
    )
    .await?
        == 1)
}

pub async fn remove_from(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: i64,
    member: i64,
) -> Result<(), DbErr> {
    let (table, column) = scope.table();
    run(
        db,
        &format!("DELETE FROM {table} WHERE discount_id = $1 AND {column} = $2"),
        vec![id.into(), member.into()],
    )
    .await
    .map(|_| ())
}

/// A discount's use on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRow {
    pub id: i64,
    pub user_id: i64,
    pub order_id: i64,
    pub created_on: DateTime<Utc>,
}

/// Every order the discount was applied to, oldest first, whatever became of the order.
pub async fn redemptions(db: &impl ConnectionTrait, id: i64) -> Result<Vec<RedemptionRow>, DbErr> {
    crate::sql::all_as(
        db,
        "SELECT id, user_id, order_id, created_on FROM discount_redemptions WHERE discount_id = $1 ORDER BY id",
        vec![id.into()],
        |r| {
            Ok(RedemptionRow {
                id: r.try_get("", "id")?,
                user_id: r.try_get("", "user_id")?,
                order_id: r.try_get("", "order_id")?,
                created_on: r.try_get("", "created_on")?,
            })
        },
    )
    .await
}

/// Of these product ids, those no product has.
pub async fn unknown_products(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>, DbErr> {
    let mut unknown = Vec::new();
    for id in ids {
        if one(
            db,
            "SELECT id FROM products WHERE id = $1",
            vec![(*id).into()],
        )
        .await?
        .is_none()
        {
            unknown.push(*id);
        }
    }
    Ok(unknown)
}

/// The discounts generated in one batch, oldest first.
pub async fn in_batch(db: &impl ConnectionTrait, batch: &str) -> Result<Vec<DiscountRow>, DbErr> {
    rows(db, "WHERE batch = $1 ORDER BY id", vec![batch.into()]).await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<DiscountRow>, DbErr> {
    Ok(rows(db, "WHERE id = $1", vec![id.into()]).await?.pop())
}

/// Codes are matched as typed, ignoring surrounding space.
pub async fn by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<DiscountRow>, DbErr> {
    Ok(rows(db, "WHERE code = $1", vec![code.trim().into()])
        .await?
        .pop())
}

/// Discounts that apply to a basket without a code, oldest first.
pub async fn automatic(db: &impl ConnectionTrait) -> Result<Vec<DiscountRow>, DbErr> {
    rows(
        db,
        "WHERE automatic = $1 AND bulk = $2 ORDER BY id",
        vec![true.into(), false.into()],
    )
    .await
}

/// Newest first, optionally those whose code contains `query`.
pub async fn list(
    db: &impl ConnectionTrait,
    query: Option<&str>,
    limit: u64,
) -> Result<Vec<DiscountRow>, DbErr> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    match query.filter(|q| !q.trim().is_empty()) {
        Some(q) => {
            rows(
                db,
                "WHERE code LIKE $1 ORDER BY id DESC LIMIT $2",
                vec![format!("%{}%", q.trim()).into(), limit.into()],
            )
            .await
        }
        None => rows(db, "ORDER BY id DESC LIMIT $1", vec![limit.into()]).await,
    }
}

/// Locks a discount's row until the transaction ends (PostgreSQL; SQLite's write
/// transactions already run one at a time), so two fulfilments using one code decide
/// one after the other, each counting the other's use.
pub async fn lock(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    one(
        db,
        "SELECT id FROM discounts WHERE id = $1 FOR UPDATE",
        vec![id.into()],
    )
    .await
    .map(|_| ())
}

/// Redemptions that count: on fulfilled or refunded orders.
pub async fn usage(
    db: &impl ConnectionTrait,
    discount_id: i64,
    user_id: Option<i64>,
) -> Result<Usage, DbErr> {
    let counted = one(
        db,
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN r.user_id = $1 THEN 1 ELSE 0 END), 0) AS mine \
         FROM discount_redemptions r JOIN orders o ON o.id = r.order_id \
         WHERE r.discount_id = $2 AND o.state IN ('fulfilled', 'refunded')",
        vec![user_id.unwrap_or(-1).into(), discount_id.into()],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("a count".into()))?;
    let total: i64 = counted.try_get("", "total")?;
    let mine: i64 = counted.try_get("", "mine")?;
    Ok(Usage {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        by_this_user: u32::try_from(mine).unwrap_or(u32::MAX),
    })
}

/// A bulk discount's uses that count: seat purchases fulfilled or refunded with it.
pub async fn bulk_usage(db: &impl ConnectionTrait, discount_id: i64) -> Result<Usage, DbErr> {
    let counted = one(
        db,
        "SELECT COUNT(*) AS total FROM bulk_orders WHERE discount_id = $1 AND state IN ('fulfilled', 'refunded')",
        vec![discount_id.into()],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("a count".into()))?;
    let total: i64 = counted.try_get("", "total")?;
    Ok(Usage {
        total: u32::try_from(total).unwrap_or(u32::MAX),
        by_this_user: 0,
    })
}

/// Records the order's discount (one per order), replacing an earlier one.
pub async fn redeem(
    db: &impl ConnectionTrait,
    discount_id: Option<i64>,
    order_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM discount_redemptions WHERE order_id = $1",
        vec![order_id.into()],
    )
    .await?;
    if let Some(discount_id) = discount_id {
        run(
            db,
            "INSERT INTO discount_redemptions (discount_id, order_id, user_id, created_on) VALUES ($1, $2, $3, $4)",
            vec![discount_id.into(), order_id.into(), user_id.into(), now.into()],
        )
        .await?;
    }
    Ok(())
}

/// The active tax rate of a country.
pub async fn tax_rate(db: &impl ConnectionTrait, country: &str) -> Result<Option<TaxRate>, DbErr> {
    one(
        db,
        "SELECT country_code, percent, name FROM tax_rates WHERE country_code = $1 AND active = $2",
        vec![country.to_uppercase().into(), true.into()],
    )
    .await?
    .map(|r| {
        let percent: String = r.try_get("", "percent")?;
        Ok(TaxRate {
            country: r.try_get("", "country_code")?,
            percent: Decimal::from_str(&percent).map_err(corrupt)?,
            name: r.try_get("", "name")?,
        })
    })
    .transpose()
}

pub async fn save_tax_rate(db: &impl ConnectionTrait, rate: &TaxRate) -> Result<(), DbErr> {
    run(
        db,
        "INSERT INTO tax_rates (country_code, percent, name, active) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (country_code) DO UPDATE SET percent = excluded.percent, name = excluded.name, active = excluded.active",
        vec![
            rate.country.to_uppercase().into(),
            rate.percent.to_string().into(),
            rate.name.clone().into(),
            true.into(),
        ],
    )
    .await
    .map(|_| ())
}
