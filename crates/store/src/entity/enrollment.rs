use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course_run_enrollments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub run_id: i64,
    pub mode: String,
    pub active: bool,
    pub change_status: Option<String>,
    pub edx_enrolled: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub edx_error: Option<String>,
    pub edx_emails_subscription: bool,
    pub created_on: DateTimeUtc,
    pub updated_on: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
