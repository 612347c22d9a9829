//! CSV downloads (staff exports of codes and orders) written safely for spreadsheets.

/// A CSV field, always quoted; one a spreadsheet would take for a formula (`=`, `+`, `-`,
/// `@` first) is kept text with a leading `'`.
pub fn csv_field(value: &str) -> String {
    let text = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}
