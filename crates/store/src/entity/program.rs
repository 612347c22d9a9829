use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site: String,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub program_type: String,
    pub platform_id: Option<i64>,
    pub language_id: Option<i64>,
    pub is_external: bool,
    pub availability: Option<String>,
    pub display_mode: Option<String>,
    pub b2b_only: bool,
    pub start_date: Option<DateTimeUtc>,
    pub end_date: Option<DateTimeUtc>,
    pub enrollment_start: Option<DateTimeUtc>,
    pub enrollment_end: Option<DateTimeUtc>,
    pub page_id: Option<i64>,
    pub created_on: DateTimeUtc,
    pub updated_on: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
