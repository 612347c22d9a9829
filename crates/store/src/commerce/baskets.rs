//! Baskets: one per signed-in learner, or per anonymous visitor (a random id in a cookie),
//! holding one product and at most one discount.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

use crate::sql::{one, run};

/// Whose basket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    User(i64),
    Anonymous(String),
}

impl Owner {
    fn column(&self) -> (&'static str, Value) {
        match self {
            Owner::User(id) => ("user_id", (*id).into()),
            Owner::Anonymous(id) => ("anonymous_id", id.clone().into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    pub id: i64,
    pub product_id: Option<i64>,
    /// The program run a program is bought as (`R1` of `program-v1:…+R1`).
    pub program_run: Option<String>,
    pub discount_id: Option<i64>,
    pub updated_on: DateTime<Utc>,
}

fn basket(row: QueryResult) -> Result<Basket, DbErr> {
    Ok(Basket {
        id: row.try_get("", "id")?,
        product_id: row.try_get("", "product_id")?,
        program_run: row.try_get("", "program_run_tag")?,
        discount_id: row.try_get("", "discount_id")?,
        updated_on: row.try_get("", "updated_on")?,
    })
}

pub async fn find(db: &impl ConnectionTrait, owner: &Owner) -> Result<Option<Basket>, DbErr> {
    let (column, value) = owner.column();
    one(
        db,
        &format!("SELECT id, product_id, program_run_tag, discount_id, updated_on FROM baskets WHERE {column} = $1"),
        vec![value],
    )
    .await?
    .map(basket)
    .transpose()
}

/// Puts `product` (as `program_run` of a program, if given) in the owner's basket in place
/// of what was there (one item), keeping the discount for checkout to re-validate.
pub async fn put(
    db: &impl ConnectionTrait,
    owner: &Owner,
    product_id: i64,
    program_run: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Basket, DbErr> {
    let (column, value) = owner.column();
    let program_run = program_run.map(str::to_string);
    let changed = run(
        db,
        &format!(
            "UPDATE baskets SET product_id = $1, program_run_tag = $2, updated_on = $3 WHERE {column} = $4"
        ),
        vec![
            product_id.into(),
            program_run.clone().into(),
            now.into(),
            value.clone(),
        ],
    )
    .await?;
    if changed == 0 {
        run(
            db,
            &format!(
                "INSERT INTO baskets ({column}, product_id, program_run_tag, updated_on) VALUES ($1, $2, $3, $4)"
            ),
            vec![value, product_id.into(), program_run.into(), now.into()],
        )
        .await?;
    }
    find(db, owner)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the basket just written".into()))
}

pub async fn set_discount(
    db: &impl ConnectionTrait,
    basket_id: i64,
    discount_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    run(
        db,
        "UPDATE baskets SET discount_id = $1, updated_on = $2 WHERE id = $3",
        vec![discount_id.into(), now.into(), basket_id.into()],
    )
    .await
    .map(|_| ())
}

pub async fn clear(db: &impl ConnectionTrait, owner: &Owner) -> Result<(), DbErr> {
    let (column, value) = owner.column();
    run(
        db,
        &format!("DELETE FROM baskets WHERE {column} = $1"),
        vec![value],
    )
    .await
    .map(|_| ())
}

/// At sign-in an anonymous basket with something in it becomes the learner's, replacing
/// theirs (MITx Online `claim_anonymous_basket`); an empty one is just dropped.
pub async fn hand_over(
    db: &impl ConnectionTrait,
    anonymous_id: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let anonymous = Owner::Anonymous(anonymous_id.to_string());
    let Some(theirs) = find(db, &anonymous).await? else {
        return Ok(());
    };
    if theirs.product_id.is_some() {
        clear(db, &Owner::User(user_id)).await?;
        run(
            db,
            "UPDATE baskets SET user_id = $1, anonymous_id = NULL, updated_on = $2 WHERE id = $3",
            vec![user_id.into(), now.into(), theirs.id.into()],
        )
        .await?;
    } else {
        clear(db, &anonymous).await?;
    }
    Ok(())
}
