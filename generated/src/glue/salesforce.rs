//! Salesforce: the org's own host (the account's `base_url`, required),
//! paths under `/services/data/v62.0/`, PascalCase field API names, string
//! ids. `StageName` is the stage (no stage id: its value is both the
//! unified id and name); the status is `IsClosed`/`IsWon`; `CloseDate` and
//! `LastActivityDate` are dates, `CreatedDate`/`LastModifiedDate`
//! date-times with `+0000` offsets; `Amount` in major units,
//! `CurrencyIsoCode` only in multi-currency orgs; `ContactId` the primary
//! contact (create only); custom fields are the `*__c` fields of the
//! describe, keyed by API name (multi-select picklists `"A;B"` as arrays).
//!
//! Lists are SOQL queries the list input writes whole: the fields the
//! describe shows the user, `ORDER BY Id`, paged by keyset
//! (`WHERE Id > '<last id>'`, `LIMIT <page size>`). Create answers
//! `{id, success, errors}` and update 204: both are read back. Errors are
//! a JSON array; the org's request limit answers 403
//! `REQUEST_LIMIT_EXCEEDED`, which [`Connection`] reports as the 429 it is.
//!
//! List filters are SOQL conditions joined with `AND` beside the keyset
//! (`LastModifiedDate >`, `CreatedDate >`, `IsClosed`/`IsWon`, `OwnerId`,
//! `AccountId`); sorts are refused by the spec (the keyset is on `Id`).
//! Users by SOQL on `User` (`/query/`, keyset on `Id`); stages are the
//! describe's `StageName` values.

use crate::account::IntegratedAccount;
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::salesforce::{
    AccountConnection, FieldDescribe, OpportunitiesListInput, Opportunity, OpportunityCreate,
    OpportunityUpdate, PicklistValues, SObjectDescribe, UnifiedMapping, UserQueryResult,
};
use crate::registry::{ClientSettings, Connect, ConnectError, Credentials, Provider};
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat};
use crm_runtime::mapping::{
    CustomFieldDefinition, ListFilters, ListQuery, MappingError, Stage, User,
};
use crm_runtime::paging::Position;
use crm_runtime::support::ResourceSupport;
use crm_runtime::unified::{CallResult, OpportunityCalls};
use crm_runtime::{DecodeError, Patch};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const PROVIDER: &str = "salesforce";
/// The error code of the org's API request limit (a 403).
const REQUEST_LIMIT_EXCEEDED: &str = "REQUEST_LIMIT_EXCEEDED";
/// The standard fields the mapping reads, selected when the describe
/// shows them to the user (selecting a hidden one fails the query).
const MAPPED_FIELDS: [&str; 15] = [
    "Id",
    "Name",
    "Description",
    "Amount",
    "CurrencyIsoCode",
    "StageName",
    "IsClosed",
    "IsWon",
    "OwnerId",
    "AccountId",
    "ContactId",
    "CloseDate",
    "CreatedDate",
    "LastModifiedDate",
    "LastActivityDate",
];
/// `Amount` is a currency(18,2) unless the describe says otherwise.
const DEFAULT_AMOUNT_SCALE: i32 = 2;
/// Users per query: one default batch, so a query answers in one batch.
const USERS_PAGE: usize = 2000;
/// At most this many pages of users (200,000): a server that kept
/// answering full pages would not loop forever.
const MAX_USER_PAGES: usize = 100;

/// What mapping needs, from the Opportunity describe.
#[derive(Debug, Default)]
pub struct Context {
    /// The `*__c` fields, by API name.
    pub custom_fields: Vec<CustomFieldDefinition>,
    /// Custom fields that cannot be set on create (formulas, roll-ups).
    pub not_createable: BTreeSet<String>,
    /// Custom fields that cannot be changed by an update.
    pub not_updateable: BTreeSet<String>,
    /// What a list selects: the mapped standard fields the user sees, then
    /// the custom fields.
    pub selected: Vec<String>,
    /// Whether the org has multiple currencies (`CurrencyIsoCode` exists).
    pub multi_currency: bool,
    /// Decimals `Amount` keeps.
    pub amount_scale: i32,
    /// `StageName` values that can be written, and those only old records
    /// carry.
    pub active_stages: Vec<String>,
    pub inactive_stages: Vec<String>,
    /// Every `StageName` value (active ones, then inactive ones), as the
    /// stages lookup lists them.
    pub stages: Vec<Stage>,
}

/// Salesforce's glue.
pub struct Salesforce;

/// The generated connection, with one correction to what Salesforce
/// answers: its API request limit is a 403 `REQUEST_LIMIT_EXCEEDED`, which
/// reaches the caller as the 429 it is. (The shared flow maps statuses as
/// they come; this is the only place that sees every call.)
pub struct Connection(pub AccountConnection);

/// A 403 whose error array names `REQUEST_LIMIT_EXCEEDED`, as a 429.
fn request_limit_as_429<E>(mut error: crm_runtime::Error<E>) -> crm_runtime::Error<E> {
    if let crm_runtime::Error::Status(response) = &mut error {
        if response.status == 403 && names_request_limit(&response.raw_body) {
            response.status = 429;
        }
    }
    error
}

fn names_request_limit(body: &str) -> bool {
    serde_json::from_str::<Vec<Value>>(body).is_ok_and(|errors| {
        errors
            .iter()
            .any(|error| error["errorCode"] == REQUEST_LIMIT_EXCEEDED)
    })
}

impl Connect for Connection {
    fn connect(
        credentials: &Credentials,
        base_url: Option<&str>,
        settings: ClientSettings,
    ) -> Result<Self, ConnectError> {
        AccountConnection::connect(credentials, base_url, settings).map(Connection)
    }
}

impl OpportunityCalls for Connection {
    type ListInput = <AccountConnection as OpportunityCalls>::ListInput;
    type Record = <AccountConnection as OpportunityCalls>::Record;
    type Create = <AccountConnection as OpportunityCalls>::Create;
    type Update = <AccountConnection as OpportunityCalls>::Update;
    type Id = <AccountConnection as OpportunityCalls>::Id;

    const PROVIDER: &'static str = AccountConnection::PROVIDER;
    const PAGINATION: crm_runtime::paging::Pagination = AccountConnection::PAGINATION;
    const SUPPORT: ResourceSupport = AccountConnection::SUPPORT;
    const LOOKUPS: crm_runtime::support::LookupSupport = AccountConnection::LOOKUPS;
    const RECORD_ID: &'static str = AccountConnection::RECORD_ID;
    const RECORD: &'static str = AccountConnection::RECORD;
    const REMOTE_QUERY_IN_BODY: bool = AccountConnection::REMOTE_QUERY_IN_BODY;

    /// Salesforce ids are 15 or 18 letters and digits; anything else is
    /// refused before a call.
    fn parse_id(id: &str) -> Option<String> {
        is_salesforce_id(id).then(|| id.to_owned())
    }

    /// A query whose `LIMIT` fits one batch answers `done: true`. A
    /// partial batch would pass for the last page (it is shorter than the
    /// size asked) and silently end the list: it is an error instead.
    async fn list(&self, input: &OpportunitiesListInput) -> CallResult {
        let response = self.0.list(input).await.map_err(request_limit_as_429)?;
        let partial = response.body["done"] == Value::Bool(false)
            && response.body["records"]
                .as_array()
                .is_some_and(|records| !records.is_empty());
        if partial {
            return Err(crm_runtime::Error::Decode(Box::new(DecodeError {
                status: response.status,
                headers: response.headers,
                body: String::from_utf8_lossy(&response.raw).into_owned(),
                message: "a partial batch (`done: false`) to a query whose LIMIT fits one batch; \
                          its page would end the list early"
                    .into(),
            })));
        }
        Ok(response)
    }

    async fn get(&self, id: &String) -> CallResult {
        self.0.get(id).await.map_err(request_limit_as_429)
    }

    async fn create(&self, body: &OpportunityCreate) -> CallResult {
        self.0.create(body).await.map_err(request_limit_as_429)
    }

    async fn update(&self, id: &String, body: &OpportunityUpdate) -> CallResult {
        self.0.update(id, body).await.map_err(request_limit_as_429)
    }

    async fn delete(&self, id: &String) -> CallResult {
        self.0.delete(id).await.map_err(request_limit_as_429)
    }
}

fn is_salesforce_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// An API name that can go into a SOQL field list as is.
fn is_api_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

fn status_of(record: &Opportunity) -> Option<unified::UnifiedOpportunityStatus> {
    match (record.is_closed?, record.is_won) {
        (false, _) => Some(unified::UnifiedOpportunityStatus::Open),
        (true, Some(true)) => Some(unified::UnifiedOpportunityStatus::Won),
        (true, Some(false)) => Some(unified::UnifiedOpportunityStatus::Lost),
        (true, None) => None,
    }
}

/// A custom field value as the unified API gives it.
fn unified_value(value: &Value, data_type: Option<&str>) -> Value {
    match (value, data_type) {
        // `"A;B"`: the selected values.
        (Value::String(text), Some("multipicklist")) => Value::Array(
            text.split(';')
                .filter(|part| !part.is_empty())
                .map(|part| Value::String(part.to_owned()))
                .collect(),
        ),
        // `2024-01-15T10:30:00.000+0000` as RFC 3339.
        (Value::String(text), Some("datetime")) => {
            DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                .map(|at| Value::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
                .unwrap_or_else(|_| value.clone())
        }
        _ => value.clone(),
    }
}

/// A unified custom field value as Salesforce takes it.
fn salesforce_value(field: &str, value: &Value, data_type: &str) -> Result<Value, MappingError> {
    match (value, data_type) {
        (Value::Array(parts), "multipicklist") => {
            let mut joined = Vec::with_capacity(parts.len());
            for part in parts {
                match part.as_str() {
                    Some(text) if !text.contains(';') => joined.push(text),
                    _ => {
                        return Err(MappingError::new(
                            PROVIDER,
                            field,
                            part,
                            "a multi-select picklist takes its values as strings without `;`",
                        ));
                    }
                }
            }
            Ok(Value::String(joined.join(";")))
        }
        _ => Ok(value.clone()),
    }
}

/// Unified custom fields (by API name) as body keys, each checked against
/// the describe: known, and writable by this operation.
fn custom_keys(
    fields: &BTreeMap<String, Value>,
    context: &Context,
    read_only: &BTreeSet<String>,
) -> Result<BTreeMap<String, Value>, MappingError> {
    let mut keys = BTreeMap::new();
    for (name, value) in fields {
        let field = format!("custom_fields.{name}");
        let definition = context
            .custom_fields
            .iter()
            .find(|definition| &definition.name == name)
            .ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    &field,
                    value,
                    "no custom field of Opportunity has this API name",
                )
            })?;
        if read_only.contains(name) {
            return Err(MappingError::new(
                PROVIDER,
                field,
                value,
                "Salesforce computes this field (or it cannot be set here): it is read-only",
            ));
        }
        let value = salesforce_value(&field, value, &definition.data_type)?;
        keys.insert(name.clone(), value);
    }
    Ok(keys)
}

/// An amount `Amount` keeps exactly.
fn amount(value: f64, context: &Context) -> Result<f64, MappingError> {
    let scaled = value * 10f64.powi(context.amount_scale);
    if !value.is_finite() || (scaled - scaled.round()).abs() > 1e-6 {
        return Err(MappingError::new(
            PROVIDER,
            "amount",
            value,
            format!(
                "Salesforce keeps amounts to {} decimals",
                context.amount_scale
            ),
        ));
    }
    Ok(value)
}

fn currency(code: &str, context: &Context) -> Result<String, MappingError> {
    if !context.multi_currency {
        return Err(MappingError::new(
            PROVIDER,
            "currency",
            code,
            "this Salesforce org has one currency (no `CurrencyIsoCode`)",
        ));
    }
    Ok(code.to_owned())
}

/// The `StageName` of a unified stage (its id, else its name), checked
/// against the org's values.
fn stage_name(
    stage: &unified::OpportunityStage,
    context: &Context,
) -> Result<String, MappingError> {
    let Some(name) = stage.id.as_ref().or(stage.name.as_ref()) else {
        return Err(MappingError::new(
            PROVIDER,
            "stage",
            "{}",
            "a stage needs its name",
        ));
    };
    if context.inactive_stages.contains(name) {
        return Err(MappingError::new(
            PROVIDER,
            "stage",
            name,
            "this stage is inactive: old records keep it, but it cannot be set",
        ));
    }
    // An org whose describe lists no stage values is not second-guessed.
    if !context.active_stages.is_empty() && !context.active_stages.contains(name) {
        return Err(MappingError::unknown_name(
            PROVIDER,
            "stage",
            name,
            "no stage of this org has this name",
        ));
    }
    Ok(name.clone())
}

fn single_contact(
    contacts: &[unified::OpportunityContact],
) -> Result<Option<String>, MappingError> {
    match contacts {
        [] => Ok(None),
        [only] => Ok(Some(only.id.clone())),
        more => Err(MappingError::new(
            PROVIDER,
            "contact",
            more.len(),
            "Salesforce sets one (primary) contact on create",
        )),
    }
}

fn required(field: &str) -> MappingError {
    MappingError::new(PROVIDER, field, "null", "Salesforce requires it")
}

/// The SOQL of one page: the selected fields, the filters' conditions and
/// the position after the last id seen (all joined with `AND`), `size`
/// records in `Id` order.
fn page_query(context: &Context, conditions: &[String], after: Option<&str>, size: u32) -> String {
    let mut query = format!("SELECT {} FROM Opportunity", context.selected.join(", "));
    let mut all: Vec<String> = conditions.to_vec();
    if let Some(after) = after {
        all.push(format!("Id > '{after}'"));
    }
    if !all.is_empty() {
        query.push_str(" WHERE ");
        query.push_str(&all.join(" AND "));
    }
    query.push_str(&format!(" ORDER BY Id LIMIT {size}"));
    query
}

/// An instant as a SOQL dateTime literal (UTC, to the second: Salesforce
/// keeps whole seconds, so `> 10:30:00` is `> 10:30:00.250` too).
fn soql_datetime(at: &DateTime<FixedOffset>) -> String {
    at.with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A Salesforce id for a SOQL string literal: only letters and digits may
/// go in.
fn soql_id(field: &str, id: &str) -> Result<String, MappingError> {
    if is_salesforce_id(id) {
        Ok(format!("'{id}'"))
    } else {
        Err(MappingError::new(
            PROVIDER,
            field,
            id,
            "Salesforce ids are 15 or 18 letters and digits",
        ))
    }
}

/// The unified filters as SOQL conditions, to be joined with `AND`.
fn filter_conditions(filters: &ListFilters) -> Result<Vec<String>, MappingError> {
    let mut conditions = Vec::new();
    if let Some(at) = &filters.updated_after {
        conditions.push(format!("LastModifiedDate > {}", soql_datetime(at)));
    }
    if let Some(at) = &filters.created_after {
        conditions.push(format!("CreatedDate > {}", soql_datetime(at)));
    }
    if let Some(status) = &filters.status {
        conditions.push(
            match status.as_str() {
                "open" => "IsClosed = false",
                "won" => "IsWon = true",
                "lost" => "IsClosed = true AND IsWon = false",
                other => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "status",
                        other,
                        "Salesforce opportunities are open, won or lost (IsClosed, IsWon); none is abandoned",
                    ));
                }
            }
            .to_owned(),
        );
    }
    if let Some(owner) = &filters.owner_id {
        conditions.push(format!("OwnerId = {}", soql_id("owner_id", owner)?));
    }
    if let Some(account) = &filters.account_id {
        conditions.push(format!("AccountId = {}", soql_id("account_id", account)?));
    }
    Ok(conditions)
}

/// The SOQL of one page of users, keyset on `Id`.
fn users_query(after: Option<&str>) -> String {
    let mut query = String::from("SELECT Id, Name, Email, Username, IsActive, UserType FROM User");
    if let Some(after) = after {
        query.push_str(&format!(" WHERE Id > '{after}'"));
    }
    query.push_str(&format!(" ORDER BY Id LIMIT {USERS_PAGE}"));
    query
}

/// The item's JSON as Salesforce sent it (as far as its type keeps it).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

fn keep_or_refuse<T: Clone>(
    patch: &Patch<T>,
    field: &str,
    reason: &str,
) -> Result<Patch<T>, MappingError> {
    match patch {
        Patch::Null => Err(MappingError::new(PROVIDER, field, "null", reason)),
        other => Ok(other.clone()),
    }
}

impl OpportunityMapping for Salesforce {
    type Calls = Connection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    /// The `StageName` values (Salesforce has no pipelines: a stage is a
    /// picklist value, its id and name).
    fn stages(context: &Context) -> Vec<Stage> {
        context.stages.clone()
    }

    /// SOQL on `User` (`GET /query/?q=...`), keyset on `Id` like the
    /// opportunity list: pages of 2000 until an empty one, or one that is
    /// `done` and short, at most `MAX_USER_PAGES`.
    async fn users(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let mut users: Vec<User> = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_USER_PAGES {
            let page = calls
                .0
                .client
                .query_users(&users_query(after.as_deref()))
                .await
                .map_err(|error| {
                    UnifiedError::from_client(Provider::Salesforce, request_limit_as_429(error))
                })?
                .body;
            let last = page.records.last().map(|user| user.id.clone());
            let short = page.records.len() < USERS_PAGE;
            users.extend(Salesforce.users_list(&page)?);
            match last {
                // An id that cannot go into SOQL, or the same position
                // again, ends the walk rather than looping.
                Some(last)
                    if !(page.done && short)
                        && is_salesforce_id(&last)
                        && after.as_deref() != Some(last.as_str()) =>
                {
                    after = Some(last);
                }
                _ => break,
            }
        }
        Ok(users)
    }

    /// The Opportunity describe: custom fields, the fields the user sees,
    /// currencies, the `Amount` scale, the stage values.
    async fn context(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let describe = calls
            .0
            .client
            .describe_opportunity(&Default::default())
            .await
            .map_err(|error| {
                UnifiedError::from_client(Provider::Salesforce, request_limit_as_429(error))
            })?
            .body;
        let field = |name: &str| describe.fields.iter().find(|field| field.name == name);
        let custom =
            |field: &&FieldDescribe| field.custom == Some(true) && is_api_name(&field.name);
        let names_where = |keep: fn(&FieldDescribe) -> bool| -> BTreeSet<String> {
            describe
                .fields
                .iter()
                .filter(custom)
                .filter(|field| keep(field))
                .map(|field| field.name.clone())
                .collect()
        };
        let mut selected: Vec<String> = MAPPED_FIELDS
            .iter()
            .filter(|name| field(name).is_some())
            .map(|name| (*name).to_owned())
            .collect();
        if !selected.iter().any(|name| name == "Id") {
            selected.insert(0, "Id".into());
        }
        selected.extend(
            describe
                .fields
                .iter()
                .filter(custom)
                .map(|field| field.name.clone()),
        );
        let stage_values = field("StageName")
            .and_then(|field| field.picklist_values.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let stages_where = |active: bool| {
            stage_values
                .iter()
                .filter(|value| value.active == active)
                .map(|value| value.value.clone())
                .collect()
        };
        let stages = [true, false]
            .into_iter()
            .flat_map(|active| stage_values.iter().filter(move |value| value.active == active))
            .map(|value| Stage {
                id: value.value.clone(),
                name: value.value.clone(),
                pipeline: None,
                remote_data: remote(value),
            })
            .collect();
        Ok(Context {
            custom_fields: Salesforce.custom_fields_list(&describe)?,
            not_createable: names_where(|field| field.createable != Some(true)),
            not_updateable: names_where(|field| field.updateable != Some(true)),
            multi_currency: field("CurrencyIsoCode").is_some(),
            amount_scale: field("Amount")
                .and_then(|field| field.scale)
                .and_then(|scale| i32::try_from(scale).ok())
                .unwrap_or(DEFAULT_AMOUNT_SCALE),
            active_stages: stages_where(true),
            inactive_stages: stages_where(false),
            stages,
            selected,
        })
    }

    /// The whole query: its size is the page size the shared flow asks
    /// (the caller's `limit` within the spec's `max_limit`), its start the
    /// id after which the previous page ended, the filters SOQL conditions
    /// beside it (all joined with `AND`). The order stays `Id`: the keyset
    /// needs it (a sort is refused by the spec).
    fn list_input(
        query: &ListQuery,
        context: &Context,
    ) -> Result<OpportunitiesListInput, MappingError> {
        let size = Connection::PAGINATION.limit(query.limit);
        let after = match &query.position {
            None => None,
            // The id goes into SOQL: only a Salesforce id may.
            Some(Position::After(id)) if is_salesforce_id(id) => Some(id.as_str()),
            Some(other) => {
                return Err(MappingError::new(
                    PROVIDER,
                    "next_cursor",
                    format!("{other:?}"),
                    "is not a position in a Salesforce list",
                ));
            }
        };
        let conditions = filter_conditions(&query.filters)?;
        Ok(OpportunitiesListInput {
            q: page_query(context, &conditions, after, size),
            ..OpportunitiesListInput::default()
        })
    }

    fn to_unified(
        record: &Opportunity,
        context: &Context,
    ) -> Result<unified::Opportunity, MappingError> {
        let id = record
            .id
            .clone()
            .ok_or_else(|| MappingError::new(PROVIDER, "Id", "null", "a record without its id"))?;
        let custom_fields = record
            .additional_properties
            .iter()
            .filter(|(name, _)| name.ends_with("__c"))
            .map(|(name, value)| {
                let data_type = context
                    .custom_fields
                    .iter()
                    .find(|definition| &definition.name == name)
                    .map(|definition| definition.data_type.as_str());
                (name.clone(), unified_value(value, data_type))
            })
            .collect();
        Ok(unified::Opportunity {
            name: record.name.clone(),
            description: record.description.clone(),
            amount: record.amount,
            currency: record.currency_iso_code.clone(),
            owner: record
                .owner_id
                .clone()
                .map(|id| unified::OpportunityOwner { id }),
            account: record
                .account_id
                .clone()
                .map(|id| unified::OpportunityAccount { id }),
            contact: record
                .contact_id
                .clone()
                .map(|id| vec![unified::OpportunityContact { id }]),
            stage: record
                .stage_name
                .clone()
                .map(|name| unified::OpportunityStage {
                    id: Some(name.clone()),
                    name: Some(name),
                }),
            status: status_of(record),
            custom_fields: Some(custom_fields),
            last_activity_at: record.last_activity_date.map(midnight_utc),
            close_date: record.close_date.map(midnight_utc),
            created_at: record.created_date,
            updated_at: record.last_modified_date,
            ..empty_opportunity(id)
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let stage = body.stage.as_ref().ok_or_else(|| required("stage"))?;
        Ok(OpportunityCreate {
            name: body.name.clone().ok_or_else(|| required("name"))?,
            description: body.description.clone(),
            stage_name: stage_name(stage, context)?,
            close_date: body
                .close_date
                .ok_or_else(|| required("close_date"))?
                .date_naive(),
            amount: body
                .amount
                .map(|value| amount(value, context))
                .transpose()?,
            currency_iso_code: body
                .currency
                .as_deref()
                .map(|code| currency(code, context))
                .transpose()?,
            owner_id: body.owner.as_ref().map(|owner| owner.id.clone()),
            account_id: body.account.as_ref().map(|account| account.id.clone()),
            contact_id: single_contact(body.contact.as_deref().unwrap_or_default())?,
            probability: None,
            type_: None,
            next_step: None,
            lead_source: None,
            campaign_id: None,
            pricebook2_id: None,
            forecast_category_name: None,
            is_private: None,
            total_opportunity_quantity: None,
            additional_properties: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_keys(fields, context, &context.not_createable))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdate, MappingError> {
        let additional_properties = match &body.custom_fields {
            Patch::Absent => BTreeMap::new(),
            Patch::Value(fields) => custom_keys(fields, context, &context.not_updateable)?,
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "custom_fields",
                    "null",
                    "set a custom field to null to clear it; the map itself cannot be null",
                ));
            }
        };
        let stage_name = match &body.stage {
            Patch::Value(stage) => Patch::Value(stage_name(stage, context)?),
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "stage",
                    "null",
                    "every Salesforce opportunity has a stage",
                ));
            }
            Patch::Absent => Patch::Absent,
        };
        let amount = match &body.amount {
            Patch::Value(value) => Patch::Value(amount(*value, context)?),
            other => other.clone(),
        };
        let currency_iso_code = match &body.currency {
            Patch::Value(code) => Patch::Value(currency(code, context)?),
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "currency",
                    "null",
                    "every amount of a multi-currency org has a currency",
                ));
            }
            Patch::Absent => Patch::Absent,
        };
        Ok(OpportunityUpdate {
            name: keep_or_refuse(
                &body.name,
                "name",
                "every Salesforce opportunity has a name",
            )?,
            description: body.description.clone(),
            stage_name,
            close_date: keep_or_refuse(
                &body.close_date,
                "close_date",
                "every Salesforce opportunity has a close date",
            )?
            .map(|at| at.date_naive()),
            amount,
            currency_iso_code,
            owner_id: keep_or_refuse(
                &body.owner,
                "owner",
                "every Salesforce opportunity has an owner",
            )?
            .map(|owner| owner.id),
            account_id: body.account.clone().map(|account| account.id),
            additional_properties,
            ..OpportunityUpdate::default()
        })
    }
}

impl UnifiedMapping for Salesforce {
    /// The `custom: true` fields of the describe, by API name, with their
    /// label; required when the org refuses a record without it (not
    /// nillable, createable, no default on create), read-only when it can
    /// be neither created nor updated (formulas, roll-ups).
    fn custom_fields_list(
        &self,
        response: &SObjectDescribe,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .fields
            .iter()
            .filter(|field| field.custom == Some(true))
            .map(|field| {
                let createable = field.createable == Some(true);
                let updateable = field.updateable == Some(true);
                CustomFieldDefinition {
                    // Salesforce addresses custom fields by API name only.
                    id: field.name.clone(),
                    name: field.name.clone(),
                    label: field.label.clone(),
                    data_type: field.type_.clone(),
                    options: field
                        .picklist_values
                        .iter()
                        .flatten()
                        .map(|option| {
                            let label = option.label.clone().unwrap_or_else(|| option.value.clone());
                            (option.value.clone(), label)
                        })
                        .collect(),
                    required: createable
                        && field.nillable == Some(false)
                        && field.defaulted_on_create != Some(true),
                    read_only: field.calculated == Some(true) || (!createable && !updateable),
                    remote_data: remote(field),
                }
            })
            .collect())
    }

    fn stages_list(&self, response: &PicklistValues) -> Result<Vec<Stage>, MappingError> {
        // A stage has no id: its API value is both.
        Ok(response
            .values
            .iter()
            .map(|value| Stage {
                id: value.value.clone(),
                name: value.value.clone(),
                pipeline: None,
                remote_data: remote(value),
            })
            .collect())
    }

    fn users_list(&self, response: &UserQueryResult) -> Result<Vec<User>, MappingError> {
        Ok(response
            .records
            .iter()
            .map(|user| User {
                id: user.id.clone(),
                name: user.name.clone(),
                email: user.email.clone(),
                remote_data: remote(user),
            })
            .collect())
    }
}
