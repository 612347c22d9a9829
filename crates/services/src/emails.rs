//! Every message Registrar sends, one text template each (`templates/mail/*.txt`; the HTML
//! alternative is rendered from it in the mail layout). Subjects follow the references
//! where they name one.

use askama::Template;

/// `verification` (xPRO "Verify your email").
#[derive(Template)]
#[template(path = "mail/verification.txt")]
pub struct Verification<'a> {
    pub name: &'a str,
    pub link: String,
}

/// `password_reset` (xPRO "Your Password Reset Link").
#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct PasswordReset {
    pub link: String,
}

/// `change_email` (both: "Confirm email change").
#[derive(Template)]
#[template(path = "mail/change_email.txt")]
pub struct ChangeEmail {
    pub link: String,
}

/// `product_order_receipt` (xPRO "Purchase Order Receipt").
#[derive(Template)]
#[template(path = "mail/receipt.txt")]
pub struct Receipt<'a> {
    pub name: &'a str,
    pub reference: &'a str,
    pub lines: Vec<String>,
    pub total: String,
    pub tax: String,
    pub currency: &'a str,
    pub receipt_link: String,
}

/// `b2b_receipt` (xPRO "Enrollment Code Purchase Receipt").
#[derive(Template)]
#[template(path = "mail/b2b_receipt.txt")]
pub struct B2bReceipt<'a> {
    pub reference: &'a str,
    pub title: String,
    pub seats: i64,
    pub per_seat: String,
    pub discount: String,
    pub total: String,
    pub currency: &'a str,
    pub contract: &'a str,
    pub link: String,
}

/// `order_refund_message` (MITx Online "Refund of … Order <ref>").
#[derive(Template)]
#[template(path = "mail/refund.txt")]
pub struct Refund<'a> {
    pub name: &'a str,
    pub amount: String,
    pub currency: &'a str,
    pub reference: &'a str,
}

/// `refund_request_notification` (MITx Online "Refund Request Submitted – Order <ref>").
#[derive(Template)]
#[template(path = "mail/refund_request.txt")]
pub struct RefundRequest<'a> {
    pub reference: &'a str,
    pub reason: &'a str,
    pub explanation: &'a str,
    pub link: String,
}

/// To staff: a payment was taken that did not (or could not) fulfil its order.
#[derive(Template)]
#[template(path = "mail/payment_flagged.txt")]
pub struct PaymentFlagged<'a> {
    pub reference: &'a str,
    pub why: &'a str,
    pub link: String,
}

/// xPRO's export-compliance alert ("Exports Compliance: denied {email}").
#[derive(Template)]
#[template(path = "mail/compliance_denied.txt")]
pub struct ComplianceDenied<'a> {
    pub email: &'a str,
    pub user_id: i64,
    pub reason_code: i64,
    pub info_code: &'a str,
}

/// `external_data_sync` ("MIT xPRO {vendor} Course Sync Report – Latest Statistics").
#[derive(Template)]
#[template(path = "mail/vendor_sync.txt")]
pub struct VendorSync<'a> {
    pub vendor: &'a str,
    pub lines: Vec<String>,
    pub refused: Vec<(String, String)>,
}

/// `course_run_enrollment` (MITx Online "You have been enrolled in …").
#[derive(Template)]
#[template(path = "mail/enrollment.txt")]
pub struct Enrollment<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub run: &'a str,
    pub start: Option<String>,
    pub dashboard: String,
}

/// `course_run_unenrollment` (both: "You have been unenrolled in …").
#[derive(Template)]
#[template(path = "mail/unenrollment.txt")]
pub struct Unenrollment<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub run: &'a str,
    pub reason: Option<&'a str>,
    pub dashboard: String,
}

/// `bulk_enroll` (xPRO "Complete your {site} Enrollment"): a code assigned to a learner
/// from a coupon request.
#[derive(Template)]
#[template(path = "mail/bulk_enroll.txt")]
pub struct BulkEnroll<'a> {
    pub company: &'a str,
    pub title: &'a str,
    pub code: &'a str,
    pub enrollment_url: String,
    pub expiration: Option<String>,
}

/// An enrollment moved to another run of its course (a deferral).
#[derive(Template)]
#[template(path = "mail/deferral.txt")]
pub struct Deferral<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub from_run: &'a str,
    pub to_run: &'a str,
    pub dashboard: String,
}

/// A certificate earned (neither reference mails one; learners otherwise find it only on
/// the dashboard).
#[derive(Template)]
#[template(path = "mail/certificate.txt")]
pub struct Certificate<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub link: String,
}

/// A site URL from its root and a path.
pub fn link(site_url: &str, path: &str) -> String {
    format!("{}{path}", site_url.trim_end_matches('/'))
}
