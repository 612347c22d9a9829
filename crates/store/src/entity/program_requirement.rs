use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "program_requirements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub program_id: i64,
    pub parent_id: Option<i64>,
    pub position: i32,
    pub node_type: String,
    pub operator: Option<String>,
    pub operator_value: Option<String>,
    pub course_id: Option<i64>,
    pub required_program_id: Option<i64>,
    pub title: Option<String>,
    pub elective_flag: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
