//! HubSpot (deals, CRM v3): every property value is a string on the wire,
//! read and written (`amount` `"1500.00"`, booleans `"true"`), and a deal
//! carries only HubSpot's default properties unless the request names the
//! others, so every read names the mapped properties and the account's
//! custom ones (`GET /crm/v3/properties/deals`). `dealname` is the name,
//! `description`, `amount` + `deal_currency_code`, `hubspot_owner_id` the
//! owner, `dealstage` (+ its `pipeline`, sent with it) the stage, `closedate`
//! a datetime property (written as midnight UTC). The status is derived:
//! `hs_is_closed_won` won, `hs_is_closed` lost, else open (the stage's
//! metadata when both are null; `archived` for a deal in the recycling bin),
//! and is read-only. The account and contacts are associations: asked for
//! with `associations=companies,contacts`, written with association type
//! ids on create (5 primary company, 3 contact) and through the v4
//! association endpoints on update. Lists page with `limit` (≤ 100) and
//! `after` = `paging.next.after` (no `paging` on the last page). Delete is
//! an archive answered 204.
//!
//! Two things the shared flow cannot say are done by [`HubspotCalls`], the
//! connection this glue gives the adapter: the get (and the read-back after
//! a write) must name the properties to return, which needs the custom
//! property names, so it reads the definitions itself; and a property list
//! too long for a URL is split: the `GET` names what fits, a batch read
//! (`POST .../batch/read`, names in the body) fetches the rest, merged in.
//! It also passes HubSpot's rate-limit headers on under the names the
//! unified error keeps.
//!
//! The deal list takes no filter or sort: the spec refuses every one.
//! Users are the owners (`GET /crm/v3/owners`, every page, active then
//! archived); stages carry their pipeline's id and label.

use crate::account::IntegratedAccount;
use crate::connector::{AfterWrite, OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::hubspot::{
    AccountConnection, AssociateDealToObjectType, AssociatedIds, AssociationInput,
    AssociationInputTo, AssociationType, AssociationTypeAssociationCategory, AssociationsItem,
    Deal, DealBatchRead, DealBatchReadInputsItem, DealCreate, DealCreateProperties, DealUpdate,
    DissociateDealToObjectType, GetDealParams, ListDealPropertiesParams, ListDealsParams,
    ListOwnersParams, Owner, OwnerPage, PipelineList, Property, PropertyList,
    ReadDealsBatchResponse, UnifiedMapping,
};
use crate::registry::{ClientSettings, Connect, ConnectError, Credentials, Provider};
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::mapping::{CustomFieldDefinition, ListQuery, MappingError, Pipeline, Stage, User};
use crm_runtime::paging::Pagination;
use crm_runtime::reexports::bytes::Bytes;
use crm_runtime::reexports::http::{HeaderMap, HeaderName, HeaderValue};
use crm_runtime::support::ResourceSupport;
use crm_runtime::unified::{CallResult, OpportunityCalls};
use crm_runtime::{Patch, ResponseValue};
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "hubspot";

/// The HubSpot-defined properties the mapping reads, asked for on every read.
pub const MAPPED_PROPERTIES: &[&str] = &[
    "dealname",
    "description",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "hubspot_owner_id",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hs_is_closed",
    "hs_is_closed_won",
];

/// The most the `properties` query value may take, in URL-encoded bytes.
/// HubSpot documents no limit, but proxies and servers commonly refuse
/// request lines over 8 KB; this leaves room for the path, the other
/// parameters and headers. Names past it are read by a batch read.
pub const MAX_PROPERTIES_QUERY: usize = 4_000;
/// HubSpot's largest batch read.
const MAX_BATCH: usize = 100;
/// HubSpot's largest page of owners.
const MAX_OWNERS_PAGE: i32 = 500;
/// At most this many pages of owners per walk (50,000): a provider that
/// kept handing out cursors would not loop forever.
const MAX_PAGES: usize = 100;
/// Association type ids HubSpot defines for deals.
const PRIMARY_COMPANY: i32 = 5;
const CONTACT: i32 = 3;

/// A custom deal property: what reading and writing its string value needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomProperty {
    /// The internal name: the key in `properties` and in unified `custom_fields`.
    pub name: String,
    /// `number`, `bool`, `date`, `datetime`, `enumeration`, `string`...
    pub kind: String,
    /// `checkbox` holds several option values joined by `;`.
    pub field_type: String,
    /// Option `value` and `label`.
    pub options: Vec<(String, String)>,
    /// Calculated or otherwise read-only: readable, never written.
    pub read_only: bool,
}

/// A deal stage with what the status fallback and writes need.
#[derive(Clone, Debug, PartialEq)]
pub struct DealStage {
    pub id: String,
    pub label: String,
    pub pipeline: String,
    /// The pipeline's label.
    pub pipeline_label: Option<String>,
    pub closed: bool,
    /// `0.0` to `1.0`.
    pub probability: Option<f64>,
    /// The stage as HubSpot listed it.
    pub remote_data: Value,
}

/// What mapping needs: the custom properties and the stages of every
/// pipeline; and the custom properties' definitions as listed.
#[derive(Debug, Default)]
pub struct Context {
    pub custom: Vec<CustomProperty>,
    pub stages: Vec<DealStage>,
    pub definitions: Vec<CustomFieldDefinition>,
}

impl Context {
    fn custom(&self, name: &str) -> Option<&CustomProperty> {
        self.custom.iter().find(|property| property.name == name)
    }

    fn stage(&self, id: &str) -> Option<&DealStage> {
        self.stages.iter().find(|stage| stage.id == id)
    }

    /// Every property a read names: the mapped ones, then the custom ones.
    pub fn read_properties(&self) -> Vec<String> {
        read_properties(self.custom.iter().map(|property| property.name.as_str()))
    }
}

fn read_properties<'a>(custom: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = MAPPED_PROPERTIES.iter().map(|name| (*name).to_owned()).collect();
    for name in custom {
        if !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    }
    names
}

fn is_custom(property: &Property) -> bool {
    property.hubspot_defined != Some(true)
}

fn custom_property(property: &Property) -> CustomProperty {
    CustomProperty {
        name: property.name.clone(),
        kind: property.type_.clone(),
        field_type: property.field_type.clone(),
        options: property
            .options
            .iter()
            .flatten()
            .map(|option| (option.value.clone(), option.label.clone()))
            .collect(),
        read_only: property.calculated == Some(true)
            || property
                .modification_metadata
                .as_ref()
                .and_then(|metadata| metadata.read_only_value)
                == Some(true),
    }
}

/// Splits the property names into those that fit in the URL (in order: the
/// mapped ones come first) and the rest.
pub fn split_for_url(names: &[String]) -> (Vec<String>, Vec<String>) {
    let mut used = 0;
    let mut fits = Vec::new();
    let mut rest = Vec::new();
    for name in names {
        // A comma is `%2C` once encoded; names are `[a-z0-9_]`, but count
        // anything else as encoded too.
        let cost = name
            .bytes()
            .map(|byte| if byte.is_ascii_alphanumeric() || byte == b'_' { 1 } else { 3 })
            .sum::<usize>()
            + if fits.is_empty() { 0 } else { 3 };
        if rest.is_empty() && used + cost <= MAX_PROPERTIES_QUERY {
            used += cost;
            fits.push(name.clone());
        } else {
            rest.push(name.clone());
        }
    }
    (fits, rest)
}

/// The item's JSON as HubSpot sent it (every member is kept by the
/// generated type's extra properties).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

/// An owner's name: first and last name, whichever it has.
fn owner_name(owner: &Owner) -> Option<String> {
    let parts: Vec<&str> = [&owner.first_name, &owner.last_name]
        .into_iter()
        .filter_map(|part| part.as_deref().map(str::trim).filter(|part| !part.is_empty()))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// HubSpot's glue.
pub struct Hubspot;

/// The connection the adapter drives: the generated one, with the reads
/// that name their properties and the rate-limit headers translated.
#[derive(Clone, Debug)]
pub struct HubspotCalls {
    pub connection: AccountConnection,
}

type Generated = AccountConnection;

impl Connect for HubspotCalls {
    fn connect(
        credentials: &Credentials,
        base_url: Option<&str>,
        settings: ClientSettings,
    ) -> Result<Self, ConnectError> {
        Generated::connect(credentials, base_url, settings).map(|connection| HubspotCalls { connection })
    }
}

/// A generated call's error as the unified error (rate-limit headers
/// translated).
fn unified_error<E>(error: crm_runtime::Error<E>) -> UnifiedError {
    UnifiedError::from_client(Provider::Hubspot, failed(error))
}

/// A generated call's error, its typed body dropped and the rate-limit
/// headers translated.
fn failed<E>(error: crm_runtime::Error<E>) -> crm_runtime::Error<()> {
    let mut error = error.erase();
    if let crm_runtime::Error::Status(response) = &mut error {
        if response.status == 429 {
            translate_rate_limit(&mut response.headers, &response.raw_body);
        }
    }
    error
}

fn set_if_absent(headers: &mut HeaderMap, name: &'static str, value: Option<HeaderValue>) {
    if let Some(value) = value {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
}

/// HubSpot's `X-HubSpot-RateLimit-*` headers under the names the unified
/// error passes on (`x-ratelimit-limit`/`-remaining`), and a `Retry-After`
/// where HubSpot sends none: the burst window's length
/// (`X-HubSpot-RateLimit-Interval-Milliseconds`, rounded up to seconds), the
/// longest a rolling-window limit can last. A `DAILY` limit lasts until the
/// portal's midnight, which nothing in the answer gives: no wait is made up.
pub fn translate_rate_limit(headers: &mut HeaderMap, body: &str) {
    let header = |name: &str| headers.get(name).cloned();
    let max = header("x-hubspot-ratelimit-max");
    let remaining = header("x-hubspot-ratelimit-remaining");
    let interval = header("x-hubspot-ratelimit-interval-milliseconds");
    set_if_absent(headers, "x-ratelimit-limit", max);
    set_if_absent(headers, "x-ratelimit-remaining", remaining);
    let daily = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|body| body.get("policyName").and_then(Value::as_str).map(str::to_owned))
        .is_some_and(|policy| policy.eq_ignore_ascii_case("DAILY"));
    if !daily {
        let seconds = interval
            .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
            .filter(|millis| *millis > 0)
            .map(|millis| millis.div_ceil(1000))
            .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok());
        set_if_absent(headers, "retry-after", seconds);
    }
}

impl HubspotCalls {
    /// The deal records of a list page (`/results`) or of a get (the body).
    fn records_of(body: &mut Value, single: bool) -> Vec<&mut Value> {
        if single {
            vec![body]
        } else {
            body.get_mut("results")
                .and_then(Value::as_array_mut)
                .map(|records| records.iter_mut().collect())
                .unwrap_or_default()
        }
    }

    /// Reads the properties the `GET` could not name and merges them into
    /// the records it answered.
    async fn read_rest(
        &self,
        response: &mut ResponseValue<Value>,
        rest: &[String],
        single: bool,
    ) -> Result<(), crm_runtime::Error<()>> {
        if rest.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = Self::records_of(&mut response.body, single)
            .iter()
            .filter_map(|record| record.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        for chunk in ids.chunks(MAX_BATCH) {
            let body = DealBatchRead {
                inputs: chunk
                    .iter()
                    .map(|id| DealBatchReadInputsItem { id: id.clone() })
                    .collect(),
                properties: rest.to_vec(),
                properties_with_history: Vec::new(),
            };
            let batch = match self.connection.client.read_deals_batch(&body).await.map_err(failed)?.body {
                ReadDealsBatchResponse::Ok(batch) | ReadDealsBatchResponse::MultiStatus(batch) => batch,
            };
            for record in Self::records_of(&mut response.body, single) {
                let id = record.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let Some(read) = batch.results.iter().find(|deal| deal.id == id) else {
                    if chunk.contains(&id) {
                        tracing::warn!(provider = PROVIDER, deal = %id, "the batch read left a deal out; its further custom properties stay empty");
                    }
                    continue;
                };
                let Some(properties) = record.get_mut("properties").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (name, value) in &read.properties.additional_properties {
                    properties
                        .entry(name.clone())
                        .or_insert_with(|| value.clone().map_or(Value::Null, Value::String));
                }
            }
        }
        // The raw body is what the caller gets as `remote_data` in raw
        // mode: it must hold the merged records too.
        response.raw = Bytes::from(serde_json::to_vec(&response.body).unwrap_or_default());
        Ok(())
    }

    /// Every property name a read should ask for: the account's custom ones
    /// fetched now (the adapter's cached context does not reach a get).
    async fn all_properties(&self) -> Result<Vec<String>, crm_runtime::Error<()>> {
        let definitions = self
            .connection
            .client
            .list_deal_properties(&ListDealPropertiesParams::default())
            .await
            .map_err(failed)?;
        Ok(read_properties(
            definitions
                .body
                .results
                .iter()
                .filter(|property| is_custom(property))
                .map(|property| property.name.as_str()),
        ))
    }

    async fn get_with(&self, id: &str, properties: &[String]) -> CallResult {
        let (fits, rest) = split_for_url(properties);
        let params = GetDealParams {
            properties: Some(fits),
            associations: Some(vec![AssociationsItem::Companies, AssociationsItem::Contacts]),
            archived: None,
        };
        let mut response = self.connection.client.get_deal_json(id, &params).await.map_err(failed)?;
        self.read_rest(&mut response, &rest, true).await?;
        Ok(response)
    }
}

impl OpportunityCalls for HubspotCalls {
    type ListInput = ListDealsParams;
    type Record = Deal;
    type Create = DealCreate;
    type Update = DealUpdate;
    type Id = String;

    const PROVIDER: &'static str = PROVIDER;
    const PAGINATION: Pagination = <Generated as OpportunityCalls>::PAGINATION;
    const SUPPORT: ResourceSupport = <Generated as OpportunityCalls>::SUPPORT;
    const LOOKUPS: crm_runtime::support::LookupSupport = <Generated as OpportunityCalls>::LOOKUPS;
    const RECORD_ID: &'static str = <Generated as OpportunityCalls>::RECORD_ID;
    const RECORD: &'static str = <Generated as OpportunityCalls>::RECORD;
    const REMOTE_QUERY_IN_BODY: bool = <Generated as OpportunityCalls>::REMOTE_QUERY_IN_BODY;

    /// Deal ids are numeric strings; anything else names no deal.
    fn parse_id(id: &str) -> Option<String> {
        (!id.is_empty() && id.len() <= 32 && id.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| id.to_owned())
    }

    async fn list(&self, input: &ListDealsParams) -> CallResult {
        let (fits, rest) = split_for_url(input.properties.as_deref().unwrap_or_default());
        let input = ListDealsParams {
            properties: Some(fits),
            ..input.clone()
        };
        let mut response = self.connection.client.list_deals_json(&input).await.map_err(failed)?;
        self.read_rest(&mut response, &rest, false).await?;
        Ok(response)
    }

    async fn get(&self, id: &String) -> CallResult {
        let properties = self.all_properties().await?;
        self.get_with(id, &properties).await
    }

    async fn create(&self, body: &DealCreate) -> CallResult {
        self.connection.client.create_deal_json(body).await.map_err(failed)
    }

    /// An update that changes only associations sends no `PATCH` (HubSpot
    /// would answer a pointless one); `after_update` makes the calls and the
    /// deal is read back.
    async fn update(&self, id: &String, body: &DealUpdate) -> CallResult {
        if body.properties.is_empty() {
            return Ok(ResponseValue {
                status: 204,
                headers: HeaderMap::new(),
                body: Value::Null,
                raw: Bytes::new(),
            });
        }
        self.connection.client.update_deal_json(id, body).await.map_err(failed)
    }

    async fn delete(&self, id: &String) -> CallResult {
        self.connection.client.archive_deal_json(id).await.map_err(failed)
    }
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// A `closedate` (`2026-03-05T00:00:00Z`, `2019-12-07T16:50:06.678Z`, a bare
/// date or Unix milliseconds) as midnight UTC of its UTC date.
fn parse_close_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(midnight_utc(at.naive_utc().date()));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(midnight_utc(date));
    }
    text.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map(|at| midnight_utc(at.date_naive()))
}

/// `closedate` is a datetime property: the date at midnight UTC.
fn format_close_date(at: &DateTime<FixedOffset>) -> String {
    format!("{}T00:00:00.000Z", at.date_naive().format("%Y-%m-%d"))
}

/// A number as HubSpot's decimal string: no exponent, no separators
/// (Rust's `Display` for `f64` never uses an exponent).
fn decimal(field: &str, number: f64) -> Result<String, MappingError> {
    if !number.is_finite() {
        return Err(MappingError::new(PROVIDER, field, number, "is not a finite number"));
    }
    Ok(number.to_string())
}

/// A number property's string as a number; `""`/`null` are no value.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.parse().ok()).flatten()
}

fn is_true(value: &Option<String>) -> Option<bool> {
    match value.as_deref().map(str::trim) {
        Some(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Some(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn status(deal: &Deal, context: &Context) -> Option<unified::UnifiedOpportunityStatus> {
    use unified::UnifiedOpportunityStatus as Status;
    if deal.archived == Some(true) {
        // In the recycling bin: outside the unified set, kept as HubSpot says it.
        return Some(Status::Unknown("archived".into()));
    }
    let properties = &deal.properties;
    match (is_true(&properties.hs_is_closed_won), is_true(&properties.hs_is_closed)) {
        (Some(true), _) => Some(Status::Won),
        (_, Some(true)) => Some(Status::Lost),
        (Some(false), _) | (_, Some(false)) => Some(Status::Open),
        // Old portals without the calculated properties: the stage says.
        (None, None) => {
            let stage = context.stage(properties.dealstage.as_deref()?)?;
            Some(match (stage.closed, stage.probability) {
                (false, _) => Status::Open,
                (true, Some(probability)) if probability >= 1.0 => Status::Won,
                (true, _) => Status::Lost,
            })
        }
    }
}

/// The ids of one association type, de-duplicated, in order.
fn associated(deal: &Deal, kind: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for entry in deal
        .associations
        .as_ref()
        .and_then(|associations| associations.get(kind))
        .map(|ids: &AssociatedIds| ids.results.as_slice())
        .unwrap_or_default()
    {
        if !ids.contains(&entry.id) {
            ids.push(entry.id.clone());
        }
    }
    ids
}

/// The deal's company: the primary one (`deal_to_company`), else the first.
fn primary_company(deal: &Deal) -> Option<String> {
    let companies = deal.associations.as_ref()?.get("companies")?;
    companies
        .results
        .iter()
        .find(|entry| entry.type_ == "deal_to_company")
        .or_else(|| companies.results.first())
        .map(|entry| entry.id.clone())
}

/// A stored custom value as the unified value.
fn custom_to_unified(property: &CustomProperty, text: &str, deal: &str) -> Value {
    let label = |value: &str| {
        property
            .options
            .iter()
            .find(|(option, _)| option == value)
            .map(|(_, label)| Value::String(label.clone()))
            .unwrap_or_else(|| {
                tracing::warn!(provider = PROVIDER, deal, field = %property.name, "a custom property holds a value none of its options has; it is kept as is");
                Value::String(value.to_owned())
            })
    };
    match property.kind.as_str() {
        _ if text.is_empty() => Value::Null,
        "number" => parse_number(text)
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
        "bool" => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.to_owned()),
        },
        "enumeration" if property.field_type == "checkbox" => {
            Value::Array(text.split(';').filter(|value| !value.is_empty()).map(label).collect())
        }
        "enumeration" => label(text),
        _ => Value::String(text.to_owned()),
    }
}

/// A unified custom value as HubSpot's string (`""` clears).
fn custom_to_hubspot(property: &CustomProperty, value: &Value) -> Result<String, MappingError> {
    let field = format!("custom_fields.{}", property.name);
    if property.read_only {
        return Err(MappingError::new(PROVIDER, field, value, "this HubSpot property is read-only"));
    }
    let option = |label: &Value| -> Result<String, MappingError> {
        let wanted = match label {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        property
            .options
            .iter()
            .find(|(value, name)| *name == wanted || *value == wanted)
            .map(|(value, _)| value.clone())
            .ok_or_else(|| MappingError::unknown_name(PROVIDER, field.clone(), label, "is not an option of this property"))
    };
    match (property.kind.as_str(), value) {
        (_, Value::Null) => Ok(String::new()),
        ("enumeration", Value::Array(labels)) if property.field_type == "checkbox" => Ok(labels
            .iter()
            .map(option)
            .collect::<Result<Vec<_>, _>>()?
            .join(";")),
        ("enumeration", label) => option(label),
        (_, Value::Number(number)) => decimal(&field, number.as_f64().unwrap_or(f64::NAN)),
        (_, Value::Bool(flag)) => Ok(flag.to_string()),
        (_, Value::String(text)) => Ok(text.clone()),
        (_, other) => Err(MappingError::new(PROVIDER, field, other, "HubSpot stores strings, numbers, booleans and options")),
    }
}

fn custom_properties(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, String>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            let property = context.custom(name).ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    format!("custom_fields.{name}"),
                    value,
                    "no custom deal property has this internal name",
                )
            })?;
            Ok((property.name.clone(), custom_to_hubspot(property, value)?))
        })
        .collect()
}

/// `dealstage` and the `pipeline` holding it (a stage of another pipeline
/// than the one sent is a 400, so both are always sent).
fn stage_properties(
    stage: &unified::OpportunityStage,
    context: &Context,
) -> Result<(String, String), MappingError> {
    let found = match (&stage.id, &stage.name) {
        (Some(id), _) => context.stage(id),
        (None, Some(name)) => {
            let mut named = context.stages.iter().filter(|stage| &stage.label == name);
            match (named.next(), named.next()) {
                (Some(_), Some(_)) => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "stage.name",
                        name,
                        "several pipelines have a stage of this name: give the stage id",
                    ));
                }
                (only, _) => only,
            }
        }
        (None, None) => {
            return Err(MappingError::new(PROVIDER, "stage", "{}", "give the stage id (or a stage name)"));
        }
    };
    found
        .map(|stage| (stage.id.clone(), stage.pipeline.clone()))
        .ok_or_else(|| {
            MappingError::unknown_name(
                PROVIDER,
                "stage",
                stage.id.as_deref().or(stage.name.as_deref()).unwrap_or_default(),
                "no deal stage of this account has this id",
            )
        })
}

fn association(id: &str, type_id: i32) -> AssociationInput {
    AssociationInput {
        to: AssociationInputTo { id: id.to_owned() },
        types: vec![hubspot_defined(type_id)],
    }
}

fn hubspot_defined(type_id: i32) -> AssociationType {
    AssociationType {
        association_category: AssociationTypeAssociationCategory::HubspotDefined,
        association_type_id: type_id,
    }
}

/// A record id HubSpot's association paths take: digits.
fn record_id(field: &str, id: &str) -> Result<String, MappingError> {
    HubspotCalls::parse_id(id)
        .ok_or_else(|| MappingError::new(PROVIDER, field, id, "HubSpot record ids are numeric"))
}

impl OpportunityMapping for Hubspot {
    type Calls = HubspotCalls;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.definitions.clone()
    }

    fn stages(context: &Context) -> Vec<Stage> {
        context
            .stages
            .iter()
            .map(|stage| Stage {
                id: stage.id.clone(),
                name: stage.label.clone(),
                pipeline: Some(Pipeline {
                    id: stage.pipeline.clone(),
                    name: stage.pipeline_label.clone(),
                }),
                remote_data: stage.remote_data.clone(),
            })
            .collect()
    }

    /// `GET /crm/v3/owners`, every page (`after` = `paging.next.after`
    /// until a page has no `paging`, an empty page or `MAX_PAGES`): first
    /// the active owners, then the archived ones (`archived=true`), whose
    /// ids old deals still hold.
    async fn users(calls: &HubspotCalls, _account: &IntegratedAccount) -> Result<Vec<User>, UnifiedError> {
        let client = &calls.connection.client;
        let mut users = Vec::new();
        for archived in [false, true] {
            let mut after = None;
            for _ in 0..MAX_PAGES {
                let params = ListOwnersParams {
                    limit: Some(MAX_OWNERS_PAGE),
                    after: after.take(),
                    email: None,
                    archived: archived.then_some(true),
                };
                let page = client.list_owners(&params).await.map_err(unified_error)?.body;
                users.extend(Hubspot.users_list(&page)?);
                after = page
                    .paging
                    .and_then(|paging| paging.next)
                    .map(|next| next.after)
                    .filter(|after| !after.is_empty() && !page.results.is_empty());
                if after.is_none() {
                    break;
                }
            }
        }
        Ok(users)
    }

    async fn context(calls: &HubspotCalls, _account: &IntegratedAccount) -> Result<Context, UnifiedError> {
        let client = &calls.connection.client;
        let properties = client
            .list_deal_properties(&ListDealPropertiesParams::default())
            .await
            .map_err(unified_error)?;
        let pipelines = client.list_deal_pipelines().await.map_err(unified_error)?;
        Ok(Context {
            custom: properties
                .body
                .results
                .iter()
                .filter(|property| is_custom(property))
                .map(custom_property)
                .collect(),
            definitions: Hubspot.custom_fields_list(&properties.body)?,
            stages: pipelines
                .body
                .results
                .iter()
                .flat_map(|pipeline| {
                    pipeline.stages.iter().map(|stage| DealStage {
                        id: stage.id.clone(),
                        label: stage.label.clone(),
                        pipeline: pipeline.id.clone(),
                        pipeline_label: Some(pipeline.label.clone()),
                        closed: stage.metadata.is_closed.as_ref().is_some_and(|closed| closed.as_str() == "true"),
                        probability: stage
                            .metadata
                            .probability
                            .as_deref()
                            .and_then(|probability| probability.parse().ok()),
                        remote_data: remote(stage),
                    })
                })
                .collect(),
        })
    }

    /// No filter reaches here: HubSpot's deal list takes none (the spec
    /// declares every one unsupported, so the adapter refuses them).
    fn list_input(_query: &ListQuery, context: &Context) -> Result<ListDealsParams, MappingError> {
        Ok(ListDealsParams {
            properties: Some(context.read_properties()),
            associations: Some(vec![AssociationsItem::Companies, AssociationsItem::Contacts]),
            ..ListDealsParams::default()
        })
    }

    fn to_unified(deal: &Deal, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let properties = &deal.properties;
        let text = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        let amount = properties.amount.as_deref().and_then(|text| {
            let number = parse_number(text);
            if number.is_none() && !text.trim().is_empty() {
                tracing::warn!(provider = PROVIDER, deal = %deal.id, field = "amount", "an amount that is not a number is left empty");
            }
            number
        });
        let custom_fields = context
            .custom
            .iter()
            .filter_map(|property| {
                let value = properties.additional_properties.get(&property.name)?;
                Some((
                    property.name.clone(),
                    value
                        .as_deref()
                        .map_or(Value::Null, |text| custom_to_unified(property, text, &deal.id)),
                ))
            })
            .collect();
        let contacts = associated(deal, "contacts");
        Ok(unified::Opportunity {
            name: text(&properties.dealname),
            description: text(&properties.description),
            amount,
            currency: text(&properties.deal_currency_code),
            owner: text(&properties.hubspot_owner_id).map(|id| unified::OpportunityOwner { id }),
            account: primary_company(deal).map(|id| unified::OpportunityAccount { id }),
            contact: (!contacts.is_empty()).then(|| {
                contacts
                    .into_iter()
                    .map(|id| unified::OpportunityContact { id })
                    .collect()
            }),
            stage: text(&properties.dealstage).map(|id| unified::OpportunityStage {
                name: context.stage(&id).map(|stage| stage.label.clone()),
                id: Some(id),
            }),
            status: status(deal, context),
            custom_fields: Some(custom_fields),
            close_date: properties.closedate.as_deref().and_then(parse_close_date),
            created_at: Some(deal.created_at),
            updated_at: Some(deal.updated_at),
            ..empty_opportunity(deal.id.clone())
        })
    }

    fn to_create(body: &unified::OpportunityCreate, context: &Context) -> Result<DealCreate, MappingError> {
        let (dealstage, pipeline) = match &body.stage {
            Some(stage) => {
                let (stage, pipeline) = stage_properties(stage, context)?;
                (Some(stage), Some(pipeline))
            }
            None => (None, None),
        };
        let mut associations = Vec::new();
        if let Some(account) = &body.account {
            associations.push(association(&record_id("account.id", &account.id)?, PRIMARY_COMPANY));
        }
        for contact in body.contact.iter().flatten() {
            associations.push(association(&record_id("contact.id", &contact.id)?, CONTACT));
        }
        Ok(DealCreate {
            properties: DealCreateProperties {
                dealname: body.name.clone(),
                description: body.description.clone(),
                amount: body.amount.map(|amount| decimal("amount", amount)).transpose()?,
                deal_currency_code: body.currency.clone(),
                dealstage,
                pipeline,
                hubspot_owner_id: body.owner.as_ref().map(|owner| owner.id.clone()),
                closedate: body.close_date.as_ref().map(format_close_date),
                additional_properties: body
                    .custom_fields
                    .as_ref()
                    .map(|fields| custom_properties(fields, context))
                    .transpose()?
                    .unwrap_or_default(),
            },
            associations: (!associations.is_empty()).then_some(associations),
        })
    }

    fn to_update(body: &unified::OpportunityUpdate, context: &Context) -> Result<DealUpdate, MappingError> {
        let mut properties = BTreeMap::new();
        // `""` is how HubSpot clears a property.
        let mut set = |name: &str, value: &Patch<String>| match value {
            Patch::Absent => {}
            Patch::Null => {
                properties.insert(name.to_owned(), String::new());
            }
            Patch::Value(text) => {
                properties.insert(name.to_owned(), text.clone());
            }
        };
        if body.name.is_null() {
            return Err(MappingError::new(PROVIDER, "name", "null", "a HubSpot deal always has a name"));
        }
        set("dealname", &body.name);
        set("description", &body.description);
        set(
            "amount",
            &match body.amount {
                Patch::Value(amount) => Patch::Value(decimal("amount", amount)?),
                Patch::Null => Patch::Null,
                Patch::Absent => Patch::Absent,
            },
        );
        set("deal_currency_code", &body.currency);
        set("hubspot_owner_id", &body.owner.clone().map(|owner| owner.id));
        set("closedate", &body.close_date.clone().map(|at| format_close_date(&at)));
        match &body.stage {
            Patch::Absent => {}
            Patch::Null => {
                return Err(MappingError::new(PROVIDER, "stage", "null", "a HubSpot deal is always in a stage"));
            }
            Patch::Value(stage) => {
                let (stage, pipeline) = stage_properties(stage, context)?;
                properties.insert("dealstage".into(), stage);
                properties.insert("pipeline".into(), pipeline);
            }
        }
        match &body.custom_fields {
            Patch::Absent => {}
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "custom_fields",
                    "null",
                    "set a custom field to null to clear it; the map itself cannot be null",
                ));
            }
            Patch::Value(fields) => properties.extend(custom_properties(fields, context)?),
        }
        // Checked here, before any call, so a bad id never half-applies an
        // update; `after_update` makes the association calls.
        if let Patch::Value(account) = &body.account {
            record_id("account.id", &account.id)?;
        }
        if let Patch::Value(contacts) = &body.contact {
            for contact in contacts {
                record_id("contact.id", &contact.id)?;
            }
        }
        Ok(DealUpdate { properties })
    }

    /// The create's answer has no associations and only some properties:
    /// the deal is read back.
    async fn after_create(
        _calls: &HubspotCalls,
        _id: &String,
        _body: &unified::OpportunityCreate,
        _context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        Ok(AfterWrite::Changed)
    }

    /// The account and contacts change through the v4 association
    /// endpoints: the current ones are read, the new ones `PUT` (company
    /// type 5, contact type 3), the dropped ones `DELETE`d. The update's
    /// answer is partial either way: the deal is read back.
    async fn after_update(
        calls: &HubspotCalls,
        id: &String,
        body: &unified::OpportunityUpdate,
        _context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        if body.account.is_absent() && body.contact.is_absent() {
            return Ok(AfterWrite::Changed);
        }
        let client = &calls.connection.client;
        let current = client
            .get_deal(
                id,
                &GetDealParams {
                    properties: Some(vec!["hs_object_id".into()]),
                    associations: Some(vec![AssociationsItem::Companies, AssociationsItem::Contacts]),
                    archived: None,
                },
            )
            .await
            .map_err(unified_error)?
            .body;
        let company = primary_company(&current);
        let wanted_company = match &body.account {
            Patch::Absent => company.clone(),
            Patch::Null => None,
            Patch::Value(account) => Some(account.id.clone()),
        };
        if wanted_company != company {
            if let Some(new) = &wanted_company {
                client
                    .associate_deal(id, &AssociateDealToObjectType::Companies, new, &vec![hubspot_defined(PRIMARY_COMPANY)])
                    .await
                    .map_err(unified_error)?;
            }
            if let Some(old) = &company {
                client
                    .dissociate_deal(id, &DissociateDealToObjectType::Companies, old)
                    .await
                    .map_err(unified_error)?;
            }
        }
        let contacts = associated(&current, "contacts");
        let wanted: Vec<String> = match &body.contact {
            Patch::Absent => contacts.clone(),
            Patch::Null => Vec::new(),
            Patch::Value(wanted) => wanted.iter().map(|contact| contact.id.clone()).collect(),
        };
        for new in wanted.iter().filter(|id| !contacts.contains(id)) {
            client
                .associate_deal(id, &AssociateDealToObjectType::Contacts, new, &vec![hubspot_defined(CONTACT)])
                .await
                .map_err(unified_error)?;
        }
        for dropped in contacts.iter().filter(|id| !wanted.contains(id)) {
            client
                .dissociate_deal(id, &DissociateDealToObjectType::Contacts, dropped)
                .await
                .map_err(unified_error)?;
        }
        Ok(AfterWrite::Changed)
    }
}

impl UnifiedMapping for Hubspot {
    /// The custom deal properties (no `hubspotDefined`), keyed by internal
    /// name, with their label; options as `(value, label)`; read-only when
    /// calculated or `readOnlyValue`. HubSpot properties are never required
    /// by the API (required fields are a form and pipeline setting).
    fn custom_fields_list(&self, response: &PropertyList) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .results
            .iter()
            .filter(|property| is_custom(property))
            .map(|property| {
                let custom = custom_property(property);
                CustomFieldDefinition {
                    id: property.name.clone(),
                    name: property.name.clone(),
                    label: Some(property.label.clone()).filter(|label| !label.is_empty()),
                    data_type: property.type_.clone(),
                    options: custom.options,
                    required: false,
                    read_only: custom.read_only,
                    remote_data: remote(property),
                }
            })
            .collect())
    }

    fn stages_list(&self, response: &PipelineList) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .results
            .iter()
            .flat_map(|pipeline| {
                pipeline.stages.iter().map(|stage| Stage {
                    id: stage.id.clone(),
                    name: stage.label.clone(),
                    pipeline: Some(Pipeline {
                        id: pipeline.id.clone(),
                        name: Some(pipeline.label.clone()),
                    }),
                    remote_data: remote(stage),
                })
            })
            .collect())
    }

    /// Owners by their owner id (what `hubspot_owner_id` holds), named by
    /// first and last name.
    fn users_list(&self, response: &OwnerPage) -> Result<Vec<User>, MappingError> {
        Ok(response
            .results
            .iter()
            .map(|owner| User {
                id: owner.id.clone(),
                name: owner_name(owner),
                email: owner.email.clone().filter(|email| !email.is_empty()),
                remote_data: remote(owner),
            })
            .collect())
    }
}
