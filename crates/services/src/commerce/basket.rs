//! The basket: one product (a course run or a program), at most one discount, priced with
//! tax for the buyer's country. What may be put in it and what its price is are checked
//! again at checkout, because time passes between the two.

use chrono::{DateTime, Utc};
use domain::catalog::Site;
use domain::catalog::predicates::open_for_enrollment;
use domain::commerce::pricing::{self, Invalid, Quote};
use jobs::Job as _;
use sea_orm::{ConnectionTrait, DbErr};
use store::Store;
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::baskets::{self, Owner};
use store::commerce::discounts::{self, DiscountRow};

use super::{Item, item};
use crate::crm::{Deal, SyncDeal};

#[derive(Debug, thiserror::Error)]
pub enum BasketError {
    #[error("there is no such product for sale")]
    NoSuchProduct,
    #[error("{0}")]
    NotForSale(String),
    #[error("you are already enrolled in this")]
    AlreadyPurchased,
    #[error("this course is not offered in your country")]
    CountryBlocked,
    #[error("your basket is empty")]
    Empty,
    #[error("the code {code:?} cannot be used: {why}")]
    Code { code: String, why: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Why a product cannot be bought now, by its storefront's rules: xPRO sells unexpired runs
/// of live courses; MITx Online sells the upgrade of runs that are upgradable (live, deadline
/// not passed, a verified track); nobody sells external courses (they link out).
pub fn sale_blocker(view: &CatalogView, item: &Item, now: DateTime<Utc>) -> Option<&'static str> {
    match item.sells {
        Purchasable::Run(run_id) => {
            let (course, run) = view.run(run_id)?;
            if course.is_external {
                return Some("this course is sold by its provider; follow the link on its page");
            }
            if !course.live || !run.window.live {
                return Some("this course run is not offered");
            }
            let open = match course.site {
                Site::Xpro => open_for_enrollment(course.site, &run.window, now),
                Site::Mitxonline => run
                    .window
                    .is_upgradable(now, true, run.has_mode("verified")),
            };
            (!open).then_some(
                "this course run is closed for enrollment or its upgrade deadline has passed",
            )
        }
        Purchasable::Program(program_id) => {
            let program = view.program(program_id)?;
            if program.is_external {
                return Some("this program is sold by its provider; follow the link on its page");
            }
            (!program.live).then_some("this program is not offered")
        }
    }
}

/// Whether a run's course is not offered in the learner's country (MITx Online checks the
/// run items of a basket).
async fn blocked_for(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    user_id: i64,
    item: &Item,
) -> Result<bool, DbErr> {
    match item.sells {
        Purchasable::Run(run_id) => match view.run(run_id) {
            Some((course, _)) => crate::enrollments::country_blocked(db, user_id, course).await,
            None => Ok(false),
        },
        Purchasable::Program(_) => Ok(false),
    }
}

/// Whether the learner already has what the item sells, paid.
pub async fn already_has(
    db: &impl ConnectionTrait,
    user_id: i64,
    item: &Item,
) -> Result<bool, DbErr> {
    Ok(match item.sells {
        Purchasable::Run(run_id) => store::enrollments::for_run(db, user_id, run_id)
            .await?
            .is_some_and(|e| e.active && e.mode != "audit"),
        Purchasable::Program(program_id) => store::enrollments::programs_of(db, user_id)
            .await?
            .iter()
            .any(|(p, mode)| *p == program_id && mode != "audit"),
    })
}

/// Puts a product in the basket (replacing what was there).
pub async fn add(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    owner: &Owner,
    product_id: i64,
    now: DateTime<Utc>,
) -> Result<(), BasketError> {
    choose(db, view, owner, product_id, None, now).await
}

/// Puts a program in the basket as one of its runs (xPRO's `program-v1:…+R1` text ids; the
/// run tags the sale and does not change which course runs are chosen).
pub async fn add_program_run(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    owner: &Owner,
    product_id: i64,
    run_tag: &str,
    now: DateTime<Utc>,
) -> Result<(), BasketError> {
    choose(db, view, owner, product_id, Some(run_tag), now).await
}

async fn choose(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    owner: &Owner,
    product_id: i64,
    program_run: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), BasketError> {
    let item = item(view, product_id).ok_or(BasketError::NoSuchProduct)?;
    if let Some(why) = sale_blocker(view, &item, now) {
        return Err(BasketError::NotForSale(why.to_string()));
    }
    if let Some(tag) = program_run {
        let known = match item.sells {
            Purchasable::Program(id) => view
                .program(id)
                .is_some_and(|p| p.runs.iter().any(|r| r.run_tag == tag)),
            Purchasable::Run(_) => false,
        };
        if !known {
            return Err(BasketError::NotForSale(format!(
                "{} has no program run {tag}",
                item.readable_id
            )));
        }
    }
    if let Owner::User(user_id) = owner {
        if already_has(db, *user_id, &item).await? {
            return Err(BasketError::AlreadyPurchased);
        }
        if blocked_for(db, view, *user_id, &item).await? {
            return Err(BasketError::CountryBlocked);
        }
    }
    baskets::put(db, owner, product_id, program_run, now).await?;
    basket_changed(db, owner).await?;
    Ok(())
}

/// A learner's basket deal follows their basket (anonymous baskets have no contact).
async fn basket_changed(db: &impl ConnectionTrait, owner: &Owner) -> Result<(), DbErr> {
    match owner {
        Owner::User(user) => SyncDeal {
            deal: Deal::Basket(*user),
        }
        .enqueue(db)
        .await
        .map(|_| ()),
        _ => Ok(()),
    }
}

/// At sign-in a visitor's basket becomes the learner's (`baskets::hand_over`); their
/// basket deal follows.
pub async fn hand_over(
    store: &Store,
    anonymous_id: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = store.write().await?;
    baskets::hand_over(&txn, anonymous_id, user_id, now).await?;
    basket_changed(&txn, &Owner::User(user_id)).await?;
    txn.commit().await
}

/// Empties the basket.
pub async fn clear(store: &Store, owner: &Owner) -> Result<(), DbErr> {
    let txn = store.write().await?;
    clear_in(&txn, owner).await?;
    txn.commit().await
}

/// Empties the basket, in the caller's transaction.
pub(crate) async fn clear_in(db: &impl ConnectionTrait, owner: &Owner) -> Result<(), DbErr> {
    baskets::clear(db, owner).await?;
    basket_changed(db, owner).await
}

/// Applies a code to the basket's product, replacing any discount there.
pub async fn apply_code(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    owner: &Owner,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), BasketError> {
    let basket = baskets::find(db, owner).await?;
    let product_id = basket
        .as_ref()
        .and_then(|b| b.product_id)
        .ok_or(BasketError::Empty)?;
    if item(view, product_id).is_none() {
        return Err(BasketError::NoSuchProduct);
    }
    let refused = |why: String| BasketError::Code {
        code: code.trim().to_string(),
        why,
    };
    // A bulk code prices seat purchases only; to a learner it is no code at all.
    let discount = discounts::by_code(db, code)
        .await?
        .filter(|d| !d.bulk)
        .ok_or_else(|| refused("there is no such code".into()))?;
    usable(db, &discount, product_id, user_of(owner), now)
        .await?
        .map_err(|e| refused(e.to_string()))?;
    let basket = basket.ok_or(BasketError::Empty)?;
    baskets::set_discount(db, basket.id, Some(discount.id), now).await?;
    Ok(())
}

fn user_of(owner: &Owner) -> Option<i64> {
    match owner {
        Owner::User(id) => Some(*id),
        Owner::Anonymous(_) => None,
    }
}

async fn usable(
    db: &impl ConnectionTrait,
    discount: &DiscountRow,
    product_id: i64,
    user: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Result<(), Invalid>, DbErr> {
    let usage = discounts::usage(db, discount.id, user).await?;
    Ok(discount.rules.check(product_id, user, usage, now))
}

/// The basket as the learner sees it and checkout takes it.
#[derive(Debug, Clone)]
pub struct Priced {
    pub basket_id: i64,
    pub item: Item,
    /// The program run a program is bought as.
    pub program_run: Option<String>,
    /// The code applied, or the best automatic discount.
    pub discount: Option<DiscountRow>,
    pub tax_rate: Option<pricing::TaxRate>,
    pub quote: Quote,
    /// Why the basket cannot be checked out now.
    pub blocker: Option<String>,
    /// A code that was applied but no longer works, dropped from the price.
    pub dropped_code: Option<String>,
}

/// Prices the basket for a buyer in `country` (their legal address; tax applies where a
/// rate is configured). The applied code is re-checked; without a usable one, the best
/// automatic discount applies.
pub async fn priced(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    owner: &Owner,
    country: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Priced>, BasketError> {
    let Some(basket) = baskets::find(db, owner).await? else {
        return Ok(None);
    };
    let Some(product_id) = basket.product_id else {
        return Ok(None);
    };
    let Some(item) = item(view, product_id) else {
        return Err(BasketError::NoSuchProduct);
    };
    let user = user_of(owner);
    let mut dropped_code = None;
    let mut chosen = None;
    if let Some(id) = basket.discount_id
        && let Some(applied) = discounts::find(db, id).await?
    {
        if usable(db, &applied, product_id, user, now).await?.is_ok() {
            chosen = Some(applied);
        } else {
            dropped_code = applied.code.clone();
        }
    }
    if chosen.is_none() {
        let mut candidates = Vec::new();
        for d in discounts::automatic(db).await? {
            if usable(db, &d, product_id, user, now).await?.is_ok() {
                candidates.push(d);
            }
        }
        let kinds: Vec<_> = candidates.iter().map(|d| d.rules.kind).collect();
        chosen = pricing::best(item.list, &kinds).map(|i| candidates.swap_remove(i));
    }
    let tax_rate = match country {
        Some(c) => discounts::tax_rate(db, c).await?,
        None => None,
    };
    let quote = pricing::quote(
        item.list,
        chosen.as_ref().map(|d| d.rules.kind),
        tax_rate.as_ref(),
    );
    let mut blocker = sale_blocker(view, &item, now).map(str::to_string);
    if blocker.is_none()
        && let Some(user_id) = user
    {
        if already_has(db, user_id, &item).await? {
            blocker = Some(BasketError::AlreadyPurchased.to_string());
        } else if blocked_for(db, view, user_id, &item).await? {
            blocker = Some(BasketError::CountryBlocked.to_string());
        }
    }
    Ok(Some(Priced {
        basket_id: basket.id,
        program_run: basket.program_run.clone(),
        item,
        discount: chosen,
        tax_rate,
        quote,
        blocker,
        dropped_code,
    }))
}

// The basket's use cases as the edge calls them, each in one transaction.

/// Puts a product, a code, or both in the basket: all of it or (refused) none.
pub async fn put(
    store: &Store,
    view: &CatalogView,
    owner: &Owner,
    product_id: Option<i64>,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), BasketError> {
    let txn = store.write().await?;
    if let Some(product_id) = product_id {
        add(&txn, view, owner, product_id, now).await?;
    }
    if let Some(code) = code {
        apply_code(&txn, view, owner, code, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Puts a product in the basket with the code that came with it (a redemption link): a
/// code that does not apply leaves the product in the basket, and is the refusal
/// returned. An empty code is no code.
pub async fn put_with_code(
    store: &Store,
    view: &CatalogView,
    owner: &Owner,
    product_id: i64,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<BasketError>, BasketError> {
    let txn = store.write().await?;
    add(&txn, view, owner, product_id, now).await?;
    let refused = match code.trim() {
        "" => None,
        code => match apply_code(&txn, view, owner, code, now).await {
            Ok(()) => None,
            Err(BasketError::Db(e)) => return Err(e.into()),
            Err(refused) => Some(refused),
        },
    };
    txn.commit().await?;
    Ok(refused)
}

/// What a change to the basket does with its product.
#[derive(Debug, Clone)]
pub enum ItemChange {
    /// Nothing in the basket.
    Clear,
    /// This product (replacing what was there).
    Product(i64),
    /// This program, as one of its runs (xPRO's `program-v1:…+R1`).
    ProgramRun { product_id: i64, run_tag: String },
}

/// What a change to the basket does with its code.
#[derive(Debug, Clone)]
pub enum CodeChange {
    /// No code.
    Clear,
    Apply(String),
}

/// Why a change to the basket was refused: its product or its code.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Item(BasketError),
    #[error("{0}")]
    Code(BasketError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Changes the basket's product, then its code (xPRO's basket PATCH): all or nothing.
pub async fn change(
    store: &Store,
    view: &CatalogView,
    owner: &Owner,
    item: Option<&ItemChange>,
    code: Option<&CodeChange>,
    now: DateTime<Utc>,
) -> Result<(), ChangeError> {
    let txn = store.write().await?;
    let refused = |into: fn(BasketError) -> ChangeError| {
        move |e: BasketError| match e {
            BasketError::Db(e) => ChangeError::Db(e),
            e => into(e),
        }
    };
    match item {
        None => {}
        Some(ItemChange::Clear) => clear_in(&txn, owner).await?,
        Some(ItemChange::Product(product_id)) => add(&txn, view, owner, *product_id, now)
            .await
            .map_err(refused(ChangeError::Item))?,
        Some(ItemChange::ProgramRun {
            product_id,
            run_tag,
        }) => add_program_run(&txn, view, owner, *product_id, run_tag, now)
            .await
            .map_err(refused(ChangeError::Item))?,
    }
    match code {
        None => {}
        Some(CodeChange::Clear) => {
            if let Some(b) = baskets::find(&txn, owner).await? {
                baskets::set_discount(&txn, b.id, None, now).await?;
            }
        }
        Some(CodeChange::Apply(code)) => apply_code(&txn, view, owner, code, now)
            .await
            .map_err(refused(ChangeError::Code))?,
    }
    txn.commit().await?;
    Ok(())
}
