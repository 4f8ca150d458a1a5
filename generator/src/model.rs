//! Step 4: the intermediate model. Types and operations as the emitter
//! needs them, with every name already a valid, unique Rust name and every
//! `$ref` resolved. Free of `syn` and `quote`, so lowering can be tested by
//! looking at plain data.

use indexmap::IndexMap;
use serde_json::Value;

/// One spec, lowered.
#[derive(Clone, Debug, Default)]
pub struct Api {
    pub title: String,
    pub description: Option<String>,
    /// The first server's URL, with variables at their defaults.
    pub default_base_url: Option<String>,
    pub types: Vec<TypeDef>,
    pub operations: Vec<Operation>,
    pub security_schemes: Vec<SecurityScheme>,
    /// The document's `info` extensions (`x-...`), for glue that reads them.
    pub extensions: IndexMap<String, Value>,
    /// The document's top-level extensions (`x-unified-connection`...).
    pub root_extensions: IndexMap<String, Value>,
    /// Every `servers` URL, as written (templates kept).
    pub servers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    pub name: String,
    pub doc: Option<String>,
    pub kind: TypeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    Struct(Struct),
    /// A string enum that also accepts values the spec does not list.
    Enum(Enum),
    /// `oneOf` / `anyOf`.
    Union(Union),
    Alias(Type),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    pub fields: Vec<Field>,
    /// `additionalProperties` beside known fields: a flattened map.
    pub additional: Option<AdditionalField>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AdditionalField {
    pub name: String,
    pub value: Type,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub wire_name: String,
    /// Without the `Option`/`Patch` that `presence` adds.
    pub ty: Type,
    pub presence: Presence,
    /// Whether `null` is a value the spec allows (for `Patch` fields, a
    /// `null` the spec does not allow is refused when reading).
    pub nullable: bool,
    pub doc: Option<String>,
    /// Set when the field's type contains the struct itself.
    pub boxed: bool,
    /// The property's `x-...` extensions.
    pub extensions: IndexMap<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Always present, never null: `T`.
    Required,
    /// Always present, may be null: `Option<T>`, `null` sent as `null`.
    RequiredNullable,
    /// May be absent (or null): `Option<T>`, skipped when `None`.
    Optional,
    /// In a partial update: `Patch<T>`, absent / null / value.
    Patch,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub variants: Vec<EnumVariant>,
    /// The name of the catch-all variant holding unlisted values.
    pub unknown_variant: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumVariant {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Union {
    pub variants: Vec<UnionVariant>,
    /// With a discriminator, the property whose value picks the variant
    /// (kept in the variant's own data too); without, the first variant
    /// that parses wins.
    pub discriminator: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnionVariant {
    pub name: String,
    pub ty: Type,
    /// Discriminator values that select this variant.
    pub tag_values: Vec<String>,
    pub boxed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Boolean,
    I32,
    I64,
    U32,
    U64,
    F32,
    F64,
    Date,
    DateTime,
    Uuid,
    /// Any JSON value.
    Json,
    Named(String),
    Vec(Box<Type>),
    /// A JSON object with values of one type.
    Map(Box<Type>),
    Option(Box<Type>),
}

impl Type {
    /// The type without one level of `Option`, and whether there was one.
    pub fn strip_option(self) -> (Type, bool) {
        match self {
            Type::Option(inner) => (*inner, true),
            other => (other, false),
        }
    }

    pub fn nullable(self) -> Type {
        match self {
            Type::Option(_) | Type::Json => self,
            other => Type::Option(Box::new(other)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The method name on the client.
    pub name: String,
    /// The spec's operationId, or the stable one derived from method and
    /// path when the spec has none.
    pub operation_id: String,
    /// Upper case: `GET`, `POST`...
    pub method: String,
    pub path: String,
    pub doc: Option<String>,
    pub params: Vec<Param>,
    /// The struct holding the optional query and header parameters.
    pub options_struct: Option<String>,
    pub body: Option<RequestBody>,
    pub success: Responses,
    pub errors: Responses,
    /// Security schemes whose credentials this operation sends.
    pub security: Vec<String>,
    pub idempotency: Idempotency,
    pub extensions: IndexMap<String, Value>,
}

/// Whether an operation may be sent again after a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, HEAD, OPTIONS, PUT, DELETE, or `x-idempotent: true`.
    Idempotent,
    /// POST and PATCH, or `x-idempotent: false`.
    NotIdempotent,
    /// Retried with a fresh key in this header (`x-idempotency-key`).
    WithKey(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub wire_name: String,
    pub location: ParamLocation,
    pub ty: Type,
    pub required: bool,
    pub style: QueryStyle,
    pub explode: bool,
    pub doc: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryStyle {
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestBody {
    pub ty: Type,
    pub encoding: BodyEncoding,
    pub content_type: String,
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    Form,
    Text,
    Bytes,
}

/// The documented responses of one kind (success or error) of an
/// operation.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Responses {
    pub cases: Vec<ResponseCase>,
    /// The enum generated when the cases have different types.
    pub enum_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResponseCase {
    pub status: StatusMatch,
    pub content: ResponseContent,
    /// The variant name in the response enum.
    pub variant: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusMatch {
    Code(u16),
    /// `2XX` and the like: the first digit.
    Range(u16),
    Default,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResponseContent {
    Json(Type),
    Text,
    Bytes,
    Empty,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecurityScheme {
    /// The key in `components/securitySchemes`.
    pub key: String,
    /// The client method that sets it: `with_<key>`.
    pub setter: String,
    pub kind: SchemeKind,
    pub doc: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SchemeKind {
    Basic,
    /// HTTP bearer, and OAuth2 / OpenID Connect access tokens.
    Bearer,
    ApiKeyHeader(String),
    ApiKeyQuery(String),
    ApiKeyCookie(String),
}
