//! Creating discounts, one by code or a batch of generated codes (MITx Online
//! `create_batch`, xPRO coupon payments): every field is checked and reported by name, and a
//! batch is written whole or not at all.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::catalog::validate::FieldErrors;
use domain::commerce::pricing::{Discount, Kind, Redemption};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbErr};
use store::Store;
use store::commerce::discounts::{self, DiscountError, NewDiscount};

/// The longest prefix a generated code may have (MITx Online: 63 characters).
const MAX_PREFIX: usize = 63;
/// The most codes one batch may generate.
pub const MAX_BATCH: u32 = 5_000;
/// Payment types of both references.
pub const PAYMENT_TYPES: [&str; 9] = [
    "marketing",
    "sales",
    "financial-assistance",
    "customer-support",
    "staff",
    "legacy",
    "credit_card",
    "purchase_order",
    "",
];

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid: {0:?}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Single-use, 100 %-off codes for seats in one product, generated as one batch (xPRO's
/// enrollment codes: a bulk purchase's, a coupon request's).
pub struct Seats<'a> {
    pub count: i32,
    pub product_id: i64,
    pub payment_type: &'a str,
    /// The purchase order, contract or order reference the seats were paid by.
    pub transaction: &'a str,
    pub batch: &'a str,
    pub activation: Option<DateTime<Utc>>,
    pub expiration: Option<DateTime<Utc>>,
}

/// Writes the seats' codes, in the caller's transaction: (id, code) each, in order.
pub async fn seat_codes(
    db: &impl ConnectionTrait,
    seats: &Seats<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, String)>, DbErr> {
    let rules = Discount {
        kind: Kind::PercentOff(Decimal::ONE_HUNDRED),
        redemption: Redemption::OneTime,
        max_redemptions: 0,
        activation: seats.activation,
        expiration: seats.expiration,
        products: vec![seats.product_id],
        users: Vec::new(),
    };
    let mut codes = Vec::with_capacity(usize::try_from(seats.count).unwrap_or(0));
    for _ in 0..seats.count {
        let code = format!("{:032x}", rand::random::<u128>());
        let id = discounts::create(
            db,
            &NewDiscount {
                code: Some(&code),
                automatic: false,
                payment_type: Some(seats.payment_type),
                payment_transaction: Some(seats.transaction),
                batch: Some(seats.batch),
                bulk: false,
                rules: &rules,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            DiscountError::Db(db) => db,
            // 128 random bits: a clash is a bug, not a retryable state.
            taken => DbErr::Custom(taken.to_string()),
        })?;
        codes.push((id, code));
    }
    Ok(codes)
}

/// A date (`2026-12-31` or, as a sheet shows it, `12/31/2026`: the whole day) or a date and
/// time (`2026-12-31T17:00`, `12/31/2026 17:00:00`), UTC.
fn instant(text: &str, end_of_day: bool) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    if let Some(date) = ["%Y-%m-%d", "%m/%d/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
    {
        let time = if end_of_day {
            date.and_hms_opt(23, 59, 59)
        } else {
            date.and_hms_opt(0, 0, 0)
        };
        return Ok(time.map(|t| t.and_utc()));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| Some(t.and_utc()))
    .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD or MM/DD/YYYY) or date and time"))
}

/// The activation and expiration a form gives (`activation`, `expiration` fields), adding
/// what is wrong with them to `errors`: unreadable, out of order, or expired already.
pub(crate) fn window(
    activation: &str,
    expiration: &str,
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let activation = instant(activation, false)
        .map_err(|e| errors.add("activation", e))
        .ok()
        .flatten();
    let expiration = instant(expiration, true)
        .map_err(|e| errors.add("expiration", e))
        .ok()
        .flatten();
    if let (Some(a), Some(e)) = (activation, expiration)
        && a > e
    {
        errors.add("expiration", "must not come before the activation");
    }
    if expiration.is_some_and(|e| e < now) {
        errors.add("expiration", "is in the past");
    }
    (activation, expiration)
}

fn ids(text: &str) -> Result<Vec<i64>, String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("{s:?} is not a product id")))
        .collect()
}

/// The discounts written: (id, code).
pub type Created = Vec<(i64, Option<String>)>;

/// What a form says of a discount's own terms, scopes aside.
struct Terms {
    kind: Kind,
    redemption: Redemption,
    max_redemptions: u32,
    activation: Option<DateTime<Utc>>,
    expiration: Option<DateTime<Utc>>,
    automatic: bool,
    bulk: bool,
    payment_type: String,
    payment_transaction: Option<String>,
}

impl Terms {
    fn rules(&self, products: Vec<i64>, users: Vec<i64>) -> Discount {
        Discount {
            kind: self.kind,
            redemption: self.redemption,
            max_redemptions: self.max_redemptions,
            activation: self.activation,
            expiration: self.expiration,
            products,
            users,
        }
    }
}

fn flag(form: &HashMap<String, String>, key: &str) -> bool {
    matches!(
        form.get(key).map(|v| v.trim()).unwrap_or_default(),
        "on" | "true" | "1"
    )
}

/// Reads the terms, adding what is wrong to `errors`; none when kind or redemption is.
fn terms(
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> Option<Terms> {
    let get = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or_default();
    let amount = get("amount")
        .parse::<Decimal>()
        .map_err(|_| errors.add("amount", "must be a number"))
        .ok();
    let kind = amount.and_then(|a| {
        Kind::parse(get("kind"), a)
            .map_err(|e| errors.add("kind", e))
            .ok()
    });
    let redemption = Redemption::parse(if get("redemption").is_empty() {
        "one-time"
    } else {
        get("redemption")
    })
    .map_err(|e| errors.add("redemption", e))
    .ok();
    let max_redemptions = if get("max_redemptions").is_empty() {
        0
    } else {
        get("max_redemptions")
            .parse::<u32>()
            .map_err(|_| errors.add("max_redemptions", "must be a whole number, 0 for no limit"))
            .unwrap_or(0)
    };
    let (activation, expiration) = window(get("activation"), get("expiration"), now, errors);
    let payment_type = get("payment_type");
    if !PAYMENT_TYPES.contains(&payment_type) {
        errors.add(
            "payment_type",
            format!("{payment_type:?} is not a payment type"),
        );
    }
    let automatic = flag(form, "automatic");
    // A bulk code prices a seat purchase, which has no learner and is always typed in;
    // xPRO's B2B coupons are percent-off only.
    let bulk = flag(form, "bulk");
    if bulk {
        if automatic {
            errors.add(
                "bulk",
                "a bulk discount needs a code; it cannot be automatic",
            );
        }
        if !matches!(kind, Some(Kind::PercentOff(_)) | None) {
            errors.add("kind", "a bulk discount is percent-off");
        }
    }
    Some(Terms {
        kind: kind?,
        redemption: redemption?,
        max_redemptions,
        activation,
        expiration,
        automatic,
        bulk,
        payment_type: payment_type.to_string(),
        payment_transaction: Some(get("payment_transaction"))
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}

fn code_taken(e: DiscountError) -> AdminError {
    match e {
        DiscountError::CodeTaken(c) => {
            let mut errors = FieldErrors::default();
            errors.add("code", format!("the code {c:?} is taken"));
            AdminError::Invalid(errors)
        }
        DiscountError::Db(db) => AdminError::Db(db),
    }
}

/// Creates the discount (or `count` of them with codes `prefix` + random) a form describes.
/// Fields: code or prefix + count, kind, amount, redemption, max_redemptions, activation,
/// expiration, products (ids), users (emails), automatic, bulk, payment_type,
/// payment_transaction, batch,
/// bare_codes (generated codes without a prefix).
pub async fn create(
    store: &Store,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Created, AdminError> {
    let txn = store.write().await?;
    let created = create_in(&txn, form, now).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates a named batch of coupons (xPRO's coupon API): the name must be new.
pub async fn create_batch(
    store: &Store,
    name: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Created, AdminError> {
    let txn = store.write().await?;
    if discounts::batch_exists(&txn, name).await? {
        let mut errors = FieldErrors::default();
        errors.add("name", "coupon payment with this name already exists.");
        return Err(AdminError::Invalid(errors));
    }
    let created = create_in(&txn, form, now).await?;
    txn.commit().await?;
    Ok(created)
}

async fn create_in(
    db: &impl ConnectionTrait,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Created, AdminError> {
    let get = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or_default();
    let mut errors = FieldErrors::default();
    let terms = terms(form, now, &mut errors);
    let products = ids(get("products"))
        .map_err(|e| errors.add("products", e))
        .unwrap_or_default();
    for unknown in discounts::unknown_products(db, &products).await? {
        errors.add("products", format!("there is no product {unknown}"));
    }
    let mut users = Vec::new();
    for email in get("users")
        .split([',', ' ', '\n'])
        .filter(|e| !e.trim().is_empty())
    {
        match domain::accounts::Email::parse(email.trim()) {
            Ok(address) => match store::accounts::find_by_email(db, &address).await? {
                Some(user) => users.push(user.id),
                None => errors.add("users", format!("no account has the email {email}")),
            },
            Err(e) => errors.add("users", format!("{email}: {e}")),
        }
    }
    if flag(form, "bulk") && !users.is_empty() {
        errors.add("users", "a bulk discount is not for particular learners");
    }
    let count = if get("count").is_empty() {
        1
    } else {
        get("count")
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_BATCH).contains(n))
            .unwrap_or_else(|| {
                errors.add("count", format!("must be 1 to {MAX_BATCH}"));
                1
            })
    };
    let (code, prefix) = (get("code"), get("prefix"));
    // xPRO's single-use batches are bare random codes; MITx Online's need a prefix.
    let bare = flag(form, "bare_codes");
    let codes: Vec<Option<String>> = if count > 1 || !prefix.is_empty() || bare {
        if (prefix.is_empty() && !bare) || prefix.len() > MAX_PREFIX {
            errors.add(
                "prefix",
                format!("a batch needs a prefix of 1 to {MAX_PREFIX} characters"),
            );
        }
        (0..count)
            .map(|_| Some(format!("{prefix}{:032x}", rand::random::<u128>())))
            .collect()
    } else if code.is_empty() && !flag(form, "automatic") {
        errors.add("code", "a discount needs a code unless it is automatic");
        vec![None]
    } else {
        vec![(!code.is_empty()).then(|| code.to_string())]
    };
    let Some(terms) = terms.filter(|_| errors.is_empty()) else {
        return Err(AdminError::Invalid(errors));
    };
    let rules = terms.rules(products, users);
    let batch = (!get("batch").is_empty())
        .then(|| get("batch"))
        .or((codes.len() > 1).then_some(prefix));
    let payment_type = (!terms.payment_type.is_empty()).then_some(terms.payment_type.as_str());
    let mut created = Vec::with_capacity(codes.len());
    for code in codes {
        let id = discounts::create(
            db,
            &NewDiscount {
                code: code.as_deref(),
                automatic: terms.automatic,
                payment_type,
                payment_transaction: terms.payment_transaction.as_deref(),
                batch,
                bulk: terms.bulk,
                rules: &rules,
            },
            now,
        )
        .await
        .map_err(code_taken)?;
        created.push((id, code));
    }
    Ok(created)
}

/// Rewrites a discount's code and terms from a complete form (the caller merges a partial
/// change into the stored values first); its product and learner scopes stay as they are.
pub async fn update(
    store: &Store,
    id: i64,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let txn = store.write().await?;
    update_in(&txn, id, form, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn update_in(
    db: &impl ConnectionTrait,
    id: i64,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let mut errors = FieldErrors::default();
    let terms = terms(form, now, &mut errors);
    let code = form.get("code").map(|c| c.trim()).unwrap_or_default();
    if code.is_empty() && !flag(form, "automatic") {
        errors.add("code", "a discount needs a code unless it is automatic");
    }
    let Some(terms) = terms.filter(|_| errors.is_empty()) else {
        return Err(AdminError::Invalid(errors));
    };
    let Some(existing) = discounts::find(db, id).await? else {
        return Err(AdminError::Db(DbErr::RecordNotFound(format!(
            "discount {id}"
        ))));
    };
    let rules = terms.rules(existing.rules.products, existing.rules.users);
    discounts::update(
        db,
        id,
        &NewDiscount {
            code: (!code.is_empty()).then_some(code),
            automatic: terms.automatic,
            payment_type: (!terms.payment_type.is_empty()).then_some(terms.payment_type.as_str()),
            payment_transaction: terms.payment_transaction.as_deref(),
            batch: existing.batch.as_deref(),
            bulk: terms.bulk,
            rules: &rules,
        },
    )
    .await
    .map_err(code_taken)
}

/// Why a discount could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(
        "This discount priced orders; it is kept as their record. Set an expiration date instead."
    )]
    InUse,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Deletes a discount that never priced an order (one that did is their record).
pub async fn delete(store: &Store, id: i64) -> Result<(), DeleteError> {
    let txn = store.write().await?;
    if discounts::in_use(&txn, id).await? {
        return Err(DeleteError::InUse);
    }
    discounts::delete(&txn, id).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the named coupons (codes or batch names) now: (how many ended, the names skipped).
pub async fn expire(
    store: &Store,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<(u64, Vec<String>), DbErr> {
    let txn = store.write().await?;
    let outcome = discounts::expire(&txn, names, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Lets one more product or learner (a scope's member) use a discount; `false` when it
/// already could.
pub async fn add_to_scope(
    store: &Store,
    scope: discounts::Scope,
    id: i64,
    member: i64,
) -> Result<bool, DbErr> {
    discounts::add_to(store.db(), scope, id, member).await
}

/// Takes a product or learner out of a discount's scope.
pub async fn remove_from_scope(
    store: &Store,
    scope: discounts::Scope,
    id: i64,
    member: i64,
) -> Result<(), DbErr> {
    discounts::remove_from(store.db(), scope, id, member).await
}
