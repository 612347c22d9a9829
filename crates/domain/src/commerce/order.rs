//! The order life cycle: pending → fulfilled | declined | errored | canceled, and
//! fulfilled → refunded; staff may fulfil a declined, errored or canceled order for which
//! a payment was taken after all. A processor's decision moves a pending order once; the same
//! decision arriving again (the browser's copy and the merchant post, or a replay) finds
//! the order settled and changes nothing.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    Pending,
    Fulfilled,
    Declined,
    Errored,
    Canceled,
    Refunded,
}

impl OrderState {
    pub const ALL: [OrderState; 6] = [
        OrderState::Pending,
        OrderState::Fulfilled,
        OrderState::Declined,
        OrderState::Errored,
        OrderState::Canceled,
        OrderState::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Fulfilled => "fulfilled",
            OrderState::Declined => "declined",
            OrderState::Errored => "errored",
            OrderState::Canceled => "canceled",
            OrderState::Refunded => "refunded",
        }
    }

    /// Whether `self → to` is a transition of the life cycle. An errored, declined or
    /// canceled order becomes fulfilled only by staff, for a payment CyberSource took
    /// after all (`services::commerce::held`).
    pub fn can_become(self, to: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, to),
            (Pending, Fulfilled | Declined | Errored | Canceled)
                | (Fulfilled, Refunded)
                | (Declined | Errored | Canceled, Fulfilled)
        )
    }

    pub fn become_(self, to: OrderState) -> Result<OrderState, IllegalTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an order state"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderState,
    pub to: OrderState,
}

/// A CyberSource Secure Acceptance decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
    Error,
    Cancel,
    Review,
}

impl Decision {
    /// Reads the `decision` field; a missing or unknown one is an error (MITx Online
    /// `_get_decision_from_response`), and PENDING cancels as MITx Online cancels it.
    pub fn parse(decision: Option<&str>) -> Decision {
        match decision.map(str::trim) {
            Some("ACCEPT") => Decision::Accept,
            Some("DECLINE") => Decision::Decline,
            Some("CANCEL") | Some("PENDING") => Decision::Cancel,
            Some("REVIEW") => Decision::Review,
            _ => Decision::Error,
        }
    }

    /// Where a pending order goes. A REVIEW (the processor holding the payment for a manual
    /// check) cancels the order, as MITx Online does: nothing is granted unpaid.
    pub fn order_state(self) -> OrderState {
        match self {
            Decision::Accept => OrderState::Fulfilled,
            Decision::Decline => OrderState::Declined,
            Decision::Error => OrderState::Errored,
            Decision::Cancel | Decision::Review => OrderState::Canceled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_life_cycle_transitions_are_allowed() {
        use OrderState::*;
        let allowed = [
            (Pending, Fulfilled),
            (Pending, Declined),
            (Pending, Errored),
            (Pending, Canceled),
            (Fulfilled, Refunded),
            (Declined, Fulfilled),
            (Errored, Fulfilled),
            (Canceled, Fulfilled),
        ];
        for from in OrderState::ALL {
            for to in OrderState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
        assert_eq!(
            Fulfilled.become_(Fulfilled),
            Err(IllegalTransition {
                from: Fulfilled,
                to: Fulfilled
            }),
            "a replayed acceptance does not fulfil twice"
        );
    }

    #[test]
    fn decisions_map_to_states_and_unknown_ones_are_errors() {
        for (decision, state) in [
            (Some("ACCEPT"), OrderState::Fulfilled),
            (Some("DECLINE"), OrderState::Declined),
            (Some("ERROR"), OrderState::Errored),
            (Some("CANCEL"), OrderState::Canceled),
            (Some("REVIEW"), OrderState::Canceled),
            (Some("accept"), OrderState::Errored),
            (Some("PENDING"), OrderState::Canceled),
            (None, OrderState::Errored),
        ] {
            assert_eq!(
                Decision::parse(decision).order_state(),
                state,
                "{decision:?}"
            );
        }
        for state in OrderState::ALL {
            assert_eq!(state.as_str().parse::<OrderState>(), Ok(state));
        }
    }
}
