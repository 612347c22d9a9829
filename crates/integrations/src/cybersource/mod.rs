//! CyberSource, the processor both references use: its SOAP export-compliance service
//! (`export`), Secure Acceptance signatures (`secure_acceptance`) and REST refunds (`refunds`).

pub mod export;
pub mod refunds;
pub mod secure_acceptance;

/// Escapes text for an XML element or attribute.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
