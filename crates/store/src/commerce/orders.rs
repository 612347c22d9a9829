//! Orders, their lines, every state change with its cause, processor transactions, and
//! the processor's posts as received.
//!
//! A state change is a conditional update (`… WHERE state = from`): of two deliveries of
//! the same result racing, exactly one moves the order, and only that one goes on to
//! fulfil it.

use chrono::{DateTime, Utc};
use domain::Money;
use domain::commerce::order::OrderState;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::sql::{all_as, one, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub reference_number: String,
    pub purchaser_id: i64,
    pub state: OrderState,
    /// After discount, before tax.
    pub total: Money,
    pub tax: Money,
    pub tax_country: Option<String>,
    pub tax_rate: Option<String>,
    pub tax_rate_name: Option<String>,
    pub currency: String,
    pub discount_id: Option<i64>,
    /// Why the order needs a person's attention (a payment that did not match it).
    pub flag: Option<String>,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
}

impl Order {
    /// What the processor is asked for.
    pub fn amount_due(&self) -> Money {
        Money::from_minor(self.total.minor + self.tax.minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub product_version_id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub list: Money,
    pub price: Money,
    pub description: String,
    /// The program run a program was bought as.
    pub program_run: Option<String>,
}

const COLUMNS: &str = "id, reference_number, purchaser_id, state, total_minor, tax_minor, tax_country, tax_rate, tax_rate_name, currency, discount_id, flag, created_on, updated_on";

/// The order columns, qualified by a table alias for joins.
fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn order(r: QueryResult) -> Result<Order, DbErr> {
    let state: String = r.try_get("", "state")?;
    Ok(Order {
        id: r.try_get("", "id")?,
        reference_number: r
            .try_get::<Option<String>>("", "reference_number")?
            .unwrap_or_default(),
        purchaser_id: r.try_get("", "purchaser_id")?,
        state: state.parse().map_err(DbErr::Custom)?,
        total: Money::from_minor(r.try_get("", "total_minor")?),
        tax: Money::from_minor(r.try_get("", "tax_minor")?),
        tax_country: r.try_get("", "tax_country")?,
        tax_rate: r.try_get("", "tax_rate")?,
        tax_rate_name: r.try_get("", "tax_rate_name")?,
        currency: r.try_get("", "currency")?,
        discount_id: r.try_get("", "discount_id")?,
        flag: r.try_get("", "flag")?,
        created_on: r.try_get("", "created_on")?,
        updated_on: r.try_get("", "updated_on")?,
    })
}

async fn orders(
    db: &impl ConnectionTrait,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<Order>, DbErr> {
    all_as(
        db,
        &format!("SELECT {COLUMNS} FROM orders {filter}"),
        values,
        order,
    )
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Order>, DbErr> {
    Ok(orders(db, "WHERE id = $1", vec![id.into()]).await?.pop())
}

pub async fn by_reference(
    db: &impl ConnectionTrait,
    reference: &str,
) -> Result<Option<Order>, DbErr> {
    Ok(
        orders(db, "WHERE reference_number = $1", vec![reference.into()])
            .await?
            .pop(),
    )
}

pub async fn of_purchaser(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<Order>, DbErr> {
    orders(
        db,
        "WHERE purchaser_id = $1 ORDER BY id DESC",
        vec![user_id.into()],
    )
    .await
}

/// Staff search: by state, and by reference or purchaser email containing `query`;
/// `flagged`: only orders that need a person.
pub async fn search(
    db: &impl ConnectionTrait,
    query: Option<&str>,
    state: Option<OrderState>,
    flagged: bool,
    limit: u64,
) -> Result<Vec<Order>, DbErr> {
    let pattern = format!("%{}%", query.unwrap_or_default().trim().to_lowercase());
    let state = state.map(|s| s.as_str().to_string());
    let cols = columns_of("o");
    all_as(
        db,
        &format!(
            "SELECT {cols} FROM orders o JOIN users u ON u.id = o.purchaser_id \
             WHERE (LOWER(o.reference_number) LIKE $1 OR LOWER(u.email) LIKE $1) \
             AND ($2 IS NULL OR o.state = $2) AND ($4 = $5 OR o.flag IS NOT NULL) \
             ORDER BY o.id DESC LIMIT $3"
        ),
        vec![
            pattern.into(),
            state.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
            flagged.into(),
            false.into(),
        ],
        order,
    )
    .await
}

pub async fn lines(db: &impl ConnectionTrait, order_id: i64) -> Result<Vec<Line>, DbErr> {
    all_as(
        db,
        "SELECT l.id, l.product_version_id, v.product_id, l.quantity, l.list_minor, l.price_minor, l.description, l.program_run_tag \
         FROM order_lines l JOIN product_versions v ON v.id = l.product_version_id WHERE l.order_id = $1 ORDER BY l.id",
        vec![order_id.into()],
        |r| {
        Ok(Line {
            id: r.try_get("", "id")?,
            product_version_id: r.try_get("", "product_version_id")?,
            product_id: r.try_get("", "product_id")?,
            quantity: r.try_get("", "quantity")?,
            list: Money::from_minor(r.try_get("", "list_minor")?),
            price: Money::from_minor(r.try_get("", "price_minor")?),
            description: r.try_get("", "description")?,
            program_run: r.try_get("", "program_run_tag")?,
        })
    },
    )
    .await
}

/// The priced item of a pending order.
#[derive(Debug, Clone)]
pub struct Pricing<'a> {
    pub product_version_id: i64,
    pub list: Money,
    pub price: Money,
    pub tax: Money,
    pub tax_country: Option<&'a str>,
    pub tax_rate: Option<String>,
    pub tax_rate_name: Option<&'a str>,
    pub currency: &'a str,
    pub description: &'a str,
    pub program_run: Option<&'a str>,
    pub discount_id: Option<i64>,
}

/// The purchaser's newest pending order for this product, to be reused rather than
/// duplicated by a second click or a changed basket (both references reuse it).
pub async fn pending_for(
    db: &impl ConnectionTrait,
    purchaser_id: i64,
    product_id: i64,
) -> Result<Option<Order>, DbErr> {
    let cols = columns_of("o");
    all_as(
        db,
        &format!(
            "SELECT {cols} FROM orders o JOIN order_lines l ON l.order_id = o.id \
             JOIN product_versions v ON v.id = l.product_version_id \
             WHERE o.purchaser_id = $1 AND o.state = 'pending' AND v.product_id = $2 ORDER BY o.id DESC LIMIT 1"
        ),
        vec![purchaser_id.into(), product_id.into()],
        order,
    )
    .await
    .map(|mut found| found.pop())
}

/// Creates a pending order with its one line; the reference number is
/// `<prefix>-<environment>-<id>`.
pub async fn create(
    db: &impl ConnectionTrait,
    purchaser_id: i64,
    pricing: &Pricing<'_>,
    reference_prefix: &str,
    now: DateTime<Utc>,
) -> Result<Order, DbErr> {
    let id: i64 = one(
        db,
        "INSERT INTO orders (purchaser_id, state, total_minor, tax_minor, tax_country, tax_rate, tax_rate_name, currency, discount_id, created_on, updated_on) \
         VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        vec![
            purchaser_id.into(),
            pricing.price.minor.into(),
            pricing.tax.minor.into(),
            pricing.tax_country.map(str::to_string).into(),
            pricing.tax_rate.clone().into(),
            pricing.tax_rate_name.map(str::to_string).into(),
            pricing.currency.into(),
            pricing.discount_id.into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the order just written".into()))?
    .try_get("", "id")?;
    run(
        db,
        "UPDATE orders SET reference_number = $1 WHERE id = $2",
        vec![format!("{reference_prefix}-{id}").into(), id.into()],
    )
    .await?;
    write_line(db, id, pricing).await?;
    record_transition_in(db, &ORDERS, id, None, OrderState::Pending, "checkout", now).await?;
    find(db, id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the order just written".into()))
}

async fn write_line(
    db: &impl ConnectionTrait,
    order_id: i64,
    pricing: &Pricing<'_>,
) -> Result<(), DbErr> {
    run(
        db,
        "DELETE FROM order_lines WHERE order_id = $1",
        vec![order_id.into()],
    )
    .await?;
    run(
        db,
        "INSERT INTO order_lines (order_id, product_version_id, quantity, list_minor, price_minor, description, program_run_tag) VALUES ($1, $2, 1, $3, $4, $5, $6)",
        vec![
            order_id.into(),
            pricing.product_version_id.into(),
            pricing.list.minor.into(),
            pricing.price.minor.into(),
            pricing.description.into(),
            pricing.program_run.map(str::to_string).into(),
        ],
    )
    .await
    .map(|_| ())
}

/// Re-prices a pending order (the basket changed since it was made); `false` if it is no
/// longer pending.
pub async fn reprice(
    db: &impl ConnectionTrait,
    order_id: i64,
    pricing: &Pricing<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let changed = run(
        db,
        "UPDATE orders SET total_minor = $1, tax_minor = $2, tax_country = $3, tax_rate = $4, tax_rate_name = $5, currency = $6, discount_id = $7, updated_on = $8 \
         WHERE id = $9 AND state = 'pending'",
        vec![
            pricing.price.minor.into(),
            pricing.tax.minor.into(),
            pricing.tax_country.map(str::to_string).into(),
            pricing.tax_rate.clone().into(),
            pricing.tax_rate_name.map(str::to_string).into(),
            pricing.currency.into(),
            pricing.discount_id.into(),
            now.into(),
            order_id.into(),
        ],
    )
    .await?;
    if changed == 1 {
        write_line(db, order_id, pricing).await?;
    }
    Ok(changed == 1)
}

/// The tables one kind of order keeps: its rows, and its state changes keyed by `order_id`.
pub(crate) struct Book {
    pub orders: &'static str,
    pub transitions: &'static str,
}

const ORDERS: Book = Book {
    orders: "orders",
    transitions: "order_transitions",
};

pub(crate) async fn record_transition_in(
    db: &impl ConnectionTrait,
    book: &Book,
    order_id: i64,
    from: Option<OrderState>,
    to: OrderState,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        &format!(
            "INSERT INTO {} (order_id, from_state, to_state, cause, created_on) VALUES ($1, $2, $3, $4, $5)",
            book.transitions
        ),
        vec![
            order_id.into(),
            from.map(|s| s.as_str().to_string()).into(),
            to.as_str().into(),
            cause.into(),
            now.into(),
        ],
    )
    .await
    .map(|_| ())
}

/// [`transition`] for any kind of order.
pub(crate) async fn transition_in(
    db: &impl ConnectionTrait,
    book: &Book,
    order_id: i64,
    from: OrderState,
    to: OrderState,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let moved = run(
        db,
        &format!(
            "UPDATE {} SET state = $1, updated_on = $2 WHERE id = $3 AND state = $4",
            book.orders
        ),
        vec![
            to.as_str().into(),
            now.into(),
            order_id.into(),
            from.as_str().into(),
        ],
    )
    .await?;
    if moved == 1 {
        record_transition_in(db, book, order_id, Some(from), to, cause, now).await?;
    }
    Ok(moved == 1)
}

pub(crate) async fn flag_in(
    db: &impl ConnectionTrait,
    book: &Book,
    order_id: i64,
    why: &str,
) -> Result<(), DbErr> {
    run(
        db,
        &format!("UPDATE {} SET flag = $1 WHERE id = $2", book.orders),
        vec![why.into(), order_id.into()],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn transitions_in(
    db: &impl ConnectionTrait,
    book: &Book,
    order_id: i64,
) -> Result<Vec<Transition>, DbErr> {
    all_as(
        db,
        &format!(
            "SELECT from_state, to_state, cause, created_on FROM {} WHERE order_id = $1 ORDER BY id",
            book.transitions
        ),
        vec![order_id.into()],
        |r| {
            let from: Option<String> = r.try_get("", "from_state")?;
            let to: String = r.try_get("", "to_state")?;
            Ok(Transition {
                from: from.map(|f| f.parse()).transpose().map_err(DbErr::Custom)?,
                to: to.parse().map_err(DbErr::Custom)?,
                cause: r.try_get("", "cause")?,
                at: r.try_get("", "created_on")?,
            })
        },
    )
    .await
}

/// Moves the order `from → to` if it is still `from`, recording the cause; `false` when
/// another delivery moved it first (or it never was `from`). The caller checks the
/// transition is one of the life cycle's.
pub async fn transition(
    db: &impl ConnectionTrait,
    order_id: i64,
    from: OrderState,
    to: OrderState,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    transition_in(db, &ORDERS, order_id, from, to, cause, now).await
}

/// Marks an order for a person to look at.
pub async fn flag(db: &impl ConnectionTrait, order_id: i64, why: &str) -> Result<(), DbErr> {
    flag_in(db, &ORDERS, order_id, why).await
}

/// How many orders and bulk purchases need a person.
pub async fn flagged_count(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    one(
        db,
        "SELECT (SELECT COUNT(*) FROM orders WHERE flag IS NOT NULL) \
         + (SELECT COUNT(*) FROM bulk_orders WHERE flag IS NOT NULL) AS n",
        vec![],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("a count".into()))?
    .try_get("", "n")
}

/// Locks an order's row until the transaction ends (PostgreSQL; SQLite's write
/// transactions already run one at a time).
pub async fn lock(db: &impl ConnectionTrait, order_id: i64) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    one(
        db,
        "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
        vec![order_id.into()],
    )
    .await
    .map(|_| ())
}

/// The order no longer needs a person (what its flag said was dealt with).
pub async fn clear_flag(db: &impl ConnectionTrait, order_id: i64) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE orders SET flag = NULL WHERE id = $1",
        vec![order_id.into()],
    )
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Option<OrderState>,
    pub to: OrderState,
    pub cause: String,
    pub at: DateTime<Utc>,
}

pub async fn transitions(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<Transition>, DbErr> {
    transitions_in(db, &ORDERS, order_id).await
}

/// A payment or refund as the processor reported it; recorded once per transaction id.
pub struct NewTransaction<'a> {
    pub order_id: i64,
    pub transaction_id: &'a str,
    pub kind: &'a str,
    pub amount: Money,
    pub data: &'a str,
}

/// `false` when the transaction id was recorded before.
pub async fn record_transaction(
    db: &impl ConnectionTrait,
    t: &NewTransaction<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    run(
        db,
        "INSERT INTO transactions (order_id, transaction_id, kind, amount_minor, data, created_on) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (transaction_id) DO NOTHING",
        vec![
            t.order_id.into(),
            t.transaction_id.into(),
            t.kind.into(),
            t.amount.minor.into(),
            t.data.into(),
            now.into(),
        ],
    )
    .await
    .map(|n| n == 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    pub transaction_id: String,
    pub kind: String,
    pub amount: Money,
    pub data: String,
    pub created_on: DateTime<Utc>,
}

pub async fn transactions(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<TransactionRow>, DbErr> {
    all_as(
        db,
        "SELECT transaction_id, kind, amount_minor, data, created_on FROM transactions WHERE order_id = $1 ORDER BY id",
        vec![order_id.into()],
        |r| {
        Ok(TransactionRow {
            transaction_id: r.try_get("", "transaction_id")?,
            kind: r.try_get("", "kind")?,
            amount: Money::from_minor(r.try_get("", "amount_minor")?),
            data: r.try_get("", "data")?,
            created_on: r.try_get("", "created_on")?,
        })
    },
    )
    .await
}

/// A processor post as received, whatever became of it.
pub struct Received<'a> {
    pub order_id: Option<i64>,
    pub bulk_order_id: Option<i64>,
    pub reference_number: Option<&'a str>,
    pub transaction_id: Option<&'a str>,
    pub decision: Option<&'a str>,
    /// `browser` or `merchant`.
    pub channel: &'a str,
    pub signature_valid: bool,
    pub outcome: &'a str,
    pub payload: &'a str,
}

/// Records a post; its id, for processing it (again, after a crash) from the record.
pub async fn record_received(
    db: &impl ConnectionTrait,
    r: &Received<'_>,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    one(
        db,
        "INSERT INTO payment_responses (order_id, bulk_order_id, reference_number, transaction_id, decision, channel, signature_valid, outcome, processed, payload, received_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        vec![
            r.order_id.into(),
            r.bulk_order_id.into(),
            r.reference_number.map(str::to_string).into(),
            r.transaction_id.map(str::to_string).into(),
            r.decision.map(str::to_string).into(),
            r.channel.into(),
            r.signature_valid.into(),
            r.outcome.into(),
            false.into(),
            r.payload.into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the post just recorded".into()))?
    .try_get("", "id")
}

/// A recorded post not processed yet.
#[derive(Debug, Clone)]
pub struct Unprocessed {
    /// The learner's order it is about, as it stands.
    pub order: Option<Order>,
    pub bulk_order_id: Option<i64>,
    pub payload: String,
}

/// The post, if not processed yet, read with its order in one query. On PostgreSQL the
/// post's row is locked until the transaction ends, so two processes acting on one post
/// (the inline attempt and its job, woken at once) take turns and the second finds it
/// processed.
pub async fn unprocessed(db: &impl ConnectionTrait, id: i64) -> Result<Option<Unprocessed>, DbErr> {
    let cols = columns_of("o");
    let lock = if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        "FOR UPDATE OF r"
    } else {
        ""
    };
    let Some(r) = one(
        db,
        &format!(
            "SELECT r.order_id AS post_order_id, r.bulk_order_id, r.payload, {cols} \
             FROM payment_responses r LEFT JOIN orders o ON o.id = r.order_id \
             WHERE r.id = $1 AND r.processed = $2 {lock}"
        ),
        vec![id.into(), false.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let has_order = r.try_get::<Option<i64>>("", "post_order_id")?.is_some();
    Ok(Some(Unprocessed {
        bulk_order_id: r.try_get("", "bulk_order_id")?,
        payload: r.try_get("", "payload")?,
        order: if has_order { Some(order(r)?) } else { None },
    }))
}

pub async fn mark_processed(
    db: &impl ConnectionTrait,
    id: i64,
    outcome: &str,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE payment_responses SET processed = $1, outcome = $2 WHERE id = $3",
        vec![true.into(), outcome.into(), id.into()],
    )
    .await
    .map(|_| ())
}

/// Whether another post accepting this payment (the processor's transaction id) was
/// already acted on for this order or bulk purchase: the second copy of one result.
pub async fn acceptance_processed(
    db: &impl ConnectionTrait,
    order_id: Option<i64>,
    bulk_order_id: Option<i64>,
    transaction_id: &str,
    except: i64,
) -> Result<bool, DbErr> {
    Ok(one(
        db,
        "SELECT id FROM payment_responses WHERE (order_id = $1 OR bulk_order_id = $2) \
         AND transaction_id = $3 AND decision = 'ACCEPT' AND signature_valid = $4 \
         AND processed = $4 AND id <> $5",
        vec![
            order_id.unwrap_or(-1).into(),
            bulk_order_id.unwrap_or(-1).into(),
            transaction_id.into(),
            true.into(),
            except.into(),
        ],
    )
    .await?
    .is_some())
}

/// Posts received for an order, oldest first: (channel, decision, signature valid, outcome).
pub async fn received_for(
    db: &impl ConnectionTrait,
    order_id: i64,
) -> Result<Vec<(String, Option<String>, bool, String)>, DbErr> {
    all_as(
        db,
        "SELECT channel, decision, signature_valid, outcome FROM payment_responses WHERE order_id = $1 ORDER BY id",
        vec![order_id.into()],
        |r| {
        Ok((
            r.try_get("", "channel")?,
            r.try_get("", "decision")?,
            r.try_get("", "signature_valid")?,
            r.try_get("", "outcome")?,
        ))
    },
    )
    .await
}
