//! Bulk seat purchases (xPRO `B2BOrder`): bought by an email address, found by a public
//! unique id, paid like any order, and fulfilled with one single-use code per seat.

use chrono::{DateTime, Utc};
use domain::Money;
use domain::commerce::order::OrderState;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::orders::{
    Book, Transition, flag_in, record_transition_in, transition_in, transitions_in,
};
use crate::sql::{all_as, one, run};

const BULK: Book = Book {
    orders: "bulk_orders",
    transitions: "bulk_order_transitions",
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOrder {
    pub id: i64,
    /// The public id the status page and the codes download are found by.
    pub unique_id: String,
    pub reference_number: String,
    pub email: String,
    pub num_seats: i32,
    pub product_id: i64,
    pub product_version_id: i64,
    pub per_item: Money,
    pub discount: Money,
    /// What the buyer pays: seats × per-item price, less the discount. No tax (as xPRO).
    pub total: Money,
    pub currency: String,
    pub discount_id: Option<i64>,
    pub contract_number: Option<String>,
    pub state: OrderState,
    pub flag: Option<String>,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
}

/// What a seat purchase is created with.
pub struct NewBulkOrder<'a> {
    pub email: &'a str,
    pub num_seats: i32,
    pub product_version_id: i64,
    pub per_item: Money,
    pub discount: Money,
    pub total: Money,
    pub currency: &'a str,
    pub discount_id: Option<i64>,
    pub contract_number: Option<&'a str>,
}

fn bulk_order(r: QueryResult) -> Result<BulkOrder, DbErr> {
    let state: String = r.try_get("", "state")?;
    Ok(BulkOrder {
        id: r.try_get("", "id")?,
        unique_id: r.try_get("", "unique_id")?,
        reference_number: r
            .try_get::<Option<String>>("", "reference_number")?
            .unwrap_or_default(),
        email: r.try_get("", "email")?,
        num_seats: r.try_get("", "num_seats")?,
        product_id: r.try_get("", "product_id")?,
        product_version_id: r.try_get("", "product_version_id")?,
        per_item: Money::from_minor(r.try_get("", "per_item_minor")?),
        discount: Money::from_minor(r.try_get("", "discount_minor")?),
        total: Money::from_minor(r.try_get("", "total_minor")?),
        currency: r.try_get("", "currency")?,
        discount_id: r.try_get("", "discount_id")?,
        contract_number: r.try_get("", "contract_number")?,
        state: state.parse().map_err(DbErr::Custom)?,
        flag: r.try_get("", "flag")?,
        created_on: r.try_get("", "created_on")?,
        updated_on: r.try_get("", "updated_on")?,
    })
}

async fn select(
    db: &impl ConnectionTrait,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<BulkOrder>, DbErr> {
    all_as(
        db,
        &format!(
            "SELECT b.id, b.unique_id, b.reference_number, b.email, b.num_seats, v.product_id, \
             b.product_version_id, b.per_item_minor, b.discount_minor, b.total_minor, b.currency, \
             b.discount_id, b.contract_number, b.state, b.flag, b.created_on, b.updated_on \
             FROM bulk_orders b JOIN product_versions v ON v.id = b.product_version_id {filter}"
        ),
        values,
        bulk_order,
    )
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<BulkOrder>, DbErr> {
    Ok(select(db, "WHERE b.id = $1", vec![id.into()]).await?.pop())
}

pub async fn by_unique_id(
    db: &impl ConnectionTrait,
    unique_id: &str,
) -> Result<Option<BulkOrder>, DbErr> {
    Ok(select(db, "WHERE b.unique_id = $1", vec![unique_id.into()])
        .await?
        .pop())
}

/// Newest first, optionally those whose email, reference or contract contains `query`.
pub async fn search(
    db: &impl ConnectionTrait,
    query: Option<&str>,
    limit: u64,
) -> Result<Vec<BulkOrder>, DbErr> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    match query.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => {
            select(
                db,
                "WHERE LOWER(b.email) LIKE $1 OR LOWER(b.reference_number) LIKE $1 \
                 OR LOWER(b.contract_number) LIKE $1 ORDER BY b.id DESC LIMIT $2",
                vec![format!("%{}%", q.to_lowercase()).into(), limit.into()],
            )
            .await
        }
        None => select(db, "ORDER BY b.id DESC LIMIT $1", vec![limit.into()]).await,
    }
}

/// Whether a fulfilled purchase already carries this contract number (case ignored).
pub async fn contract_used(db: &impl ConnectionTrait, contract: &str) -> Result<bool, DbErr> {
    Ok(one(
        db,
        "SELECT id FROM bulk_orders WHERE LOWER(contract_number) = $1 AND state = 'fulfilled'",
        vec![contract.trim().to_lowercase().into()],
    )
    .await?
    .is_some())
}

/// Locks a purchase's row until the transaction ends (PostgreSQL; SQLite's write
/// transactions already run one at a time).
pub async fn lock(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    one(
        db,
        "SELECT id FROM bulk_orders WHERE id = $1 FOR UPDATE",
        vec![id.into()],
    )
    .await
    .map(|_| ())
}

/// Holds a contract number until the transaction ends (a PostgreSQL advisory lock on it,
/// case ignored; SQLite's write transactions already run one at a time), so two purchases
/// with one contract decide one after the other.
pub async fn lock_contract(db: &impl ConnectionTrait, contract: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    one(
        db,
        "SELECT pg_advisory_xact_lock(hashtext('bulk contract ' || $1)) IS NULL AS locked",
        vec![contract.trim().to_lowercase().into()],
    )
    .await
    .map(|_| ())
}

/// Creates a pending purchase; its reference number is `<stem>-<id>`.
pub async fn create(
    db: &impl ConnectionTrait,
    new: &NewBulkOrder<'_>,
    reference_stem: &str,
    now: DateTime<Utc>,
) -> Result<BulkOrder, DbErr> {
    let unique_id = uuid::Uuid::new_v4().to_string();
    let id: i64 = one(
        db,
        "INSERT INTO bulk_orders (unique_id, email, num_seats, product_version_id, per_item_minor, discount_minor, total_minor, currency, discount_id, contract_number, state, created_on, updated_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11) RETURNING id",
        vec![
            unique_id.into(),
            new.email.into(),
            new.num_seats.into(),
            new.product_version_id.into(),
            new.per_item.minor.into(),
            new.discount.minor.into(),
            new.total.minor.into(),
            new.currency.into(),
            new.discount_id.into(),
            new.contract_number.map(str::to_string).into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the bulk order just written".into()))?
    .try_get("", "id")?;
    run(
        db,
        "UPDATE bulk_orders SET reference_number = $1 WHERE id = $2",
        vec![format!("{reference_stem}-{id}").into(), id.into()],
    )
    .await?;
    record_transition_in(
        db,
        &BULK,
        id,
        None,
        OrderState::Pending,
        "bulk checkout",
        now,
    )
    .await?;
    find(db, id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the bulk order just written".into()))
}

/// Moves the purchase `from → to` if it still is `from`, recording the cause.
pub async fn transition(
    db: &impl ConnectionTrait,
    id: i64,
    from: OrderState,
    to: OrderState,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    transition_in(db, &BULK, id, from, to, cause, now).await
}

pub async fn flag(db: &impl ConnectionTrait, id: i64, why: &str) -> Result<(), DbErr> {
    flag_in(db, &BULK, id, why).await
}

pub async fn transitions(db: &impl ConnectionTrait, id: i64) -> Result<Vec<Transition>, DbErr> {
    transitions_in(db, &BULK, id).await
}

/// Ties generated codes to the purchase that paid for them.
pub async fn attach_codes(
    db: &impl ConnectionTrait,
    id: i64,
    discount_ids: &[i64],
) -> Result<(), DbErr> {
    for discount_id in discount_ids {
        run(
            db,
            "INSERT INTO bulk_order_codes (bulk_order_id, discount_id) VALUES ($1, $2)",
            vec![id.into(), (*discount_id).into()],
        )
        .await?;
    }
    Ok(())
}

/// The purchase's codes in the order they were made, each with whether it was redeemed
/// (on an order fulfilled or refunded since).
pub async fn codes(db: &impl ConnectionTrait, id: i64) -> Result<Vec<(String, bool)>, DbErr> {
    all_as(
        db,
        "SELECT d.code, EXISTS (SELECT 1 FROM discount_redemptions r JOIN orders o ON o.id = r.order_id \
           WHERE r.discount_id = d.id AND o.state IN ('fulfilled', 'refunded')) AS redeemed \
         FROM bulk_order_codes c JOIN discounts d ON d.id = c.discount_id \
         WHERE c.bulk_order_id = $1 ORDER BY d.id",
        vec![id.into()],
        |r| {
            Ok((
                r.try_get::<Option<String>>("", "code")?.unwrap_or_default(),
                r.try_get("", "redeemed")?,
            ))
        },
    )
    .await
}

/// The payload of the accepted, verified processor post that paid for the purchase.
pub async fn accepted_payment(db: &impl ConnectionTrait, id: i64) -> Result<Option<String>, DbErr> {
    one(
        db,
        "SELECT payload FROM payment_responses WHERE bulk_order_id = $1 AND decision = 'ACCEPT' \
         AND signature_valid = $2 ORDER BY id DESC LIMIT 1",
        vec![id.into(), true.into()],
    )
    .await?
    .map(|r| r.try_get("", "payload"))
    .transpose()
}
