//! Properties of the pricing rules and requirement trees over generated inputs (proptest):
//! what must hold for every price, discount, tax rate and tree, not only the examples the
//! unit tests pick.

use std::collections::BTreeMap;

use domain::Money;
use domain::catalog::requirements::{Operator, RequirementNode, find_cycle};
use domain::certificates::tree_earned;
use domain::commerce::pricing::{Kind, TaxRate, best, quote};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Prices from free to $100,000.00, in cents.
fn price() -> impl Strategy<Value = Money> {
    (0i64..=10_000_000).prop_map(Money::from_minor)
}

/// Percents with two decimals, 0 to 100.
fn percent() -> impl Strategy<Value = Decimal> {
    (0i64..=10_000).prop_map(|hundredths| Decimal::new(hundredths, 2))
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        percent().prop_map(Kind::PercentOff),
        price().prop_map(Kind::DollarsOff),
        price().prop_map(Kind::FixedPrice),
    ]
}

fn tax() -> impl Strategy<Value = Option<TaxRate>> {
    proptest::option::of(percent().prop_map(|percent| TaxRate {
        country: "US".into(),
        percent,
        name: "Tax".into(),
    }))
}

proptest! {
    #[test]
    fn a_discount_never_raises_a_price_nor_takes_it_below_zero(list in price(), kind in kind()) {
        let after = kind.apply(list);
        prop_assert!(after.minor >= 0);
        prop_assert!(after.minor <= list.minor);
    }

    #[test]
    fn a_full_discount_makes_it_free(list in price(), kind in kind()) {
        if kind.is_full() {
            prop_assert_eq!(kind.apply(list), Money::ZERO);
        }
    }

    #[test]
    fn more_percent_off_never_costs_more(list in price(), a in percent(), b in percent()) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(Kind::PercentOff(high).apply(list).minor <= Kind::PercentOff(low).apply(list).minor);
    }

    #[test]
    fn a_quote_adds_up(list in price(), kind in proptest::option::of(kind()), rate in tax()) {
        let q = quote(list, kind, rate.as_ref());
        prop_assert_eq!(q.list, list);
        prop_assert_eq!(q.list.minor, q.discount.minor + q.price.minor);
        prop_assert_eq!(q.total.minor, q.price.minor + q.tax.minor);
        prop_assert!(q.discount.minor >= 0 && q.tax.minor >= 0);
        if rate.is_none() {
            prop_assert_eq!(q.tax, Money::ZERO);
        }
    }

    #[test]
    fn the_best_discount_is_the_lowest_price_and_the_first_on_a_tie(
        list in price(),
        kinds in proptest::collection::vec(kind(), 0..6),
    ) {
        match best(list, &kinds) {
            None => prop_assert!(kinds.is_empty()),
            Some(i) => {
                let chosen = kinds[i].apply(list).minor;
                for (j, k) in kinds.iter().enumerate() {
                    let other = k.apply(list).minor;
                    prop_assert!(chosen <= other);
                    if j < i {
                        prop_assert!(chosen < other, "an earlier candidate with the same price wins");
                    }
                }
            }
        }
    }

    #[test]
    fn a_kind_reads_back_from_its_name_and_amount(kind in kind()) {
        prop_assert_eq!(Kind::parse(kind.name(), kind.amount()), Ok(kind));
    }
}

/// Requirement trees of courses 0..8 and operators, a few levels deep.
fn tree() -> impl Strategy<Value = RequirementNode<i64>> {
    let leaf = (0i64..8).prop_map(|course| RequirementNode::Course { course });
    leaf.prop_recursive(3, 24, 5, |inner| {
        (
            proptest::collection::vec(inner, 0..5),
            proptest::option::of(0u32..6),
        )
            .prop_map(|(children, count)| RequirementNode::Operator {
                operator: match count {
                    Some(count) => Operator::MinNumberOf { count },
                    None => Operator::AllOf,
                },
                title: None,
                elective: count.is_some(),
                children,
            })
    })
}

/// Whether a tree can be earned at all (an operator asking for more than it holds cannot).
fn satisfiable(node: &RequirementNode<i64>) -> bool {
    match node {
        RequirementNode::Operator {
            operator: Operator::MinNumberOf { count },
            children,
            ..
        } => children.iter().filter(|c| satisfiable(c)).count() >= *count as usize,
        RequirementNode::Operator { children, .. } => children.iter().all(satisfiable),
        _ => true,
    }
}

proptest! {
    #[test]
    fn earning_more_courses_never_loses_a_program(
        children in proptest::collection::vec(tree(), 0..4),
        earned in proptest::collection::btree_set(0i64..8, 0..8),
        more in 0i64..8,
    ) {
        let before = tree_earned(&children, &|c| earned.contains(&c), &|_| false);
        let mut wider = earned.clone();
        wider.insert(more);
        let after = tree_earned(&children, &|c| wider.contains(&c), &|_| false);
        prop_assert!(!before || after, "a certificate earned stays earned when a course is added");
    }

    #[test]
    fn every_course_earned_earns_every_satisfiable_tree(children in proptest::collection::vec(tree(), 0..4)) {
        if children.iter().all(satisfiable) {
            prop_assert!(tree_earned(&children, &|_| true, &|_| true));
        }
    }

    #[test]
    fn a_cycle_found_is_a_real_cycle(
        edges in proptest::collection::btree_map(0u8..8, proptest::collection::vec(0u8..8, 0..3), 0..8),
    ) {
        let edges: BTreeMap<u8, Vec<u8>> = edges;
        if let Some(cycle) = find_cycle(&edges) {
            prop_assert!(cycle.len() >= 2);
            prop_assert_eq!(cycle.first(), cycle.last(), "it returns to where it started");
            for pair in cycle.windows(2) {
                prop_assert!(edges.get(&pair[0]).is_some_and(|next| next.contains(&pair[1])), "each step is an edge");
            }
        } else {
            // No cycle: nodes can be peeled off sinks first until none is left.
            let mut remaining = edges.clone();
            loop {
                let sinks: Vec<u8> = remaining
                    .iter()
                    .filter(|(_, next)| next.iter().all(|n| !remaining.contains_key(n)))
                    .map(|(k, _)| *k)
                    .collect();
                if sinks.is_empty() {
                    break;
                }
                for k in sinks {
                    remaining.remove(&k);
                }
            }
            prop_assert!(remaining.is_empty(), "no cycle means every node can be peeled off");
        }
    }
}
