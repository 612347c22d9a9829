//! Redirect targets taken from a request (`next=` after sign-in) stay on this site. A
//! target is resolved against `base_url` as a browser would resolve it, and kept only when
//! it lands on the same origin; a target with a control character or a backslash is refused
//! outright, since browsers drop tabs and newlines and read `\` as `/` (so
//! `/%09/evil.example` would leave the site), and CR or LF cannot go in a header.

/// The path (with query and fragment) to send the browser to, when `next` is a safe
/// target on the site at `base_url`.
pub fn on_site(base_url: &str, next: &str) -> Option<String> {
    if next.is_empty() || next.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let base = url::Url::parse(base_url).ok()?;
    let target = base.join(next).ok()?;
    if target.origin() != base.origin() {
        return None;
    }
    let mut local = target.path().to_string();
    if let Some(query) = target.query() {
        local.push('?');
        local.push_str(query);
    }
    if let Some(fragment) = target.fragment() {
        local.push('#');
        local.push_str(fragment);
    }
    // What the browser gets is a path on this origin, never one it could read as a host.
    (local.starts_with('/') && !local.starts_with("//")).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::on_site;

    const BASE: &str = "https://registrar.example.edu";

    #[test]
    fn only_targets_on_this_origin_are_kept() {
        assert_eq!(
            on_site(BASE, "/orders/3/?paid=1").as_deref(),
            Some("/orders/3/?paid=1")
        );
        assert_eq!(
            on_site(BASE, "https://registrar.example.edu/cart/").as_deref(),
            Some("/cart/")
        );
        assert_eq!(on_site(BASE, "cart/").as_deref(), Some("/cart/"));
        for away in [
            "//evil.example",
            "/\t/evil.example",
            "\\\\evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "http://registrar.example.edu/",
            "https://registrar.example.edu.evil.example/",
            "https://registrar.example.edu@evil.example/",
            "javascript:alert(1)",
            "/\r\nSet-Cookie: x=1",
            "/\0",
            "",
            "///evil.example",
        ] {
            assert_eq!(on_site(BASE, away), None, "{away:?}");
        }
        assert_eq!(
            on_site(BASE, "/%09/evil.example").as_deref(),
            Some("/%09/evil.example"),
            "an encoded tab stays encoded: a path on this site"
        );
    }
}
