pub mod openedx;
