//! Display helpers: dates, prices, and descriptions reduced to plain paragraphs.

use chrono::{DateTime, Utc};
use domain::Money;

pub fn date(value: DateTime<Utc>) -> String {
    value.format("%b %-d, %Y").to_string()
}

pub fn price(value: Option<Money>) -> String {
    match value {
        None => "Price not set".to_string(),
        Some(m) if m.minor == 0 => "Free".to_string(),
        Some(m) => format!("${}", group_thousands(&m.to_string())),
    }
}

fn group_thousands(amount: &str) -> String {
    let (whole, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{cents}")
}

/// Paragraphs of text from CMS HTML. Markup is dropped rather than trusted, so imported
/// descriptions cannot carry scripts into our pages; the templates escape what remains.
pub fn paragraphs(html: Option<&str>) -> Vec<String> {
    let Some(html) = html else { return Vec::new() };
    let mut text = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(
                    name.as_str(),
                    "p" | "br" | "li" | "div" | "h1" | "h2" | "h3" | "h4"
                ) {
                    text.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => text.push(c),
        }
    }
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect()
}

/// The first sentences of a description, for meta tags.
pub fn summary(html: Option<&str>, fallback: &str) -> String {
    let text = paragraphs(html).join(" ");
    let text = if text.is_empty() {
        fallback.to_string()
    } else {
        text
    };
    if text.chars().count() <= 160 {
        text
    } else {
        let cut: String = text.chars().take(157).collect();
        format!("{}…", cut.trim_end())
    }
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_lose_markup_and_scripts() {
        let html = "<p data-x=\"1\">Learn <b>ODEs</b> &amp; more.</p><p>Second</p><script>alert(1)</script>";
        assert_eq!(
            paragraphs(Some(html)),
            vec!["Learn ODEs & more.", "Second", "alert(1)"]
        );
        assert!(paragraphs(None).is_empty());
    }

    #[test]
    fn prices_and_summaries() {
        assert_eq!(price(Some(Money::from_minor(12_345_678))), "$123,456.78");
        assert_eq!(price(Some(Money::from_minor(99_900))), "$999.00");
        assert_eq!(price(Some(Money::ZERO)), "Free");
        assert_eq!(price(None), "Price not set");
        assert_eq!(summary(None, "fallback"), "fallback");
        assert!(summary(Some(&"word ".repeat(100)), "").chars().count() <= 160);
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
