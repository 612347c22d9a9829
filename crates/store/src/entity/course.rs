use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site: String,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub platform_id: Option<i64>,
    pub language_id: Option<i64>,
    pub is_external: bool,
    /// Created by an import that referenced this id before its course arrived.
    pub placeholder: bool,
    pub page_id: Option<i64>,
    pub created_on: DateTimeUtc,
    pub updated_on: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
