use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub owner_kind: String,
    pub owner_id: i64,
    pub link_kind: String,
    pub target_id: i64,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
