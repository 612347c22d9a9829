pub mod openedx;
pub mod recaptcha;
