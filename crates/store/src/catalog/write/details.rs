//! What a course or program carries beside its own row: its page, its instructors and the
//! countries it is not offered in, each replaced whole on every write.

use std::collections::BTreeMap;

use domain::Money;
use domain::catalog::{Instructor, PageRecord};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set,
};

use crate::entity::*;

/// Replaces the countries a course is not offered in.
pub(super) async fn set_blocked_countries(
    db: &impl ConnectionTrait,
    course_id: i64,
    countries: &[String],
) -> Result<(), DbErr> {
    crate::sql::run(
        db,
        "DELETE FROM course_blocked_countries WHERE course_id = $1",
        vec![course_id.into()],
    )
    .await?;
    let unique: BTreeMap<&str, ()> = countries.iter().map(|c| (c.as_str(), ())).collect();
    for country in unique.keys() {
        crate::sql::run(
            db,
            "INSERT INTO course_blocked_countries (course_id, country) VALUES ($1, $2)",
            vec![course_id.into(), (*country).into()],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn set_instructors(
    db: &impl ConnectionTrait,
    owner: (&str, i64),
    list: &[Instructor],
) -> Result<(), DbErr> {
    instructor::Entity::delete_many()
        .filter(instructor::Column::OwnerKind.eq(owner.0))
        .filter(instructor::Column::OwnerId.eq(owner.1))
        .exec(db)
        .await?;
    for (position, person) in list.iter().enumerate() {
        instructor::ActiveModel {
            id: NotSet,
            owner_kind: Set(owner.0.to_string()),
            owner_id: Set(owner.1),
            position: Set(position as i32),
            name: Set(person.name.clone()),
            description: Set(person.description.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Writes a page row (updating the existing one) and returns its id, or none.
pub(super) async fn save_page(
    db: &impl ConnectionTrait,
    existing: Option<i64>,
    page: &Option<PageRecord>,
) -> Result<Option<i64>, DbErr> {
    let Some(page) = page else {
        if let Some(id) = existing {
            page::Entity::delete_by_id(id).exec(db).await?;
        }
        return Ok(None);
    };
    let minor = |m: Option<Money>| m.map(|m| m.minor);
    let model = page::ActiveModel {
        id: existing.map(Set).unwrap_or(NotSet),
        live: Set(page.live),
        description: Set(page.description.clone()),
        feature_image: Set(page.feature_image.clone()),
        duration: Set(page.duration.clone()),
        time_commitment: Set(page.time_commitment.clone()),
        min_weeks: Set(page.min_weeks),
        max_weeks: Set(page.max_weeks),
        min_weekly_hours: Set(page.min_weekly_hours),
        max_weekly_hours: Set(page.max_weekly_hours),
        min_price_minor: Set(minor(page.min_price)),
        max_price_minor: Set(minor(page.max_price)),
        format: Set(page.format.clone()),
        video_url: Set(page.video_url.clone()),
        credits_centi: Set(page.credits_centi),
        external_marketing_url: Set(page.external_marketing_url.clone()),
        marketing_hubspot_form_id: Set(page.marketing_hubspot_form_id.clone()),
        financial_assistance_form_url: Set(page.financial_assistance_form_url.clone()),
        include_in_learn_catalog: Set(page.include_in_learn_catalog),
        ingest_content_files_for_ai: Set(page.ingest_content_files_for_ai),
        prerequisites: Set(page.prerequisites.clone()),
        price_text: Set(page.price_text.clone()),
        list_price_minor: Set(minor(page.list_price)),
        signatories: Set((!page.signatories.is_empty())
            .then(|| serde_json::to_string(&page.signatories).expect("signatories serialize"))),
    };
    let saved = if existing.is_some() {
        model.update(db).await?
    } else {
        model.insert(db).await?
    };
    Ok(Some(saved.id))
}
