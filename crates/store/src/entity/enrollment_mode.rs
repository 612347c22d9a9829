use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollment_modes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub mode_slug: String,
    pub mode_display_name: String,
    pub requires_payment: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
