//! Commerce rules: prices and discounts (`pricing`), and the order life cycle (`order`).

pub mod order;
pub mod pricing;
