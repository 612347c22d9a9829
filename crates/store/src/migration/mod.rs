//! Schema migrations, written in Rust so one definition yields the DDL of each backend.

use sea_orm_migration::prelude::*;

mod m0001_catalog;
mod m0003_accounts;
mod m0004_openedx;
mod m0005_enrollments;
mod m0006_oauth2;
mod m0007_openedx_tokens;
mod m0008_compliance;
mod m0009_commerce;
mod m0010_refund_requests;
mod m0012_bulk_orders;
mod m0013_blocked_countries;
mod m0014_geoip;
mod m0015_program_runs;
mod m0016_payment_transactions;
mod m0017_certificates;
mod m0018_signatories;
mod m0019_crm;
mod m0020_sheets;
mod m0021_mail;
mod m0022_coupon_requests;
mod m0023_code_sheets;
mod m0025_sign_in_security;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_catalog::Migration),
            Box::new(jobs::migration::Migration),
            Box::new(m0003_accounts::Migration),
            Box::new(m0004_openedx::Migration),
            Box::new(m0005_enrollments::Migration),
            Box::new(m0006_oauth2::Migration),
            Box::new(m0007_openedx_tokens::Migration),
            Box::new(m0008_compliance::Migration),
            Box::new(m0009_commerce::Migration),
            Box::new(m0010_refund_requests::Migration),
            Box::new(jobs::migration::WakeTrigger),
            Box::new(m0012_bulk_orders::Migration),
            Box::new(m0013_blocked_countries::Migration),
            Box::new(m0014_geoip::Migration),
            Box::new(m0015_program_runs::Migration),
            Box::new(m0016_payment_transactions::Migration),
            Box::new(m0017_certificates::Migration),
            Box::new(m0018_signatories::Migration),
            Box::new(m0019_crm::Migration),
            Box::new(m0020_sheets::Migration),
            Box::new(m0021_mail::Migration),
            Box::new(m0022_coupon_requests::Migration),
            Box::new(m0023_code_sheets::Migration),
            Box::new(jobs::migration::FollowUps),
            Box::new(m0025_sign_in_security::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `to.id`.
pub(crate) fn fk(
    table: &str,
    column: &str,
    to: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table.to_string(), column.to_string())
        .to(to.to_string(), "id")
        .on_delete(on_delete)
        .take()
}
