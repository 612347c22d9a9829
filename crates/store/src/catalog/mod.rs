//! The catalog in the database: `write::apply` stores interchange records (imports, the
//! demo seed and every staff edit go through it), `read::load` builds the in-memory view the
//! APIs serve and `catalog export` writes.

pub mod read;
pub mod vocabulary;
pub mod write;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entity::catalog_revision;

/// The catalog's change counter. Every write bumps it in the same transaction, so a process
/// holding a cached view knows when to reload.
pub async fn revision(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(catalog_revision::Entity::find_by_id(1)
        .one(db)
        .await?
        .map(|row| row.revision)
        .unwrap_or(0))
}

pub(crate) async fn bump_revision(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    catalog_revision::Entity::update_many()
        .col_expr(
            catalog_revision::Column::Revision,
            Expr::col(catalog_revision::Column::Revision).add(1),
        )
        .filter(catalog_revision::Column::Id.eq(1))
        .exec(db)
        .await?;
    Ok(())
}
