//! The catalog: courses, runs, programs and their requirement trees, marketing pages,
//! vocabularies (platforms, departments, topics, languages, enrollment modes), products with
//! append-only price versions, and staff API tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_catalog"
    }
}

fn fk(
    from: &'static str,
    col: &'static str,
    to: &'static str,
    delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from, col)
        .to(to, "id")
        .on_delete(delete)
        .take()
}

fn id() -> ColumnDef {
    big_pk_auto("id")
}

fn stamp(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn when(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn page_columns(table: &mut TableCreateStatement) {
    table
        .col(boolean("live").default(false))
        .col(text_null("description"))
        .col(string_null("feature_image"))
        .col(string_null("duration"))
        .col(string_null("time_commitment"))
        .col(integer_null("min_weeks"))
        .col(integer_null("max_weeks"))
        .col(integer_null("min_weekly_hours"))
        .col(integer_null("max_weekly_hours"))
        .col(big_integer_null("min_price_minor"))
        .col(big_integer_null("max_price_minor"))
        .col(string_null("format"))
        .col(string_null("video_url"))
        .col(integer_null("credits_centi"))
        .col(string_null("external_marketing_url"))
        .col(string_null("marketing_hubspot_form_id"))
        .col(string_null("financial_assistance_form_url"))
        .col(boolean("include_in_learn_catalog").default(false))
        .col(boolean("ingest_content_files_for_ai").default(false))
        .col(text_null("prerequisites"))
        .col(string_null("price_text"))
        .col(big_integer_null("list_price_minor"));
}

fn index(
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut tables = vec![
            Table::create()
                .table("platforms")
                .col(id())
                .col(string_uniq("name"))
                .col(boolean("enable_sync").default(false))
                .take(),
            Table::create()
                .table("departments")
                .col(id())
                .col(string_uniq("name"))
                .col(string_uniq("slug"))
                .take(),
            Table::create()
                .table("topics")
                .col(id())
                .col(string_uniq("name"))
                .col(big_integer_null("parent_id"))
                .foreign_key(&mut fk(
                    "topics",
                    "parent_id",
                    "topics",
                    ForeignKeyAction::SetNull,
                ))
                .take(),
            Table::create()
                .table("languages")
                .col(id())
                .col(string_uniq("name"))
                .col(integer("priority").default(100))
                .col(boolean("is_active").default(true))
                .take(),
            Table::create()
                .table("enrollment_modes")
                .col(id())
                .col(string_uniq("mode_slug"))
                .col(string("mode_display_name"))
                .col(boolean("requires_payment").default(false))
                .take(),
            {
                let mut pages = Table::create();
                pages.table("pages").col(id());
                page_columns(&mut pages);
                pages.take()
            },
            Table::create()
                .table("courses")
                .col(id())
                .col(string("site"))
                .col(string_uniq("readable_id"))
                .col(string("title"))
                .col(boolean("live").default(true))
                .col(big_integer_null("platform_id"))
                .col(big_integer_null("language_id"))
                .col(boolean("is_external").default(false))
                .col(boolean("placeholder").default(false))
                .col(big_integer_null("page_id"))
                .col(stamp("created_on"))
                .col(stamp("updated_on"))
                .foreign_key(&mut fk(
                    "courses",
                    "platform_id",
                    "platforms",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "courses",
                    "language_id",
                    "languages",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "courses",
                    "page_id",
                    "pages",
                    ForeignKeyAction::SetNull,
                ))
                .take(),
            Table::create()
                .table("course_runs")
                .col(id())
                .col(big_integer("course_id"))
                .col(string_uniq("courseware_id"))
                .col(string("run_tag"))
                .col(string("title"))
                .col(when("start_date"))
                .col(when("end_date"))
                .col(when("enrollment_start"))
                .col(when("enrollment_end"))
                .col(when("upgrade_deadline"))
                .col(when("expiration_date"))
                .col(when("certificate_available_date"))
                .col(boolean("is_self_paced").default(false))
                .col(boolean("live").default(true))
                .col(string_null("courseware_url"))
                .col(string("language").default("en"))
                .col(stamp("created_on"))
                .col(stamp("updated_on"))
                .foreign_key(&mut fk(
                    "course_runs",
                    "course_id",
                    "courses",
                    ForeignKeyAction::Restrict,
                ))
                .take(),
            Table::create()
                .table("programs")
                .col(id())
                .col(string("site"))
                .col(string_uniq("readable_id"))
                .col(string("title"))
                .col(boolean("live").default(true))
                .col(string("program_type").default("Series"))
                .col(big_integer_null("platform_id"))
                .col(big_integer_null("language_id"))
                .col(boolean("is_external").default(false))
                .col(string_null("availability"))
                .col(string_null("display_mode"))
                .col(boolean("b2b_only").default(false))
                .col(when("start_date"))
                .col(when("end_date"))
                .col(when("enrollment_start"))
                .col(when("enrollment_end"))
                .col(big_integer_null("page_id"))
                .col(stamp("created_on"))
                .col(stamp("updated_on"))
                .foreign_key(&mut fk(
                    "programs",
                    "platform_id",
                    "platforms",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "programs",
                    "language_id",
                    "languages",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "programs",
                    "page_id",
                    "pages",
                    ForeignKeyAction::SetNull,
                ))
                .take(),
            Table::create()
                .table("program_runs")
                .col(id())
                .col(big_integer("program_id"))
                .col(string("run_tag"))
                .col(when("start_date"))
                .col(when("end_date"))
                .foreign_key(&mut fk(
                    "program_runs",
                    "program_id",
                    "programs",
                    ForeignKeyAction::Cascade,
                ))
                .take(),
            Table::create()
                .table("program_requirements")
                .col(id())
                .col(big_integer("program_id"))
                .col(big_integer_null("parent_id"))
                .col(integer("position"))
                .col(string("node_type"))
                .col(string_null("operator"))
                .col(string_null("operator_value"))
                .col(big_integer_null("course_id"))
                .col(big_integer_null("required_program_id"))
                .col(string_null("title"))
                .col(boolean("elective_flag").default(false))
                .foreign_key(&mut fk(
                    "program_requirements",
                    "program_id",
                    "programs",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "program_requirements",
                    "parent_id",
                    "program_requirements",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "program_requirements",
                    "course_id",
                    "courses",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "program_requirements",
                    "required_program_id",
                    "programs",
                    ForeignKeyAction::Restrict,
                ))
                .take(),
            Table::create()
                .table("catalog_links")
                .col(id())
                .col(string("owner_kind"))
                .col(big_integer("owner_id"))
                .col(string("link_kind"))
                .col(big_integer("target_id"))
                .col(integer("position").default(0))
                .take(),
            Table::create()
                .table("instructors")
                .col(id())
                .col(string("owner_kind"))
                .col(big_integer("owner_id"))
                .col(integer("position"))
                .col(string("name"))
                .col(text("description").default(""))
                .take(),
            Table::create()
                .table("products")
                .col(id())
                .col(big_integer_null("course_run_id"))
                .col(big_integer_null("program_id"))
                .col(boolean("is_active").default(true))
                .col(string("description").default(""))
                .col(stamp("created_on"))
                .foreign_key(&mut fk(
                    "products",
                    "course_run_id",
                    "course_runs",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "products",
                    "program_id",
                    "programs",
                    ForeignKeyAction::Restrict,
                ))
                .take(),
            Table::create()
                .table("product_versions")
                .col(id())
                .col(big_integer("product_id"))
                .col(big_integer("price_minor"))
                .col(string_len("currency", 3).default("USD"))
                .col(string("description").default(""))
                .col(stamp("created_on"))
                .foreign_key(&mut fk(
                    "product_versions",
                    "product_id",
                    "products",
                    ForeignKeyAction::Restrict,
                ))
                .take(),
            Table::create()
                .table("staff_tokens")
                .col(id())
                .col(string("email"))
                .col(string_uniq("token_hash"))
                .col(stamp("created_on"))
                .take(),
            Table::create()
                .table("catalog_revision")
                .col(big_integer("id").primary_key())
                .col(big_integer("revision"))
                .take(),
        ];
        for table in &mut tables {
            manager.create_table(table.if_not_exists().take()).await?;
        }
        for index in [
            index(
                "ux_course_runs_course_tag",
                "course_runs",
                &["course_id", "run_tag"],
                true,
            ),
            index(
                "ux_program_runs_program_tag",
                "program_runs",
                &["program_id", "run_tag"],
                true,
            ),
            index(
                "ix_program_requirements_program",
                "program_requirements",
                &["program_id", "parent_id", "position"],
                false,
            ),
            index(
                "ux_catalog_links",
                "catalog_links",
                &["owner_kind", "owner_id", "link_kind", "target_id"],
                true,
            ),
            index(
                "ix_instructors_owner",
                "instructors",
                &["owner_kind", "owner_id", "position"],
                false,
            ),
            index("ux_products_run", "products", &["course_run_id"], true),
            index("ux_products_program", "products", &["program_id"], true),
            index(
                "ix_product_versions_product",
                "product_versions",
                &["product_id", "id"],
                false,
            ),
        ] {
            manager.create_index(index).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared("INSERT INTO catalog_revision (id, revision) VALUES (1, 0)")
            .await?;
        db.execute_unprepared(
            "INSERT INTO enrollment_modes (mode_slug, mode_display_name, requires_payment) \
             VALUES ('audit', 'Audit', false), ('verified', 'Verified', true)",
        )
        .await?;
        Ok(())
    }
}
