//! The export-compliance verdict (xPRO `compliance/api.py`): what CyberSource's export
//! service answered, as the result logged for the user.

use std::fmt;
use std::str::FromStr;

/// The result an inquiry is logged with (reference `computed_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputedResult {
    Success,
    /// Staff cleared a learner the service did not.
    ManuallyApproved,
    Denied,
    TemporaryFailure,
    Unknown,
}

impl ComputedResult {
    pub const ALL: [ComputedResult; 5] = [
        ComputedResult::Success,
        ComputedResult::ManuallyApproved,
        ComputedResult::Denied,
        ComputedResult::TemporaryFailure,
        ComputedResult::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComputedResult::Success => "SUCCESS",
            ComputedResult::ManuallyApproved => "MANUALLY_APPROVED",
            ComputedResult::Denied => "DENIED",
            ComputedResult::TemporaryFailure => "TEMPORARY_FAILURE",
            ComputedResult::Unknown => "UNKNOWN",
        }
    }

    /// Whether the learner may use their account (reference `is_success`).
    pub fn clears(self) -> bool {
        matches!(
            self,
            ComputedResult::Success | ComputedResult::ManuallyApproved
        )
    }
}

impl fmt::Display for ComputedResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComputedResult {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an export-compliance result"))
    }
}

/// Reason codes that mean "ask again later": nothing is logged for them.
const TEMPORARY: [i64; 6] = [101, 102, 150, 151, 152, 234];
/// Reason codes of a match against a restricted-party or embargo list.
const DENIED: [i64; 4] = [700, 701, 702, 703];

/// The verdict for a reply, in the reference's order: the temporary codes ask for a retry;
/// then a denial code, or any info code at all (a list matched even when the reason is
/// 100), denies; 100 clears; anything else is unknown.
pub fn verdict(reason_code: i64, info_code: Option<&str>) -> ComputedResult {
    if TEMPORARY.contains(&reason_code) {
        ComputedResult::TemporaryFailure
    } else if DENIED.contains(&reason_code) || info_code.is_some_and(|c| !c.trim().is_empty()) {
        ComputedResult::Denied
    } else if reason_code == 100 {
        ComputedResult::Success
    } else {
        ComputedResult::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_map_as_the_reference_maps_them() {
        for (code, info, expected) in [
            (100, None, ComputedResult::Success),
            (100, Some("MATCH-DPC"), ComputedResult::Denied),
            (100, Some("  "), ComputedResult::Success),
            (700, None, ComputedResult::Denied),
            (701, None, ComputedResult::Denied),
            (702, None, ComputedResult::Denied),
            (703, None, ComputedResult::Denied),
            (101, None, ComputedResult::TemporaryFailure),
            (102, None, ComputedResult::TemporaryFailure),
            (150, None, ComputedResult::TemporaryFailure),
            (151, None, ComputedResult::TemporaryFailure),
            (152, None, ComputedResult::TemporaryFailure),
            (234, None, ComputedResult::TemporaryFailure),
            (150, Some("MATCH-ALIAS"), ComputedResult::TemporaryFailure),
            (203, None, ComputedResult::Unknown),
            (704, None, ComputedResult::Unknown),
        ] {
            assert_eq!(verdict(code, info), expected, "{code} {info:?}");
        }
    }

    #[test]
    fn only_success_and_manual_approval_clear_a_learner() {
        let clearing: Vec<_> = ComputedResult::ALL
            .into_iter()
            .filter(|r| r.clears())
            .collect();
        assert_eq!(
            clearing,
            [ComputedResult::Success, ComputedResult::ManuallyApproved]
        );
        for result in ComputedResult::ALL {
            assert_eq!(result.as_str().parse::<ComputedResult>(), Ok(result));
        }
    }
}
