//! `$ref` values. A reference is a URI reference whose fragment is a JSON
//! pointer (RFC 6901), and inside a URI fragment a pointer is
//! percent-encoded (RFC 6901 section 6, RFC 3986): the operation at path
//! `/items/{id}` is `#/paths/~1items~1%7Bid%7D/get`. Every step that
//! follows a reference (bundling, remote copies, the reference checks,
//! the lowering) reads it through here, and every reference the generator
//! writes is written here, percent-encoded.

use crate::diagnostic::{pointer_tokens, push_pointer};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::Value;
use std::borrow::Cow;

/// What a fragment may not hold unencoded (RFC 3986 section 3.5: a
/// fragment is `pchar`s, `/` and `?`). Non-ASCII is always encoded.
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The fragment of a local reference (`#/a/b` gives `/a/b`, still
/// percent-encoded); `None` for a reference to another document.
pub fn local_fragment(reference: &str) -> Option<&str> {
    reference.strip_prefix('#')
}

/// Splits a reference into its location (empty for the document itself)
/// and its fragment (still percent-encoded).
pub fn split(reference: &str) -> (&str, &str) {
    reference.split_once('#').unwrap_or((reference, ""))
}

/// The JSON pointer a fragment stands for: percent-decoded. A fragment
/// whose escapes do not decode to UTF-8 is taken as written.
pub fn pointer_of(fragment: &str) -> Cow<'_, str> {
    percent_decode_str(fragment)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(fragment))
}

/// The node a fragment points at in `document`, and the JSON pointer that
/// reached it. The percent-decoded pointer is tried first; a document
/// that wrote `%` in a pointer without encoding it (`#/paths/~1a%20b`
/// for the path `/a%20b`) is still understood.
pub fn locate<'d, 'f>(document: &'d Value, fragment: &'f str) -> Option<(Cow<'f, str>, &'d Value)> {
    let pointer = pointer_of(fragment);
    if let Some(node) = document.pointer(&pointer) {
        return Some((pointer, node));
    }
    match pointer {
        Cow::Owned(_) => document
            .pointer(fragment)
            .map(|node| (Cow::Borrowed(fragment), node)),
        Cow::Borrowed(_) => None,
    }
}

/// The node a fragment points at in `document` (see [`locate`]).
pub fn follow<'d>(document: &'d Value, fragment: &str) -> Option<&'d Value> {
    locate(document, fragment).map(|(_, node)| node)
}

/// The node a local reference (`#...`) points at in `document`.
pub fn follow_local<'d>(document: &'d Value, reference: &str) -> Option<&'d Value> {
    follow(document, local_fragment(reference)?)
}

/// The same local reference written two ways (`#/a%20b` and `#/a b`) is
/// one key: the decoded pointer.
pub fn canonical(reference: &str) -> Cow<'_, str> {
    match local_fragment(reference) {
        Some(fragment) => match pointer_of(fragment) {
            Cow::Borrowed(_) => Cow::Borrowed(reference),
            Cow::Owned(pointer) => Cow::Owned(format!("#{pointer}")),
        },
        None => Cow::Borrowed(reference),
    }
}

/// `NAME` of a local reference to `SECTION/NAME` (a section such as
/// `/components/schemas`), decoded and unescaped; `None` for anything
/// else, including references deeper into the named part.
pub fn component_name(reference: &str, section: &str) -> Option<String> {
    let pointer = pointer_of(local_fragment(reference)?);
    let rest = pointer.strip_prefix(section)?.strip_prefix('/')?;
    (!rest.contains('/')).then(|| {
        pointer_tokens(&format!("/{rest}"))
            .pop()
            .unwrap_or_default()
    })
}

/// The name of a component schema a reference points at.
pub fn schema_name(reference: &str) -> Option<String> {
    component_name(reference, "/components/schemas")
}

/// A local reference to a JSON pointer, percent-encoded as a fragment.
pub fn to_reference(pointer: &str) -> String {
    format!("#{}", utf8_percent_encode(pointer, FRAGMENT))
}

/// A local reference to the component `name` of `section`
/// (`/components/schemas`).
pub fn component_reference(section: &str, name: &str) -> String {
    to_reference(&push_pointer(section, name))
}

/// The last token of the pointer a fragment stands for, unescaped.
pub fn last_token(fragment: &str) -> Option<String> {
    pointer_tokens(&pointer_of(fragment)).pop()
}

/// Maps whose keys are names the spec chose, so a key there starting with
/// `x-` or spelled `example` is a name, not an extension or an example.
const NAMED_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependentSchemas",
    "schemas",
    "parameters",
    "headers",
    "requestBodies",
    "securitySchemes",
    "pathItems",
    "content",
    "encoding",
    "variables",
];

/// Whether the steps that follow references look under `key` of the
/// object at `parent` (a JSON pointer). Examples are data, and a vendor
/// extension is the vendor's own: a `$ref` inside either is not the
/// document's, so it is neither followed nor checked. In a map of names
/// (`properties`, `headers`...) every key is a name and is followed.
pub fn holds_references(parent: &str, key: &str) -> bool {
    if !(key.starts_with("x-") || key == "example" || key == "examples") {
        return true;
    }
    let parent_key = parent.rsplit('/').next().unwrap_or_default();
    NAMED_MAPS.contains(&parent_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fragments_are_percent_decoded_before_the_pointer_applies() {
        let document =
            json!({"paths": {"/items/{id}": {"get": {"operationId": "a"}}, "/a%20b": 1}});
        assert_eq!(
            follow(&document, "/paths/~1items~1%7Bid%7D/get/operationId"),
            Some(&json!("a"))
        );
        assert_eq!(
            follow(&document, "/paths/~1items~1{id}/get/operationId"),
            Some(&json!("a"))
        );
        // `%` written unencoded still finds the key it spells.
        assert_eq!(follow(&document, "/paths/~1a%20b"), Some(&json!(1)));
        assert_eq!(follow(&document, "/paths/~1a%2520b"), Some(&json!(1)));
        // Escapes that are not UTF-8 are taken literally.
        assert_eq!(follow(&document, "/paths/%FF"), None);
    }

    #[test]
    fn references_are_written_percent_encoded() {
        assert_eq!(
            to_reference("/paths/~1items~1{id}/get"),
            "#/paths/~1items~1%7Bid%7D/get"
        );
        assert_eq!(
            component_reference("/components/schemas", "Pet Ä/1%"),
            "#/components/schemas/Pet%20%C3%84~11%25"
        );
        let reference = component_reference("/components/schemas", "Pet Ä/1%");
        assert_eq!(schema_name(&reference).as_deref(), Some("Pet Ä/1%"));
    }

    #[test]
    fn examples_and_extensions_hold_no_references() {
        assert!(!holds_references("/components/schemas/A", "x-links"));
        assert!(!holds_references("/components/schemas/A", "example"));
        assert!(!holds_references("", "x-tagGroups"));
        assert!(holds_references(
            "/components/schemas/A/properties",
            "x-request-id"
        ));
        assert!(holds_references(
            "/components/schemas/A/properties",
            "example"
        ));
        assert!(holds_references("/components/schemas/A", "items"));
    }

    #[test]
    fn component_names_are_decoded_and_unescaped() {
        assert_eq!(
            schema_name("#/components/schemas/a~1b%20c").as_deref(),
            Some("a/b c")
        );
        assert_eq!(schema_name("#/components/schemas/A/properties/b"), None);
        assert_eq!(schema_name("other.yaml#/components/schemas/A"), None);
        assert_eq!(
            canonical("#/components/schemas/a%20b"),
            "#/components/schemas/a b"
        );
    }
}
