pub mod cybersource;
pub mod faults;
pub mod openedx;
pub mod recaptcha;
pub mod vendor_reports;
