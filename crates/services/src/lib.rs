//! Use cases that join the domain, the store and the job queue. Holds the job handlers the
//! worker runs and the recurring schedules both reference platforms declare.

pub mod accounts;
pub mod catalog;
pub mod catalog_sync;
pub mod certificates;
pub mod commerce;
pub mod compliance;
pub mod coupon_requests;
pub mod crm;
mod edx_token;
pub mod emails;
pub mod enrollments;
pub mod flows;
pub mod geoip;
pub mod housekeeping;
pub mod mail;
pub mod oauth2;
pub mod openedx;
pub mod schedules;
pub mod sheets;
pub mod testing;
pub mod vendors;

use store::Store;

/// What job handlers get: the database, where mail goes; peer clients as their issues arrive.
pub struct Context {
    pub store: Store,
    /// Registrar's own root URL, which edX's sign-in handshake bounces through.
    pub site_url: String,
    /// Where mail goes without an SMTP relay (the demo's outbox).
    pub mail_outbox: std::path::PathBuf,
    /// The SMTP relay mail goes through, when configured.
    pub smtp: Option<std::sync::Arc<mail::Smtp>>,
    /// The LMS, when this deployment provisions into one.
    pub openedx: Option<std::sync::Arc<integrations::openedx::OpenEdx>>,
    /// The export-compliance screening of new accounts, when configured.
    pub compliance: Option<std::sync::Arc<compliance::Screening>>,
    /// HubSpot, when this deployment syncs its CRM.
    pub crm: Option<std::sync::Arc<crm::Crm>>,
    /// Google Sheets request workflows, when configured.
    pub sheets: Option<std::sync::Arc<sheets::Sheets>>,
    /// The external vendors' report API, when their catalogs are synced.
    pub vendors: Option<std::sync::Arc<vendors::VendorSync>>,
    /// How this deployment sells (the CyberSource profile payment results are checked
    /// against), when it sells.
    pub storefront: Option<std::sync::Arc<commerce::Storefront>>,
}

/// Every job kind this build can run.
pub fn registry() -> jobs::Registry<Context> {
    jobs::Registry::default()
        .register::<housekeeping::PurgeFinishedJobs>()
        .register::<mail::Mail>()
        .register::<compliance::ScreenUser>()
        .register::<commerce::payment::ProcessPayment>()
        .register::<crm::SyncDeal>()
        .register::<sheets::ProcessSheets>()
        .register::<sheets::RenewFileWatches>()
        .register::<sheets::ProcessCouponRequests>()
        .register::<sheets::assignments::CreateSheet>()
        .register::<sheets::assignments::ProcessSheet>()
        .register::<sheets::assignments::ShowStatuses>()
        .register::<coupon_requests::FollowDelivery>()
        .register::<sheets::code_sheets::UpdateCodeSheets>()
        .register::<crm::SyncContacts>()
        .register::<crm::SyncCertificates>()
        .register::<crm::ArchiveCertificates>()
        .register::<crm::SubmitSignUpForm>()
        .register::<crm::SyncProducts>()
        .register::<certificates::GenerateCourseCertificates>()
        .register::<certificates::SyncRunGrades>()
        .register::<certificates::CertifyLearner>()
        .register::<certificates::MailCertificates>()
        .register::<certificates::GenerateProgramCertificates>()
        .register::<certificates::UpgradeEligibleProgramEnrollments>()
        .register::<catalog_sync::SyncCourseRuns>()
        .register::<vendors::SyncExternalCourses>()
        .register::<openedx::CreateEdxUser>()
        .register::<openedx::RepairEdxUsers>()
        .register::<openedx::UpdateEdxUser>()
        .register::<enrollments::SyncEdxEnrollment>()
        .register::<enrollments::RetryFailedEdxEnrollments>()
        .register::<enrollments::SyncEdxEmailSettings>()
}
