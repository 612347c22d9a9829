//! Vocabulary rows (platforms, languages, departments, topics, modes), found by name or
//! created on first use, and the links from courses, runs and programs to them.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set,
};

use crate::entity::*;

/// Vocabulary rows (platforms, languages, departments, topics, modes) by name, created on
/// first use.
#[derive(Default)]
pub(super) struct Vocabulary {
    ids: HashMap<(&'static str, String), i64>,
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

/// The id of the row whose `$column` is `$name`, inserting `$model` when there is none.
macro_rules! find_or_insert {
    ($db:expr, $entity:ident, $column:ident, $name:expr, $model:expr) => {
        match $entity::Entity::find()
            .filter($entity::Column::$column.eq($name))
            .one($db)
            .await?
        {
            Some(row) => row.id,
            None => $model.insert($db).await?.id,
        }
    };
}

impl Vocabulary {
    pub(super) async fn optional_id(
        &mut self,
        db: &impl ConnectionTrait,
        kind: &'static str,
        name: &Option<String>,
    ) -> Result<Option<i64>, DbErr> {
        match name {
            Some(name) => Ok(Some(self.id(db, kind, name).await?)),
            None => Ok(None),
        }
    }

    async fn id(
        &mut self,
        db: &impl ConnectionTrait,
        kind: &'static str,
        name: &str,
    ) -> Result<i64, DbErr> {
        if let Some(id) = self.ids.get(&(kind, name.to_string())) {
            return Ok(*id);
        }
        let owned = || Set(name.to_string());
        let id = match kind {
            "platform" => find_or_insert!(
                db,
                platform,
                Name,
                name,
                platform::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    enable_sync: Set(false),
                }
            ),
            "language" => find_or_insert!(
                db,
                language,
                Name,
                name,
                language::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    priority: Set(100),
                    is_active: Set(true),
                }
            ),
            "department" => find_or_insert!(
                db,
                department,
                Name,
                name,
                department::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    slug: Set(slugify(name)),
                }
            ),
            "topic" => find_or_insert!(
                db,
                topic,
                Name,
                name,
                topic::ActiveModel {
                    id: NotSet,
                    name: owned(),
                    parent_id: Set(None),
                }
            ),
            _ => find_or_insert!(
                db,
                enrollment_mode,
                ModeSlug,
                name,
                enrollment_mode::ActiveModel {
                    id: NotSet,
                    mode_slug: owned(),
                    mode_display_name: owned(),
                    requires_payment: Set(name == "verified"),
                }
            ),
        };
        self.ids.insert((kind, name.to_string()), id);
        Ok(id)
    }
}

/// Replaces the links of one kind from an owner (a course's departments, a run's modes).
pub(super) async fn set_links(
    db: &impl ConnectionTrait,
    vocabulary: &mut Vocabulary,
    owner: (&str, i64),
    kind: &'static str,
    names: &[String],
) -> Result<(), DbErr> {
    catalog_link::Entity::delete_many()
        .filter(catalog_link::Column::OwnerKind.eq(owner.0))
        .filter(catalog_link::Column::OwnerId.eq(owner.1))
        .filter(catalog_link::Column::LinkKind.eq(kind))
        .exec(db)
        .await?;
    let mut seen = HashSet::new();
    for (position, name) in names.iter().enumerate() {
        let target = vocabulary.id(db, kind, name).await?;
        if seen.insert(target) {
            catalog_link::ActiveModel {
                id: NotSet,
                owner_kind: Set(owner.0.to_string()),
                owner_id: Set(owner.1),
                link_kind: Set(kind.to_string()),
                target_id: Set(target),
                position: Set(position as i32),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}
