pub mod cybersource;
pub mod faults;
pub mod openedx;
pub mod recaptcha;
