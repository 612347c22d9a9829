use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub live: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub feature_image: Option<String>,
    pub duration: Option<String>,
    pub time_commitment: Option<String>,
    pub min_weeks: Option<i32>,
    pub max_weeks: Option<i32>,
    pub min_weekly_hours: Option<i32>,
    pub max_weekly_hours: Option<i32>,
    pub min_price_minor: Option<i64>,
    pub max_price_minor: Option<i64>,
    pub format: Option<String>,
    pub video_url: Option<String>,
    pub credits_centi: Option<i32>,
    pub external_marketing_url: Option<String>,
    pub marketing_hubspot_form_id: Option<String>,
    pub financial_assistance_form_url: Option<String>,
    pub include_in_learn_catalog: bool,
    pub ingest_content_files_for_ai: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub prerequisites: Option<String>,
    pub price_text: Option<String>,
    pub list_price_minor: Option<i64>,
    /// JSON list of signatories.
    #[sea_orm(column_type = "Text", nullable)]
    pub signatories: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
