//! Products: the one a run or a program sells, and its price versions (a changed price is
//! appended; versions are never rewritten).

use chrono::Utc;
use domain::catalog::ProductRecord;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use super::Writer;
use crate::entity::*;

/// Which product a record sells.
#[derive(Clone, Copy)]
pub(super) enum Sells {
    Run(i64),
    Program(i64),
}

impl<C: ConnectionTrait> Writer<'_, C> {
    pub(super) async fn save_product(
        &mut self,
        sells: Sells,
        record: &Option<ProductRecord>,
        what: &str,
    ) -> Result<(), DbErr> {
        let Some(record) = record else { return Ok(()) };
        let existing = match sells {
            Sells::Run(id) => {
                product::Entity::find()
                    .filter(product::Column::CourseRunId.eq(id))
                    .one(self.db)
                    .await?
            }
            Sells::Program(id) => {
                product::Entity::find()
                    .filter(product::Column::ProgramId.eq(id))
                    .one(self.db)
                    .await?
            }
        };
        let product_id = match existing {
            Some(row) => {
                let mut active = row.into_active_model();
                active.is_active = Set(record.is_active);
                active.description = Set(record.description.clone());
                active.update(self.db).await?.id
            }
            None => {
                let id = self
                    .wanted_id::<product::Entity>(
                        "products",
                        &format!("product of {what}"),
                        record.id,
                    )
                    .await?;
                product::ActiveModel {
                    id: id.map(Set).unwrap_or(NotSet),
                    course_run_id: Set(match sells {
                        Sells::Run(id) => Some(id),
                        _ => None,
                    }),
                    program_id: Set(match sells {
                        Sells::Program(id) => Some(id),
                        _ => None,
                    }),
                    is_active: Set(record.is_active),
                    description: Set(record.description.clone()),
                    created_on: Set(Utc::now()),
                }
                .insert(self.db)
                .await?
                .id
            }
        };
        let current = product_version::Entity::find()
            .filter(product_version::Column::ProductId.eq(product_id))
            .order_by_desc(product_version::Column::Id)
            .one(self.db)
            .await?;
        // A product without versions takes the whole history; otherwise only a new current
        // price is appended, since versions are immutable.
        let to_add: Vec<_> = match current {
            None => record.prices.iter().collect(),
            Some(current) => record
                .prices
                .last()
                .filter(|last| last.price.minor != current.price_minor)
                .into_iter()
                .collect(),
        };
        for version in to_add {
            product_version::ActiveModel {
                id: NotSet,
                product_id: Set(product_id),
                price_minor: Set(version.price.minor),
                currency: Set(domain::money::DEFAULT_CURRENCY.to_string()),
                description: Set(record.description.clone()),
                created_on: Set(version.created_on.unwrap_or_else(Utc::now)),
            }
            .insert(self.db)
            .await?;
            self.report.price_versions_added += 1;
        }
        Ok(())
    }
}
