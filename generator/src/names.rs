//! Rust names from spec names: ASCII, no keywords, no leading digits, and
//! unique within their scope. The wire name always stays beside them
//! (`#[serde(rename)]`), so renaming never changes what is sent.

use heck::{ToSnakeCase, ToUpperCamelCase};
use std::collections::HashSet;

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Turns the characters of a spec name into words heck can case: ASCII
/// letters and digits stay, everything else separates words. A leading
/// `+` or `-` carries meaning (`+1` and `-1` are different reactions), so
/// it becomes a word.
fn words(raw: &str) -> String {
    let (prefix, rest) = match raw.as_bytes().first() {
        Some(b'+') => ("plus ", &raw[1..]),
        Some(b'-') => ("minus ", &raw[1..]),
        _ => ("", raw),
    };
    let cleaned: String = rest
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!("{prefix}{cleaned}")
}

/// A type or enum variant name: `UpperCamelCase`.
pub fn type_name(raw: &str) -> String {
    let name = words(raw).to_upper_camel_case();
    if name.is_empty() {
        "Unnamed".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{name}")
    } else if name == "Self" {
        "Self_".to_owned()
    } else {
        name
    }
}

/// A field, parameter, method or module name: `snake_case`.
pub fn snake_name(raw: &str) -> String {
    let name = words(raw).to_snake_case();
    if name.is_empty() {
        "field".to_owned()
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// The names taken in one scope (a module's types, a struct's fields).
#[derive(Debug, Default)]
pub struct Namespace {
    taken: HashSet<String>,
}

impl Namespace {
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Namespace {
            taken: reserved.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    /// `name` if it is free, else `name2`, `name3`... (with `_` before the
    /// number for snake_case names). The `_` that keeps a name off a
    /// keyword goes before the number (`Self_` then `Self2`, `self_` then
    /// `self_2`), so numbered names stay in their case style.
    pub fn claim(&mut self, name: String) -> String {
        if self.taken.insert(name.clone()) {
            return name;
        }
        let separator = if name.contains(|c: char| c.is_ascii_uppercase()) {
            ""
        } else {
            "_"
        };
        let base = match name.trim_end_matches('_') {
            "" => name.as_str(),
            trimmed => trimmed,
        };
        (2..)
            .map(|counter| format!("{base}{separator}{counter}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .unwrap_or(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert_eq!(snake_name("type"), "type_");
        assert_eq!(snake_name("self"), "self_");
        assert_eq!(snake_name("+1"), "plus_1");
        assert_eq!(snake_name("-1"), "minus_1");
        assert_eq!(snake_name("2fa_enabled"), "_2fa_enabled");
        assert_eq!(snake_name("custom.cf_abc"), "custom_cf_abc");
        assert_eq!(snake_name("truto_exclude_fields[]"), "truto_exclude_fields");
        assert_eq!(snake_name("X-PW-AccessToken"), "x_pw_access_token");
        assert_eq!(snake_name("@odata.nextLink"), "odata_next_link");
        assert_eq!(snake_name("név"), "n_v");
        assert_eq!(snake_name("***"), "field");
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name("opportunity"), "Opportunity");
        assert_eq!(type_name("io.k8s.api.core.v1.Pod"), "IoK8sApiCoreV1Pod");
        assert_eq!(type_name("200"), "V200");
        assert_eq!(type_name("Self"), "Self_");
        assert_eq!(type_name(""), "Unnamed");
    }

    #[test]
    fn collisions_get_numbered() {
        let mut fields = Namespace::default();
        assert_eq!(fields.claim(snake_name("add")), "add");
        assert_eq!(fields.claim(snake_name("Add")), "add_2");
        let mut types = Namespace::with_reserved(&["Client"]);
        assert_eq!(types.claim(type_name("client")), "Client2");
        assert_eq!(types.claim(type_name("Self")), "Self_");
        assert_eq!(types.claim(type_name("self")), "Self2");
        assert_eq!(fields.claim(snake_name("self")), "self_");
        assert_eq!(fields.claim(snake_name("Self")), "self_2");
    }
}
