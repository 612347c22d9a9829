//! Commerce records: baskets, discounts (with tax rates) and orders. Raw SQL over the
//! shared helpers; money in cents.

pub mod baskets;
pub mod bulk_orders;
pub mod code_sheets;
pub mod coupon_requests;
pub mod discounts;
pub mod orders;
pub mod refund_requests;
