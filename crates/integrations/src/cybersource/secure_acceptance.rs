//! CyberSource Secure Acceptance (hosted checkout) signatures, as both references compute
//! them: `signed_field_names` is every field name, sorted, plus itself; the message is
//! `name=value` pairs joined by commas in that order; the signature is the standard-base64
//! HMAC-SHA256 of the message under the profile's secret key. A response is checked over its
//! own `signed_field_names`, in constant time (the references compare with `==`).
//!
//! Two holes in that scheme are closed here by construction:
//! - A signature only vouches for the fields it names, so a valid signature proves nothing
//!   about the fields it leaves out. The request form Registrar signs at checkout is itself
//!   validly signed: posted back with unsigned `decision=ACCEPT` and `req_…` fields added, it
//!   used to pass as a paid result. A result is therefore read only as a [`SignedResult`],
//!   which holds nothing but signed fields, requires the ones Registrar acts on, and refuses
//!   one made for another profile.
//! - The signed message joins `name=value` pairs with commas, so a value with a comma in it
//!   could be re-split into other pairs (a buyer's text such as `x,decision=ACCEPT`). [`sign`]
//!   never signs a value with a comma: commas in values become spaces, so every message
//!   Registrar signs splits one way only and never names a result field.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The message a signature covers: the named fields in the order named. A named field that
/// is absent signs as empty.
fn message<'a>(names: &str, value: impl Fn(&str) -> Option<&'a str>) -> String {
    names
        .split(',')
        .map(|name| format!("{name}={}", value(name).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

fn mac(secret_key: &str, message: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret_key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(message.as_bytes());
    mac
}

/// Signs fields over `signed_field_names` as given.
pub fn signature(secret_key: &str, fields: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let names = lookup("signed_field_names").unwrap_or_default();
    STANDARD.encode(
        mac(secret_key, &message(names, lookup))
            .finalize()
            .into_bytes(),
    )
}

/// Adds `signed_field_names` (every field, sorted, and itself) and `signature`, so every
/// field rendered is signed. Values are always strings: a missing value is sent as "". A
/// comma in a value becomes a space (see the module's doc), as does any control character.
pub fn sign(secret_key: &str, mut fields: Vec<(String, String)>) -> Vec<(String, String)> {
    fields.retain(|(k, _)| k != "signed_field_names" && k != "signature");
    for (_, value) in &mut fields {
        if value.contains(|c: char| c == ',' || c.is_control()) {
            *value = value
                .chars()
                .map(|c| if c == ',' || c.is_control() { ' ' } else { c })
                .collect();
        }
    }
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    names.push("signed_field_names");
    names.sort_unstable();
    let names = names.join(",");
    fields.push(("signed_field_names".to_string(), names));
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let signed = signature(secret_key, &fields);
    fields.push(("signature".to_string(), signed));
    fields
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the post has no signature or signed_field_names")]
    Missing,
    #[error("the signature does not match the signed fields")]
    Mismatch,
}

/// Checks a posted form against its own `signed_field_names`, in constant time.
pub fn verify(secret_key: &str, form: &HashMap<String, String>) -> Result<(), SignatureError> {
    let (Some(names), Some(claimed)) = (form.get("signed_field_names"), form.get("signature"))
    else {
        return Err(SignatureError::Missing);
    };
    let claimed = STANDARD
        .decode(claimed.trim())
        .map_err(|_| SignatureError::Mismatch)?;
    mac(
        secret_key,
        &message(names, |name| form.get(name).map(String::as_str)),
    )
    .verify_slice(&claimed)
    .map_err(|_| SignatureError::Mismatch)
}

/// The fields of a result that Registrar acts on: each must be present and signed.
pub const REQUIRED_RESULT_FIELDS: [&str; 9] = [
    "decision",
    "reason_code",
    "req_reference_number",
    "req_amount",
    "req_currency",
    "req_transaction_uuid",
    "req_access_key",
    "req_profile_id",
    "signed_field_names",
];

/// Fields Registrar acts on when they are there: signed if present. `transaction_id` is
/// required as well for a result that says the payment was taken (ACCEPT or REVIEW).
pub const SIGNED_IF_PRESENT: [&str; 2] = ["transaction_id", "auth_amount"];

/// The profile a result must have been made for.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    pub access_key: &'a str,
    pub profile_id: &'a str,
    pub secret_key: &'a str,
}

/// Why a posted result is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the field {0} is not covered by the signature")]
    Unsigned(&'static str),
    #[error("the signed result has no {0}")]
    Missing(&'static str),
    #[error("the result was made for another CyberSource profile ({0} is not ours)")]
    OtherProfile(&'static str),
}

/// A Secure Acceptance result as CyberSource signed it for our profile: it holds only the
/// fields its signature covers, and can only be built by [`SignedResult::verify`], so
/// nothing read from it can have been added by whoever carried the post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedResult {
    fields: std::collections::BTreeMap<String, String>,
}

impl SignedResult {
    /// Checks the signature over the post's own `signed_field_names`, requires every field
    /// Registrar acts on to be among them, and the access key and profile to be ours.
    pub fn verify(
        profile: Profile<'_>,
        form: &HashMap<String, String>,
    ) -> Result<Self, ResultError> {
        verify(profile.secret_key, form)?;
        let names: std::collections::BTreeSet<&str> = form
            .get("signed_field_names")
            .map(|n| n.split(',').collect())
            .unwrap_or_default();
        let mut fields = std::collections::BTreeMap::new();
        for name in &names {
            if let Some(value) = form.get(*name) {
                fields.insert((*name).to_string(), value.clone());
            }
        }
        for name in REQUIRED_RESULT_FIELDS.iter().chain(&SIGNED_IF_PRESENT) {
            if form.contains_key(*name) && !names.contains(name) {
                return Err(ResultError::Unsigned(name));
            }
        }
        for name in REQUIRED_RESULT_FIELDS {
            if !fields.contains_key(name) {
                return Err(ResultError::Missing(name));
            }
        }
        let result = SignedResult { fields };
        // Read as the order state machine reads it (`domain::commerce::order::Decision`
        // trims), so a decision the processor padded cannot skip this check.
        if matches!(result.decision().trim(), "ACCEPT" | "REVIEW")
            && result.transaction_id().is_none()
        {
            return Err(ResultError::Missing("transaction_id"));
        }
        // Both are public (every checkout form shows them): a plain comparison will do.
        if result.field("req_access_key") != profile.access_key {
            return Err(ResultError::OtherProfile("req_access_key"));
        }
        if result.field("req_profile_id") != profile.profile_id {
            return Err(ResultError::OtherProfile("req_profile_id"));
        }
        Ok(result)
    }

    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// `ACCEPT`, `DECLINE`, `REVIEW`, `ERROR`, `CANCEL` (as sent).
    pub fn decision(&self) -> &str {
        self.field("decision")
    }

    pub fn reason_code(&self) -> &str {
        self.field("reason_code")
    }

    /// The order's reference number, as our request carried it.
    pub fn reference_number(&self) -> &str {
        self.field("req_reference_number")
    }

    /// The amount our request asked for.
    pub fn amount(&self) -> &str {
        self.field("req_amount")
    }

    pub fn currency(&self) -> &str {
        self.field("req_currency")
    }

    /// The amount authorised, when the processor says.
    pub fn auth_amount(&self) -> Option<&str> {
        self.get("auth_amount")
    }

    /// The processor's id of the payment (none for some cancellations).
    pub fn transaction_id(&self) -> Option<&str> {
        self.get("transaction_id").filter(|t| !t.is_empty())
    }

    pub fn transaction_uuid(&self) -> &str {
        self.field("req_transaction_uuid")
    }

    /// Any other signed field (`req_card_type`, `req_card_number`, …).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every signed field, to keep with the payment.
    pub fn fields(&self) -> &std::collections::BTreeMap<String, String> {
        &self.fields
    }
}

/// The card brand a result's `req_card_type` code stands for (CyberSource's card type codes,
/// as xPRO's receipts name them).
pub fn card_type_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "001" => "Visa",
        "002" => "Mastercard",
        "003" => "American Express",
        "004" => "Discover",
        "005" => "Diners Club",
        "006" => "Carte Blanche",
        "007" => "JCB",
        "014" => "Enroute",
        "021" => "JAL",
        "024" => "Maestro (UK)",
        "031" => "Delta",
        "033" => "Visa Electron",
        "034" => "Dankort",
        "036" => "Carte Bancaires",
        "037" => "Carta Si",
        "039" => "EAN",
        "040" => "UATP",
        "042" => "Maestro (Intl)",
        "050" => "Hipercard",
        "051" => "Aura",
        "054" => "Elo",
        "061" => "RuPay",
        "062" => "China UnionPay",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The golden vectors of mitxpro.md §3.5 and mitxonline.md §3.5.
    #[test]
    fn golden_vectors_match_the_references() {
        let xpro_test = pairs(&[
            ("x", "y"),
            ("abc", "def"),
            ("key", "value"),
            ("signed_field_names", "abc,x"),
        ]);
        assert_eq!(
            signature("security", &xpro_test),
            "gV5OkUNLnBDT93xyzr+3VRb8yGaET0naR7YxGJyFRtc="
        );
        let signed = sign(
            "security",
            pairs(&[
                ("access_key", "access"),
                ("amount", "100.00"),
                ("currency", "USD"),
                ("reference_number", "xpro-b2c-dev-1"),
            ]),
        );
        let get = |k: &str| signed.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(
            get("signed_field_names"),
            "access_key,amount,currency,reference_number,signed_field_names"
        );
        assert_eq!(
            get("signature"),
            "sfEUoMGF2/S9NoMoktFvnLJyCTRLcAeabSvgvebky9c="
        );
        let online = sign(
            "Test Security Key",
            pairs(&[
                ("access_key", "AK"),
                ("amount", "100.00"),
                ("reference_number", "mitxonline-rc-42"),
            ]),
        );
        assert_eq!(
            online.last().unwrap().1,
            "dfIySHK+jq+1tWlFyxbEVRzvW7Uek5WQQZ4MeVjn8Os="
        );
        let response = pairs(&[
            ("decision", "ACCEPT"),
            ("req_reference_number", "mitxonline-rc-42"),
            (
                "signed_field_names",
                "decision,req_reference_number,signed_field_names",
            ),
        ]);
        assert_eq!(
            signature("Test Security Key", &response),
            "WOI8O8xgYTj7WPJOTx7XH5KvUGy4ufbEz7Dh+yy9Foo="
        );
    }

    #[test]
    fn a_response_verifies_only_untampered_and_with_the_right_key() {
        let mut form: HashMap<String, String> = sign(
            "Test Security Key",
            pairs(&[("decision", "ACCEPT"), ("req_amount", "100.00")]),
        )
        .into_iter()
        .collect();
        assert_eq!(verify("Test Security Key", &form), Ok(()));
        assert_eq!(verify("another key", &form), Err(SignatureError::Mismatch));
        form.insert("req_amount".into(), "1.00".into());
        assert_eq!(
            verify("Test Security Key", &form),
            Err(SignatureError::Mismatch),
            "a changed amount breaks the signature"
        );
        form.remove("signature");
        assert_eq!(
            verify("Test Security Key", &form),
            Err(SignatureError::Missing)
        );
    }
}
