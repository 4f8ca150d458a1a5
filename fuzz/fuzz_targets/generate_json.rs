//! Structure-aware: a small spec edited the way a careless author (or a
//! broken export) would edit it, then serialized to JSON and generated.
//!
//! The input picks the document and drives the edits:
//!
//! - When the input itself is a YAML or JSON object (a corpus document, or
//!   one libFuzzer changed byte by byte), that is the document, and the
//!   edits are drawn from a generator seeded with a hash of the input.
//! - Otherwise the input's bytes choose one of the seed specs (a few
//!   written here, and the project's fixture specs read at start-up) and
//!   then each edit, so libFuzzer's coverage feedback steers the edits.
//!
//! Edits: a node replaced by a scalar, array or object; a key deleted or
//! renamed to an awkward name; a subtree copied elsewhere; `type` changed;
//! `$ref`s to existing, missing, external and malformed targets;
//! `allOf`/`oneOf`/`anyOf` wrappers and discriminators; `nullable`; `enum`s
//! of mixed values; `required` and `additionalProperties` oddities; deep
//! nesting. Whatever comes out, the generator returns `Ok` or `Err`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The project's fixture specs are read at start-up from these
/// directories (whatever is there then: fixtures come and go); these
/// seeds, written here, add the shapes they lack (3.1, Swagger 2.0,
/// webhooks, unions, unified bindings).
const FIXTURE_DIRS: &[&str] = &[
    "tests/fixtures/specs",
    "tests/fixtures/specs/external",
    "tests/fixtures/specs/percent-refs",
    "tests/fixtures/bad",
];

const SEEDS: &[&str] = &[
    r##"{"openapi": "3.0.3", "info": {"title": "Min", "version": "1"}, "paths": {}}"##,
    r##"openapi: 3.1.0
info: { title: Thirty-one, version: "1" }
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - { name: id, in: path, required: true, schema: { type: [string, "null"] } }
        - { name: tags, in: query, style: form, explode: false, schema: { type: array, items: { type: string } } }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Item", description: beside }
webhooks:
  itemChanged:
    post:
      requestBody: { content: { application/json: { schema: { $ref: "#/components/schemas/Item" } } } }
      responses: { "200": { description: ok } }
components:
  schemas:
    Item:
      type: object
      required: [id]
      properties:
        id: { type: integer, exclusiveMinimum: 0, maximum: 18446744073709551616 }
        kind: { const: item }
        pair: { type: array, prefixItems: [{ type: string }, { type: number }] }
        blob: { type: string, contentMediaType: image/png }
        any: true
        none: false
"##,
    r##"{"swagger": "2.0", "info": {"title": "Two", "version": "1"}, "host": "api.example.com", "basePath": "/v1",
 "schemes": ["https"], "consumes": ["application/json"], "produces": ["application/json"],
 "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
 "paths": {"/pets/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
   "get": {"operationId": "getPet", "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}},
   "post": {"operationId": "upload", "consumes": ["multipart/form-data"],
     "parameters": [{"name": "file", "in": "formData", "type": "file"}, {"name": "note", "in": "formData", "type": "string"}],
     "responses": {"204": {"description": "done"}}},
   "put": {"operationId": "putPet", "parameters": [{"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}],
     "responses": {"default": {"description": "err"}}}}},
 "definitions": {"Pet": {"type": "object", "required": ["name"], "x-nullable": true,
   "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
     "parent": {"$ref": "#/definitions/Pet"}}}}}"##,
    r##"openapi: 3.0.3
info: { title: Unions, version: "1", x-providers: [close] }
paths:
  /shapes:
    post:
      operationId: createShape
      x-unified-operation: opportunities.create
      x-partial-update: true
      requestBody:
        required: true
        content:
          application/json: { schema: { $ref: "#/components/schemas/Shape" } }
          application/x-www-form-urlencoded: { schema: { type: object, properties: { a: { type: string } } } }
      responses:
        "201":
          description: made
          headers: { Location: { schema: { type: string } } }
          content: { application/json: { schema: { $ref: "#/components/schemas/Shape" } } }
        "4XX": { description: bad, content: { application/json: { schema: { type: object, additionalProperties: { type: string } } } } }
components:
  schemas:
    Shape:
      oneOf: [{ $ref: "#/components/schemas/Circle" }, { $ref: "#/components/schemas/Square" }]
      discriminator: { propertyName: kind, mapping: { circle: "#/components/schemas/Circle", square: "#/components/schemas/Square" } }
    Circle:
      type: object
      required: [kind]
      properties: { kind: { type: string }, r: { type: number }, parent: { $ref: "#/components/schemas/Shape" } }
    Square:
      allOf:
        - { $ref: "#/components/schemas/Base" }
        - { type: object, properties: { kind: { type: string }, side: { type: integer, format: int64 } } }
    Base:
      type: object
      additionalProperties: true
      properties: { id: { type: string, format: uuid }, at: { type: string, format: date-time } }
    Maybe:
      anyOf: [{ type: string }, { type: "null" }]
"##,
];

/// Where the document claims to live: next to the external-reference
/// fixture, so `_common.yaml#/...` references are followed for real.
fn spec_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/specs/external/fuzz.yaml")
    })
}

/// `FUZZ_DUMP=path`: write each generated document there before
/// generating it (run one input with it set to get the document behind a
/// crash, which is what `tests/fixtures/fuzz-regressions/` keeps).
fn dump_path() -> Option<&'static PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| std::env::var_os("FUZZ_DUMP").map(PathBuf::from))
        .as_ref()
}

fn seeds() -> &'static [Value] {
    static PARSED: OnceLock<Vec<Value>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files: Vec<PathBuf> = FIXTURE_DIRS
            .iter()
            .filter_map(|dir| std::fs::read_dir(root.join(dir)).ok())
            .flatten()
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        let fixtures = files
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok());
        SEEDS
            .iter()
            .map(|text| (*text).to_owned())
            .chain(fixtures)
            .filter_map(|text| crm_generator::load::parse_text(&text).ok())
            .filter(Value::is_object)
            .collect()
    })
}

/// Where the choices come from: the input's bytes, or a generator seeded
/// from them.
enum Source<'a> {
    Bytes(&'a [u8]),
    Rng(u64),
}

impl Source<'_> {
    fn byte(&mut self) -> u8 {
        match self {
            Source::Bytes(bytes) => match bytes.split_first() {
                Some((first, rest)) => {
                    *bytes = rest;
                    *first
                }
                None => 0,
            },
            Source::Rng(state) => {
                // xorshift64*
                *state ^= *state >> 12;
                *state ^= *state << 25;
                *state ^= *state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            }
        }
    }

    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let value = if n <= 256 {
            usize::from(self.byte())
        } else {
            usize::from(self.byte()) << 8 | usize::from(self.byte())
        };
        value % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "",
    "type",
    "Self",
    "self",
    "super",
    "crate",
    "Option",
    "Vec",
    "String",
    "Box",
    "Result",
    "Client",
    "Value",
    "Some",
    "None",
    "Ok",
    "Err",
    "From",
    "Into",
    "TryFrom",
    "Default",
    "Clone",
    "Debug",
    "PartialEq",
    "Hash",
    "ToOwned",
    "Error",
    "Patch",
    "Secret",
    "Serialize",
    "Map",
    "UnifiedMapping",
    "S",
    "D",
    "a\rb",
    "a\r\nb",
    "\u{202E}rtl",
    "\u{FFFD}",
    "nul\u{0}",
    "1abc",
    "+1",
    "-1",
    "a-b",
    "a b",
    "a.b",
    "a/b",
    "~0",
    "~1",
    "é",
    "💥",
    "_",
    "__",
    "r#type",
    "$ref",
    "x-partial-update",
    "properties",
    "items",
    "Pet",
    "id",
    "2fa_enabled",
    "ÅÄÖ",
    "UPPER_CASE",
    "camelCase",
    "{id}",
    "default",
];

const REFS: &[&str] = &[
    "#",
    "#/",
    "#/components",
    "#/components/schemas",
    "#/components/schemas/Missing",
    "#/components/schemas/",
    "#/components/schemas/a~1b",
    "#/components/schemas/~2",
    "#/components/parameters/Missing",
    "#/components/responses/Missing",
    "#/paths",
    "#/info",
    "#/definitions/Pet",
    "##",
    "#components/schemas/Pet",
    "",
    "_common.yaml#/schemas/Thing",
    "_common.yaml#/schemas/Owner",
    "_common.yaml#/parameters/Limit",
    "_common.yaml",
    "_common.yaml#/missing",
    "main.yaml#/paths",
    "main.yaml",
    "fuzz.yaml#/components",
    "missing.yaml#/x",
    "https://example.com/spec.json#/components/schemas/Pet",
    "spec.json#/components/schemas/Pet",
    // Percent-encoded pointers (RFC 6901 section 6), well and badly formed.
    "#/components/schemas/P%65t",
    "#/components/schemas/a%7E1b",
    "#/paths/~1pets~1%7Bid%7D",
    "#/paths/~1pets~1%7Bid%7D/get/responses/200",
    "#/components/schemas/%",
    "#/components/schemas/%ZZ",
    "#/components/schemas/%FF",
    "#/components/schemas/%E2%82",
    "#/components/schemas/Pet%20",
    "_common.yaml#/schemas/Th%69ng",
    "%5Fcommon.yaml#/schemas/Thing",
    "#/components/callbacks/Missing",
    "#/components/examples/Missing",
];

/// Text for descriptions and titles: line endings and characters a Rust
/// comment cannot hold as they are.
const TEXTS: &[&str] = &[
    "line\r\nline",
    "cr\ronly",
    "\r",
    "ends with cr\r",
    "\r\n\r\n",
    // What a lone surrogate becomes once a loader has read it.
    "\u{FFFD}",
    "\u{0}\u{7}\u{8}\u{b}\u{c}\u{1b}\u{7f}",
    "\u{80}\u{85}\u{9f}",
    "\u{2028}\u{2029}",
    "\u{202E}rtl\u{202C} \u{2066}isolate\u{2069}",
    "\u{feff}bom",
    "*/ /* /** //",
    "\\",
    "\"quoted\"",
    "#[doc = \"x\"]",
    "`tick",
    "",
];

const TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "array", "object", "null", "file", "any", "",
    "String",
];

const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "int32",
    "int64",
    "uint64",
    "float",
    "double",
    "uuid",
    "byte",
    "binary",
    "email",
    "uri",
    "",
    "int8",
    "decimal",
];

fn random_scalar(source: &mut Source) -> Value {
    match source.below(11) {
        0 => Value::Null,
        1 => Value::Bool(source.byte() & 1 == 1),
        2 => json!(*source.pick(&[0i64, 1, -1, 200, 404, i64::MAX, i64::MIN])),
        3 => json!(*source.pick(&[u64::MAX, 18_446_744_073_709_551_615])),
        4 => json!(*source.pick(&[0.5f64, -0.0, 1e300, -1e-300, 3.0])),
        5 => json!(*source.pick(TYPES)),
        6 => json!(*source.pick(REFS)),
        7 => json!(*source.pick(FORMATS)),
        8 => json!(*source.pick(TEXTS)),
        _ => json!(*source.pick(NAMES)),
    }
}

fn random_value(source: &mut Source, depth: usize) -> Value {
    if depth > 3 {
        return random_scalar(source);
    }
    match source.below(6) {
        0 => Value::Array(
            (0..source.below(4))
                .map(|_| random_value(source, depth + 1))
                .collect(),
        ),
        1 => Value::Object(
            (0..source.below(4))
                .map(|_| {
                    (
                        source.pick(NAMES).to_string(),
                        random_value(source, depth + 1),
                    )
                })
                .collect(),
        ),
        2 => random_schema(source, depth + 1),
        _ => random_scalar(source),
    }
}

fn random_schema(source: &mut Source, depth: usize) -> Value {
    let mut schema = Map::new();
    if source.byte() & 1 == 0 {
        schema.insert("type".into(), json!(*source.pick(TYPES)));
    }
    if source.byte() & 3 == 0 {
        schema.insert("format".into(), json!(*source.pick(FORMATS)));
    }
    if depth < 4 {
        match source.below(6) {
            0 => {
                schema.insert("items".into(), random_schema(source, depth + 1));
            }
            1 => {
                let properties: Map<String, Value> = (0..source.below(3))
                    .map(|_| {
                        (
                            source.pick(NAMES).to_string(),
                            random_schema(source, depth + 1),
                        )
                    })
                    .collect();
                schema.insert("properties".into(), Value::Object(properties));
            }
            2 => {
                schema.insert("$ref".into(), json!(*source.pick(REFS)));
            }
            3 => {
                schema.insert(
                    "additionalProperties".into(),
                    if source.byte() & 1 == 0 {
                        Value::Bool(true)
                    } else {
                        random_schema(source, depth + 1)
                    },
                );
            }
            _ => {}
        }
    }
    Value::Object(schema)
}

fn odd_enum(source: &mut Source) -> Value {
    let pool = [
        Value::Null,
        json!(""),
        json!("a b"),
        json!("a"),
        json!("A"),
        json!("1"),
        json!("-"),
        json!("+1"),
        json!("-1"),
        json!("self"),
        json!("Self"),
        json!("type"),
        json!("Unknown"),
        json!("é"),
        json!("💥"),
        json!(1),
        json!(1.5),
        json!(-7),
        json!(true),
        json!({}),
        json!([]),
        json!({ "a": 1 }),
    ];
    let count = source.below(6);
    Value::Array((0..count).map(|_| source.pick(&pool).clone()).collect())
}

/// Every node's pointer, as tokens, in document order.
fn pointers(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                prefix.push(key.clone());
                pointers(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(index.to_string());
                pointers(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(root: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut node = root;
    for token in path {
        node = match node {
            Value::Object(object) => object.get_mut(token)?,
            Value::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn node<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = root;
    for token in path {
        node = match node {
            Value::Object(object) => object.get(token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn mutate(doc: &mut Value, source: &mut Source) {
    let mut all = Vec::new();
    pointers(doc, &mut Vec::new(), &mut all);
    let target = source.pick(&all).clone();
    let other = source.pick(&all).clone();
    let other_value = node(doc, &other).cloned().unwrap_or(Value::Null);
    let reference = if source.byte() & 1 == 0 {
        let tokens: Vec<String> = other.iter().map(|token| escape(token)).collect();
        format!("#/{}", tokens.join("/"))
    } else {
        source.pick(REFS).to_string()
    };
    let operation = source.below(18);
    let Some(slot) = node_mut(doc, &target) else {
        return;
    };
    match operation {
        // Replace the node.
        0 => *slot = random_value(source, 0),
        // Delete a key.
        1 => {
            if let Value::Object(object) = slot
                && !object.is_empty()
            {
                let index = source.below(object.len());
                if let Some(key) = object.keys().nth(index).cloned() {
                    object.shift_remove(&key);
                }
            } else if let Value::Array(items) = slot
                && !items.is_empty()
            {
                items.remove(source.below(items.len()));
            }
        }
        // Copy a subtree in (under a new or an existing key).
        2 => match slot {
            Value::Object(object) => {
                let key = if object.is_empty() || source.byte() & 1 == 0 {
                    source.pick(NAMES).to_string()
                } else {
                    object
                        .keys()
                        .nth(source.below(object.len()))
                        .cloned()
                        .unwrap_or_default()
                };
                object.insert(key, other_value);
            }
            Value::Array(items) => items.push(other_value),
            _ => *slot = other_value,
        },
        // Change or add a `type`.
        3 => {
            if let Value::Object(object) = slot {
                let kind = match source.below(4) {
                    0 => json!([source.pick(TYPES), source.pick(TYPES)]),
                    1 => random_scalar(source),
                    _ => json!(source.pick(TYPES)),
                };
                object.insert("type".into(), kind);
            }
        }
        // A `$ref`, alone or beside what is there.
        4 => {
            if source.byte() & 1 == 0 {
                *slot = json!({ "$ref": reference });
            } else if let Value::Object(object) = slot {
                object.insert("$ref".into(), json!(reference));
            }
        }
        // Wrap in a composition.
        5 => {
            let keyword = *source.pick(&["allOf", "oneOf", "anyOf", "not"]);
            let inner = std::mem::take(slot);
            let mut wrapper = Map::new();
            let mut parts = vec![inner];
            match source.below(3) {
                0 => parts.push(json!({ "$ref": reference })),
                1 => parts.push(random_schema(source, 0)),
                _ => {}
            }
            if source.byte() & 1 == 0 {
                parts.push(json!({ "type": "null" }));
            }
            if keyword == "not" {
                wrapper.insert(keyword.into(), parts.swap_remove(0));
            } else {
                wrapper.insert(keyword.into(), Value::Array(parts));
            }
            if source.byte() & 3 == 0 {
                let mut mapping = Map::new();
                mapping.insert(source.pick(NAMES).to_string(), json!(reference));
                wrapper.insert(
                    "discriminator".into(),
                    json!({ "propertyName": source.pick(NAMES), "mapping": mapping }),
                );
            }
            *slot = Value::Object(wrapper);
        }
        // `nullable`, of any shape.
        6 => {
            if let Value::Object(object) = slot {
                let value = match source.below(3) {
                    0 => Value::Bool(true),
                    1 => Value::Bool(false),
                    _ => random_scalar(source),
                };
                object.insert("nullable".into(), value);
            }
        }
        // An odd `enum`.
        7 => {
            if let Value::Object(object) = slot {
                object.insert("enum".into(), odd_enum(source));
                if source.byte() & 1 == 0 {
                    object.insert("type".into(), json!(source.pick(TYPES)));
                }
            }
        }
        // Deep nesting.
        8 => {
            let levels = source.below(140);
            let shape = source.below(4);
            let mut value = std::mem::take(slot);
            for _ in 0..levels {
                value = match shape {
                    0 => json!({ "type": "array", "items": value }),
                    1 => json!({ "type": "object", "properties": { "a": value } }),
                    2 => json!({ "allOf": [value] }),
                    _ => json!({ "additionalProperties": value }),
                };
            }
            *slot = value;
        }
        // Rename a key.
        9 => {
            if let Value::Object(object) = slot
                && !object.is_empty()
            {
                let index = source.below(object.len());
                let key = object.keys().nth(index).cloned().unwrap_or_default();
                if let Some(value) = object.shift_remove(&key) {
                    object.insert(source.pick(NAMES).to_string(), value);
                }
            }
        }
        // `required` naming anything.
        10 => {
            if let Value::Object(object) = slot {
                let value = match source.below(3) {
                    0 => Value::Bool(true),
                    1 => json!([source.pick(NAMES), source.pick(NAMES)]),
                    _ => json!(["id", "id", source.pick(NAMES)]),
                };
                object.insert("required".into(), value);
            }
        }
        // `additionalProperties` and `items` of any shape.
        11 => {
            if let Value::Object(object) = slot {
                let key = *source.pick(&["additionalProperties", "items", "properties"]);
                object.insert(key.into(), random_value(source, 1));
            }
        }
        // A new component schema, with an awkward name, used from here.
        12 => {
            let name = source.pick(NAMES).to_string();
            let schema = random_schema(source, 0);
            let inner = std::mem::take(slot);
            *slot = json!({ "$ref": format!("#/components/schemas/{}", escape(&name)) });
            if let Value::Object(root) = doc {
                let components = root.entry("components").or_insert_with(|| json!({}));
                if let Value::Object(components) = components {
                    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
                    if let Value::Object(schemas) = schemas {
                        let value = if source.byte() & 1 == 0 {
                            inner
                        } else {
                            schema
                        };
                        schemas.insert(name, value);
                    }
                }
            }
        }
        // A format, a vendor extension, or a version.
        13 => {
            if let Value::Object(object) = slot {
                let (key, value) = match source.below(6) {
                    0 => ("format", json!(source.pick(FORMATS))),
                    1 => ("x-partial-update", random_scalar(source)),
                    2 => (
                        "x-unified-operation",
                        json!(source.pick(&[
                            "opportunities.create",
                            "opportunities.list",
                            "opportunities.get",
                            "opportunities.update",
                            "custom_fields.list",
                            "stages.list",
                            "nope"
                        ])),
                    ),
                    3 => ("x-nullable", random_scalar(source)),
                    4 => (
                        "openapi",
                        json!(source.pick(&["3.0.0", "3.1.0", "3.2.0", "2.0", "3", ""])),
                    ),
                    _ => ("x-providers", json!([source.pick(NAMES)])),
                };
                object.insert(key.into(), value);
            }
        }
        // Swap in another node's value.
        14 => *slot = other_value,
        // Odd text where text becomes documentation.
        15 => {
            if let Value::Object(object) = slot {
                let key = *source.pick(&["description", "summary", "title"]);
                object.insert(key.into(), json!(source.pick(TEXTS)));
            }
        }
        // Parts that do not shape the client, of any shape.
        16 => {
            if let Value::Object(object) = slot {
                let key = *source.pick(&[
                    "callbacks",
                    "links",
                    "examples",
                    "example",
                    "webhooks",
                    "x-anything",
                ]);
                let value = match source.below(3) {
                    0 => json!({ "$ref": reference }),
                    1 => json!({ source.pick(NAMES).to_string(): { "$ref": reference } }),
                    _ => random_value(source, 1),
                };
                object.insert(key.into(), value);
            }
        }
        // An operation with whatever parameters and responses.
        _ => {
            if let Value::Object(object) = slot {
                let method = *source.pick(&[
                    "get",
                    "put",
                    "post",
                    "delete",
                    "patch",
                    "head",
                    "options",
                    "trace",
                    "parameters",
                ]);
                let parameter = json!({
                    "name": source.pick(NAMES),
                    "in": source.pick(&["path", "query", "header", "cookie", "body", "formData", "nowhere"]),
                    "required": source.byte() & 1 == 0,
                    "style": source.pick(&["form", "simple", "deepObject", "pipeDelimited", "spaceDelimited", "label", "matrix"]),
                    "explode": source.byte() & 1 == 0,
                    "schema": random_schema(source, 2),
                });
                let status = *source.pick(&[
                    "200", "201", "204", "2XX", "4XX", "default", "600", "099", "abc",
                ]);
                let mut responses = Map::new();
                responses.insert(
                    status.into(),
                    json!({ "description": "d", "content": { *source.pick(&["application/json", "text/plain", "*/*", "application/octet-stream", "application/problem+json"]): { "schema": random_schema(source, 2) } } }),
                );
                object.insert(
                    method.into(),
                    json!({ "operationId": source.pick(NAMES), "parameters": [parameter], "responses": responses }),
                );
            }
        }
    }
}

fn hash(data: &[u8]) -> u64 {
    // FNV-1a; never zero, which xorshift would keep at zero.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash | 1
}

fuzz_target!(|data: &[u8]| {
    let parsed = std::str::from_utf8(data)
        .ok()
        .and_then(|text| crm_generator::load::parse_text(text).ok())
        .filter(Value::is_object);
    let (mut doc, mut source) = match parsed {
        Some(doc) => (doc, Source::Rng(hash(data))),
        None => {
            let mut source = Source::Bytes(data);
            let doc = source.pick(seeds()).clone();
            (doc, source)
        }
    };
    let edits = 1 + source.below(6);
    for _ in 0..edits {
        mutate(&mut doc, &mut source);
    }
    let Ok(text) = serde_json::to_string(&doc) else {
        return;
    };
    if let Some(path) = dump_path() {
        // The document a crash input turns into, for the regression suite.
        let _ = std::fs::write(path, &text);
    }
    if let Err(diagnostics) = crm_generator::generate_text(&text, spec_path(), "fuzz.yaml") {
        assert!(
            diagnostics
                .iter()
                .any(|diagnostic| !diagnostic.message.is_empty()),
            "an error without a message: {diagnostics:?}"
        );
    }
});
