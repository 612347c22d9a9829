//! Prices, discounts and tax: the union of both references' rules, in integer cents.
//!
//! - Percent-off, dollars-off and fixed-price discounts (MITx Online; xPRO has the first two).
//!   A discount never raises a price (a fixed price above list has no effect, as MITx Online's
//!   outer `min` rules) and never takes it below zero.
//! - Rounding is half-up to the cent everywhere, as xPRO rounds coupon amounts. MITx Online
//!   rounds percent-off with banker's rounding and xPRO quantizes the processor amount
//!   half-even; one rule for every sum is deliberate, so a receipt always adds up.
//! - Validity covers activation and expiration, product and user scope, and redemption limits
//!   (one-time, one-time-per-user, unlimited with an optional maximum). Only redemptions on
//!   fulfilled (or refunded) orders count, as both references count them.
//! - One discount per basket: the best is the one that yields the lowest price; on a tie the
//!   earlier candidate stays (xPRO `best_coupon_for_product`).

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::Money;

/// How a discount changes a price. Percent is 0–100 (MITx Online's scale; xPRO's 0–1
/// fractions are multiplied by 100 on the way in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PercentOff(Decimal),
    DollarsOff(Money),
    FixedPrice(Money),
}

impl Kind {
    /// The reference name (`percent-off`, `dollars-off`, `fixed-price`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::PercentOff(_) => "percent-off",
            Kind::DollarsOff(_) => "dollars-off",
            Kind::FixedPrice(_) => "fixed-price",
        }
    }

    /// Reads the reference name and amount; the amount must fit the kind.
    pub fn parse(name: &str, amount: Decimal) -> Result<Kind, String> {
        if amount.is_sign_negative() {
            return Err("the amount must not be negative".into());
        }
        let money = || Money::from_decimal(amount).map_err(|e| format!("the amount {e}"));
        match name {
            "percent-off" if amount > Decimal::ONE_HUNDRED => {
                Err("a percent-off discount is at most 100".into())
            }
            "percent-off" => Ok(Kind::PercentOff(amount)),
            "dollars-off" => money().map(Kind::DollarsOff),
            "fixed-price" => money().map(Kind::FixedPrice),
            other => Err(format!(
                "{other:?} is not a discount type (percent-off, dollars-off, fixed-price)"
            )),
        }
    }

    /// The amount as the reference stores it (percent, or dollars).
    pub fn amount(self) -> Decimal {
        match self {
            Kind::PercentOff(p) => p,
            Kind::DollarsOff(m) | Kind::FixedPrice(m) => m.to_decimal(),
        }
    }

    /// The price after this discount: never above `price`, never below zero.
    pub fn apply(self, price: Money) -> Money {
        let discounted = match self {
            Kind::PercentOff(percent) => {
                let off = (price.to_decimal() * percent / Decimal::ONE_HUNDRED)
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                Money::from_minor(price.minor - to_minor(off))
            }
            Kind::DollarsOff(off) => Money::from_minor(price.minor - off.minor),
            Kind::FixedPrice(fixed) => fixed,
        };
        Money::from_minor(discounted.minor.clamp(0, price.minor))
    }

    /// 100 % off or a fixed price of zero (reference `is_full_discount`).
    pub fn is_full(self) -> bool {
        match self {
            Kind::PercentOff(p) => p == Decimal::ONE_HUNDRED,
            Kind::FixedPrice(m) => m == Money::ZERO,
            Kind::DollarsOff(_) => false,
        }
    }
}

fn to_minor(amount: Decimal) -> i64 {
    Money::from_decimal(amount.max(Decimal::ZERO))
        .map(|m| m.minor)
        .unwrap_or(i64::MAX)
}

/// How often a discount may be redeemed (reference `redemption_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Once, by anyone.
    OneTime,
    /// Once per learner.
    OneTimePerUser,
    /// Any number of times, up to `max_redemptions` when that is set.
    Unlimited,
}

impl Redemption {
    pub const ALL: [Redemption; 3] = [
        Redemption::OneTime,
        Redemption::OneTimePerUser,
        Redemption::Unlimited,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Redemption::OneTime => "one-time",
            Redemption::OneTimePerUser => "one-time-per-user",
            Redemption::Unlimited => "unlimited",
        }
    }

    pub fn parse(name: &str) -> Result<Redemption, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                format!(
                    "{name:?} is not a redemption type (one-time, one-time-per-user, unlimited)"
                )
            })
    }
}

/// What a discount is, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    pub kind: Kind,
    pub redemption: Redemption,
    /// Zero means no limit.
    pub max_redemptions: u32,
    pub activation: Option<DateTime<Utc>>,
    pub expiration: Option<DateTime<Utc>>,
    /// Products it applies to; empty means any.
    pub products: Vec<i64>,
    /// Learners it is reserved for; empty means anyone.
    pub users: Vec<i64>,
}

/// Redemptions so far on fulfilled or refunded orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub total: u32,
    pub by_this_user: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("this code is not active yet")]
    NotYetActive,
    #[error("this code has expired")]
    Expired,
    #[error("this code does not apply to this product")]
    OtherProduct,
    #[error("this code is reserved for someone else")]
    OtherUser,
    #[error("this code has been used up")]
    UsedUp,
    #[error("you have already used this code")]
    AlreadyUsed,
}

impl Discount {
    /// Whether `user` (none when anonymous) may use it on `product` at `now`. The window is
    /// inclusive at both ends.
    pub fn check(
        &self,
        product: i64,
        user: Option<i64>,
        usage: Usage,
        now: DateTime<Utc>,
    ) -> Result<(), Invalid> {
        if self.activation.is_some_and(|a| now < a) {
            return Err(Invalid::NotYetActive);
        }
        if self.expiration.is_some_and(|e| now > e) {
            return Err(Invalid::Expired);
        }
        if !self.products.is_empty() && !self.products.contains(&product) {
            return Err(Invalid::OtherProduct);
        }
        if !self.users.is_empty() && !user.is_some_and(|u| self.users.contains(&u)) {
            return Err(Invalid::OtherUser);
        }
        self.within_limits(usage)
    }

    /// Whether one more use stays within its redemption type and maximum, given the uses
    /// that count so far. Checked again when a paid order is fulfilled, since several
    /// pending orders may carry the same code.
    pub fn within_limits(&self, usage: Usage) -> Result<(), Invalid> {
        match self.redemption {
            Redemption::OneTime if usage.total > 0 => return Err(Invalid::UsedUp),
            Redemption::OneTimePerUser if usage.by_this_user > 0 => {
                return Err(Invalid::AlreadyUsed);
            }
            _ => {}
        }
        if self.max_redemptions > 0 && usage.total >= self.max_redemptions {
            return Err(Invalid::UsedUp);
        }
        Ok(())
    }
}

/// The index of the candidate giving the lowest price; the first on a tie.
pub fn best(price: Money, candidates: &[Kind]) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .min_by_key(|(i, kind)| (kind.apply(price).minor, *i))
        .map(|(i, _)| i)
}

/// A tax rate by country (xPRO `TaxRate`): a percent, with the name receipts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    pub country: String,
    pub percent: Decimal,
    pub name: String,
}

impl TaxRate {
    pub fn on(&self, price: Money) -> Money {
        let tax = (price.to_decimal() * self.percent / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        Money::from_minor(to_minor(tax))
    }
}

/// What a learner pays for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub list: Money,
    pub discount: Money,
    /// After the discount, before tax (xPRO's `total_price_paid`).
    pub price: Money,
    pub tax: Money,
    /// What the processor is asked for.
    pub total: Money,
}

pub fn quote(list: Money, discount: Option<Kind>, tax: Option<&TaxRate>) -> Quote {
    let price = discount.map_or(list, |d| d.apply(list));
    let tax = tax.map_or(Money::ZERO, |rate| rate.on(price));
    Quote {
        list,
        discount: Money::from_minor(list.minor - price.minor),
        price,
        tax,
        total: Money::from_minor(price.minor + tax.minor),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::prelude::FromPrimitive;

    use super::*;

    fn usd(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn percent(text: &str) -> Kind {
        Kind::PercentOff(text.parse().unwrap())
    }

    #[test]
    fn each_kind_applies_as_the_references_apply_it() {
        assert_eq!(percent("33.33333").apply(usd("999.00")), usd("666.00"));
        assert_eq!(percent("10").apply(usd("100.00")), usd("90.00"));
        assert_eq!(percent("100").apply(usd("100.00")), Money::ZERO);
        assert_eq!(Kind::DollarsOff(usd("25")).apply(usd("100")), usd("75"));
        assert_eq!(
            Kind::DollarsOff(usd("250")).apply(usd("100")),
            Money::ZERO,
            "never below zero"
        );
        assert_eq!(Kind::FixedPrice(usd("49")).apply(usd("100")), usd("49"));
        assert_eq!(
            Kind::FixedPrice(usd("149")).apply(usd("100")),
            usd("100"),
            "a fixed price above list has no effect"
        );
    }

    #[test]
    fn percentages_round_half_up_to_the_cent() {
        // 12.5 % of 0.20 is 0.025: half-up takes 0.03 off (banker's would take 0.02).
        assert_eq!(percent("12.5").apply(usd("0.20")), usd("0.17"));
        // 15 % of 0.30 is 0.045 → 0.05 off.
        assert_eq!(percent("15").apply(usd("0.30")), usd("0.25"));
        let rate = TaxRate {
            country: "IN".into(),
            percent: "18".parse().unwrap(),
            name: "GST".into(),
        };
        // 18 % of 0.25 is 0.045 → 0.05.
        assert_eq!(rate.on(usd("0.25")), usd("0.05"));
    }

    #[test]
    fn kinds_parse_with_their_bounds() {
        assert!(Kind::parse("percent-off", "100.5".parse().unwrap()).is_err());
        assert!(Kind::parse("dollars-off", "-1".parse().unwrap()).is_err());
        assert!(Kind::parse("half-off", Decimal::ONE).is_err());
        assert_eq!(
            Kind::parse("fixed-price", "10".parse().unwrap()),
            Ok(Kind::FixedPrice(usd("10")))
        );
        assert!(Kind::parse("fixed-price", Decimal::ZERO).unwrap().is_full());
    }

    fn discount(redemption: Redemption, max: u32) -> Discount {
        Discount {
            kind: percent("10"),
            redemption,
            max_redemptions: max,
            activation: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            expiration: Some(Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap()),
            products: vec![7],
            users: Vec::new(),
        }
    }

    #[test]
    fn validity_covers_window_scope_and_limits() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let none = Usage::default();
        let d = discount(Redemption::Unlimited, 0);
        assert_eq!(d.check(7, None, none, now), Ok(()));
        assert_eq!(d.check(8, None, none, now), Err(Invalid::OtherProduct));
        assert_eq!(
            d.check(7, None, none, d.activation.unwrap()),
            Ok(()),
            "the window includes its start"
        );
        assert_eq!(
            d.check(7, None, none, d.expiration.unwrap()),
            Ok(()),
            "and its end"
        );
        assert_eq!(
            d.check(
                7,
                None,
                none,
                d.activation.unwrap() - chrono::Duration::seconds(1)
            ),
            Err(Invalid::NotYetActive)
        );
        assert_eq!(
            d.check(
                7,
                None,
                none,
                d.expiration.unwrap() + chrono::Duration::seconds(1)
            ),
            Err(Invalid::Expired)
        );
        let used = |total, mine| Usage {
            total,
            by_this_user: mine,
        };
        let one = discount(Redemption::OneTime, 0);
        assert_eq!(one.check(7, Some(1), used(1, 0), now), Err(Invalid::UsedUp));
        let per_user = discount(Redemption::OneTimePerUser, 0);
        assert_eq!(per_user.check(7, Some(1), used(5, 0), now), Ok(()));
        assert_eq!(
            per_user.check(7, Some(1), used(5, 1), now),
            Err(Invalid::AlreadyUsed)
        );
        let capped = discount(Redemption::Unlimited, 3);
        assert_eq!(capped.check(7, Some(1), used(2, 2), now), Ok(()));
        assert_eq!(
            capped.check(7, Some(1), used(3, 0), now),
            Err(Invalid::UsedUp)
        );
        let mut reserved = discount(Redemption::Unlimited, 0);
        reserved.users = vec![42];
        assert_eq!(reserved.check(7, Some(42), none, now), Ok(()));
        assert_eq!(
            reserved.check(7, Some(1), none, now),
            Err(Invalid::OtherUser)
        );
        assert_eq!(reserved.check(7, None, none, now), Err(Invalid::OtherUser));
    }

    #[test]
    fn the_best_discount_gives_the_lowest_price_and_ties_keep_the_first() {
        let price = usd("200");
        let candidates = [
            percent("10"),
            Kind::DollarsOff(usd("50")),
            Kind::FixedPrice(usd("150")),
            percent("20"),
        ];
        assert_eq!(best(price, &candidates), Some(1), "150 twice: the first");
        assert_eq!(best(price, &[]), None);
    }

    #[test]
    fn a_quote_adds_up() {
        let rate = TaxRate {
            country: "IN".into(),
            percent: "18".parse().unwrap(),
            name: "GST".into(),
        };
        let q = quote(usd("999.00"), Some(percent("33.33333")), Some(&rate));
        assert_eq!(q.price, usd("666.00"));
        assert_eq!(q.discount, usd("333.00"));
        assert_eq!(q.tax, usd("119.88"));
        assert_eq!(q.total, usd("785.88"));
        assert_eq!(quote(usd("10"), None, None).total, usd("10"));
    }

    /// A small deterministic generator, so the properties run over many prices and
    /// discounts without another dependency.
    fn cases() -> impl Iterator<Item = (Money, Kind)> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        std::iter::from_fn(move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Some(state)
        })
        .take(20_000)
        .map(|r| {
            let price = Money::from_minor((r % 500_000) as i64);
            let amount = ((r >> 20) % 60_000) as i64;
            let kind = match (r >> 40) % 3 {
                0 => Kind::PercentOff(
                    Decimal::from_i64(amount % 10_001).unwrap() / Decimal::ONE_HUNDRED,
                ),
                1 => Kind::DollarsOff(Money::from_minor(amount * 10)),
                _ => Kind::FixedPrice(Money::from_minor(amount * 10)),
            };
            (price, kind)
        })
    }

    #[test]
    fn property_a_discount_never_goes_negative_nor_above_list() {
        for (price, kind) in cases() {
            let after = kind.apply(price);
            assert!(
                after.minor >= 0 && after <= price,
                "{kind:?} on {price} gave {after}"
            );
            let q = quote(price, Some(kind), None);
            assert_eq!(q.discount.minor + q.price.minor, price.minor);
        }
    }

    #[test]
    fn property_percent_off_is_half_up_exact() {
        use rust_decimal::prelude::ToPrimitive;
        for (price, kind) in cases() {
            if let Kind::PercentOff(p) = kind {
                // In integers: off = price × hundredths-of-a-percent / 10 000, half-up.
                let hundredths = i128::from((p * Decimal::ONE_HUNDRED).to_i64().unwrap());
                let off = (i128::from(price.minor) * hundredths * 2 + 10_000) / 20_000;
                assert_eq!(
                    i128::from(kind.apply(price).minor),
                    i128::from(price.minor) - off,
                    "{p}% of {price}"
                );
            }
        }
    }

    #[test]
    fn property_best_is_never_beaten() {
        let all: Vec<(Money, Kind)> = cases().take(3_000).collect();
        for window in all.chunks(4) {
            let price = window[0].0;
            let kinds: Vec<Kind> = window.iter().map(|(_, k)| *k).collect();
            let chosen = best(price, &kinds).unwrap();
            let lowest = kinds.iter().map(|k| k.apply(price)).min().unwrap();
            assert_eq!(kinds[chosen].apply(price), lowest);
            assert!(
                kinds[..chosen].iter().all(|k| k.apply(price) > lowest),
                "an earlier candidate with the same price would have been kept"
            );
        }
    }
}
