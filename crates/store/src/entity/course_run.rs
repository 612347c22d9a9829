use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub course_id: i64,
    pub courseware_id: String,
    pub run_tag: String,
    pub title: String,
    pub start_date: Option<DateTimeUtc>,
    pub end_date: Option<DateTimeUtc>,
    pub enrollment_start: Option<DateTimeUtc>,
    pub enrollment_end: Option<DateTimeUtc>,
    pub upgrade_deadline: Option<DateTimeUtc>,
    pub expiration_date: Option<DateTimeUtc>,
    pub certificate_available_date: Option<DateTimeUtc>,
    pub is_self_paced: bool,
    pub live: bool,
    pub courseware_url: Option<String>,
    pub language: String,
    pub created_on: DateTimeUtc,
    pub updated_on: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
