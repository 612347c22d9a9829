//! CyberSource, the processor both references use: its SOAP export-compliance service
//! (`export`), with Secure Acceptance and REST refunds to follow with commerce.

pub mod export;

/// Escapes text for an XML element or attribute.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
