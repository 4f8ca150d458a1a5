//! Insightly (API v3.1): UPPER_SNAKE field names, integer ids,
//! `OPPORTUNITY_NAME` / `OPPORTUNITY_DETAILS`, `BID_AMOUNT` in whole units
//! of `BID_CURRENCY` (a fraction is refused, never rounded), the writable
//! `OPPORTUNITY_STATE` (`OPEN` when a create sets none; `SUSPENDED` is read
//! as `suspended`), `OWNER_USER_ID` the owner, `ORGANISATION_ID` the
//! account, contacts as `LINKS` to `Contact` records, `STAGE_ID` the stage
//! (a create sends its `PIPELINE_ID` too; an update moves it through
//! `/Opportunities/{id}/PipelineStage`, or `/Pipeline` into another
//! pipeline), dates as `yyyy-MM-dd HH:mm:ss` in UTC without offset, and
//! custom fields as `CUSTOMFIELDS[{FIELD_NAME, FIELD_VALUE}]` keyed by
//! their API name.
//!
//! `BID_AMOUNT` is the opportunity's value only for a fixed bid; for a
//! bid per hour, month... it is the rate and `OPPORTUNITY_VALUE` (read-only)
//! the total. The unified amount is the total: read from
//! `OPPORTUNITY_VALUE` for those, and written as `BID_AMOUNT` with
//! `BID_TYPE: "Fixed Bid"`.
//!
//! **The update is not the generated call.** Insightly updates with
//! `PUT /Opportunities`, the id in the body (`OPPORTUNITY_ID`); the
//! generator binds `opportunities.update` only to an operation with the id
//! in its path, so the spec binds it to `PUT /Opportunities/{id}/PipelineStage`
//! and [`Connection`] (this provider's `OpportunityCalls`) makes the real
//! call itself: `PUT /Opportunities` with `OPPORTUNITY_ID` set from the id.
//! The stage move and contact links follow in `after_update`.
//!
//! **The list is bound to the search.** `opportunities.list` is bound to
//! `GET /Opportunities/Search` (the filters: `updated_after_utc` and one
//! `field_name` = `field_value` condition), which pages like the plain
//! list; [`Connection`] sends a list without any condition to the plain
//! `GET /Opportunities` instead, so an unfiltered list is the call it
//! always was.

use crate::account::IntegratedAccount;
use crate::connector::{AfterWrite, OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::insightly::{
    AccountConnection, CustomFieldDefinition as InsightlyField, CustomFieldValue, Link,
    ListOpportunitiesParams, ListUsersParams, Opportunity, OpportunityCreate, OpportunityUpdate,
    PipelineChange, PipelineStage, PipelineStageChange, SearchOpportunitiesParams,
    UnifiedMapping, User as InsightlyUser,
};
use crate::registry::{ClientSettings, Connect, ConnectError, Credentials, Provider};
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use crm_runtime::mapping::{
    CustomFieldDefinition, ListFilters, ListQuery, MappingError, Pipeline, Stage, User,
};
use crm_runtime::paging::Pagination;
use crm_runtime::reexports::bytes::Bytes;
use crm_runtime::support::ResourceSupport;
use crm_runtime::unified::{CallResult, OpportunityCalls};
use crm_runtime::{Patch, ResponseValue};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const PROVIDER: &str = "insightly";
/// Insightly's date-time format: UTC, no `T`, no offset.
const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";
const FIXED_BID: &str = "Fixed Bid";
const CONTACT: &str = "Contact";
/// Insightly's largest page (`top`), for the users lookup.
const MAX_PAGE: i64 = 500;
/// The most pages of users read (100,000 users): the cap only ends a walk
/// whose pages never run short.
const MAX_USER_PAGES: usize = 200;

/// The account's connection: the generated one for list, get, create and
/// delete; the update made here (see the module doc); and a second
/// connection, without the caller's pass-through query and body, for the
/// glue's own calls.
pub struct Connection {
    calls: AccountConnection,
    own: AccountConnection,
}

impl Connect for Connection {
    fn connect(
        credentials: &Credentials,
        base_url: Option<&str>,
        settings: ClientSettings,
    ) -> Result<Self, ConnectError> {
        let own = ClientSettings {
            extra_query: Vec::new(),
            extra_body: serde_json::Map::new(),
            ..settings.clone()
        };
        Ok(Connection {
            calls: AccountConnection::connect(credentials, base_url, settings)?,
            own: AccountConnection::connect(credentials, base_url, own)?,
        })
    }
}

/// A typed answer as the unified layer wants it, JSON: taken from the
/// bytes received; an answer the typed body cannot hold (the call was
/// made) is passed on as JSON too, to be decoded leniently.
fn as_json<T, E>(answer: Result<ResponseValue<T>, crm_runtime::Error<E>>) -> CallResult {
    match answer {
        Ok(response) => Ok(ResponseValue {
            status: response.status,
            body: serde_json::from_slice(&response.raw).unwrap_or(Value::Null),
            headers: response.headers,
            raw: response.raw,
        }),
        Err(crm_runtime::Error::Decode(odd)) if (200..300).contains(&odd.status) => {
            Ok(ResponseValue {
                status: odd.status,
                body: serde_json::from_str(&odd.body).unwrap_or(Value::Null),
                headers: odd.headers,
                raw: Bytes::from(odd.body),
            })
        }
        Err(error) => Err(error.erase()),
    }
}

impl OpportunityCalls for Connection {
    /// The search's parameters; without a condition the plain list is
    /// called with their paging (see [`Connection::list`]).
    type ListInput = SearchOpportunitiesParams;
    type Record = Opportunity;
    type Create = OpportunityCreate;
    /// `PUT /Opportunities`'s body; its `OPPORTUNITY_ID` is set by
    /// [`Connection::update`] from the id.
    type Update = OpportunityUpdate;
    type Id = i64;

    const PROVIDER: &'static str = <AccountConnection as OpportunityCalls>::PROVIDER;
    const PAGINATION: Pagination = <AccountConnection as OpportunityCalls>::PAGINATION;
    const SUPPORT: ResourceSupport = <AccountConnection as OpportunityCalls>::SUPPORT;
    const LOOKUPS: crm_runtime::support::LookupSupport = <AccountConnection as OpportunityCalls>::LOOKUPS;
    const RECORD_ID: &'static str = <AccountConnection as OpportunityCalls>::RECORD_ID;
    const RECORD: &'static str = <AccountConnection as OpportunityCalls>::RECORD;
    const REMOTE_QUERY_IN_BODY: bool = <AccountConnection as OpportunityCalls>::REMOTE_QUERY_IN_BODY;

    fn parse_id(id: &str) -> Option<i64> {
        <AccountConnection as OpportunityCalls>::parse_id(id)
    }

    /// The search when the input has a condition, else the plain list
    /// with the same paging (`brief`, `skip`, `top`, `count_total`).
    async fn list(&self, input: &SearchOpportunitiesParams) -> CallResult {
        let searching = input.field_name.is_some()
            || input.field_value.is_some()
            || input.updated_after_utc.is_some();
        if searching {
            return self.calls.list(input).await;
        }
        let plain = ListOpportunitiesParams {
            brief: input.brief,
            skip: input.skip,
            top: input.top,
            count_total: input.count_total,
        };
        as_json(self.calls.client.list_opportunities(&plain).await)
    }

    async fn get(&self, id: &i64) -> CallResult {
        self.calls.get(id).await
    }

    async fn create(&self, body: &OpportunityCreate) -> CallResult {
        self.calls.create(body).await
    }

    /// `PUT /Opportunities` with `OPPORTUNITY_ID: id`. The generated
    /// method decodes the answer as a typed record; the unified layer
    /// wants it as JSON, so it is taken from the bytes received, and an
    /// answer the typed record cannot hold (the write was made) is
    /// passed on as JSON too, to be decoded leniently.
    async fn update(&self, id: &i64, body: &OpportunityUpdate) -> CallResult {
        let mut body = body.clone();
        body.opportunity_id = *id;
        as_json(self.calls.client.update_opportunity(&body).await)
    }

    async fn delete(&self, id: &i64) -> CallResult {
        self.calls.delete(id).await
    }
}

/// What mapping needs to know about the account.
#[derive(Debug, Default)]
pub struct Context {
    /// Every stage of every pipeline, with its pipeline.
    pub stages: Vec<PipelineStage>,
    /// Pipelines for projects only: their stages cannot take an
    /// opportunity.
    pub project_pipelines: BTreeSet<i64>,
    /// Every pipeline's name, by id.
    pub pipeline_names: BTreeMap<i64, String>,
    pub custom_fields: Vec<InsightlyField>,
}

impl Context {
    fn stage(&self, id: i64) -> Option<&PipelineStage> {
        self.stages.iter().find(|stage| stage.stage_id == id)
    }

    fn custom_field(&self, name: &str) -> Option<&InsightlyField> {
        self.custom_fields
            .iter()
            .find(|field| field.field_name == name)
    }
}

/// Insightly's glue.
pub struct Insightly;

fn insightly_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Insightly ids are integers"))
}

/// `2024-03-05 14:02:11` (UTC) as a date-time.
fn parse_date_time(field: &str, text: &str) -> Result<DateTime<FixedOffset>, MappingError> {
    NaiveDateTime::parse_from_str(text.trim(), DATE_TIME)
        .map(|at| at.and_utc().fixed_offset())
        .map_err(|_| {
            MappingError::new(PROVIDER, field, text, "is not a yyyy-MM-dd HH:mm:ss date-time")
        })
}

/// A date field (`2024-03-31 00:00:00`) as that day at midnight UTC.
fn parse_date(field: &str, text: &str) -> Result<DateTime<FixedOffset>, MappingError> {
    let at = parse_date_time(field, text)?;
    Ok(midnight_utc(at.date_naive()))
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// A date as Insightly stores one: that day at midnight.
fn format_date(date: NaiveDate) -> String {
    date.and_time(NaiveTime::MIN).format(DATE_TIME).to_string()
}

/// Whole units only: Insightly's amounts are integers.
fn whole_amount(amount: f64) -> Result<i64, MappingError> {
    if !amount.is_finite() || amount.fract() != 0.0 || amount.abs() > 9.0e15 {
        return Err(MappingError::new(
            PROVIDER,
            "amount",
            amount,
            "Insightly stores amounts in whole units of the currency",
        ));
    }
    Ok(amount as i64)
}

/// The total value: `BID_AMOUNT` for a fixed bid (or no bid type), else
/// the computed `OPPORTUNITY_VALUE` (`BID_AMOUNT` is then a rate).
fn amount_of(record: &Opportunity) -> Option<f64> {
    let per_period = record
        .bid_type
        .as_deref()
        .is_some_and(|kind| !kind.trim().eq_ignore_ascii_case(FIXED_BID));
    let amount = if per_period {
        record.opportunity_value.or(record.bid_amount)
    } else {
        record.bid_amount
    };
    amount.map(|amount| amount as f64)
}

fn status_to_unified(state: &str) -> unified::UnifiedOpportunityStatus {
    match state.trim().to_lowercase().as_str() {
        "open" => unified::UnifiedOpportunityStatus::Open,
        "won" => unified::UnifiedOpportunityStatus::Won,
        "lost" => unified::UnifiedOpportunityStatus::Lost,
        "abandoned" => unified::UnifiedOpportunityStatus::Abandoned,
        // `suspended`, and whatever Insightly adds: kept, lowercased.
        other => unified::UnifiedOpportunityStatus::Unknown(other.to_owned()),
    }
}

fn status_to_insightly(
    status: &unified::UnifiedOpportunityStatus,
) -> Result<String, MappingError> {
    Ok(match status {
        unified::UnifiedOpportunityStatus::Open => "OPEN",
        unified::UnifiedOpportunityStatus::Won => "WON",
        unified::UnifiedOpportunityStatus::Lost => "LOST",
        unified::UnifiedOpportunityStatus::Abandoned => "ABANDONED",
        unified::UnifiedOpportunityStatus::Unknown(other) => {
            return Err(MappingError::new(
                PROVIDER,
                "status",
                other,
                "is not open, won, lost or abandoned",
            ));
        }
    }
    .to_owned())
}

/// A stage the caller names, by id or else by name, among the stages of
/// opportunity pipelines.
fn stage_of<'c>(
    stage: &unified::OpportunityStage,
    context: &'c Context,
) -> Result<&'c PipelineStage, MappingError> {
    let usable = |stage: &&PipelineStage| !context.project_pipelines.contains(&stage.pipeline_id);
    let found = match (&stage.id, &stage.name) {
        (Some(id), _) => {
            let id = insightly_id("stage.id", id)?;
            context.stage(id).filter(usable)
        }
        (None, Some(name)) => {
            let mut named = context.stages.iter().filter(usable).filter(|stage| {
                stage
                    .stage_name
                    .as_deref()
                    .is_some_and(|known| known.eq_ignore_ascii_case(name))
            });
            match (named.next(), named.next()) {
                (Some(only), None) => Some(only),
                (Some(_), Some(_)) => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "stage.name",
                        name,
                        "several pipelines have a stage of this name; give the stage id",
                    ));
                }
                _ => None,
            }
        }
        (None, None) => {
            return Err(MappingError::new(
                PROVIDER,
                "stage",
                "{}",
                "give the stage's id or name",
            ));
        }
    };
    found.ok_or_else(|| {
        MappingError::unknown_name(
            PROVIDER,
            "stage",
            stage.id.as_deref().or(stage.name.as_deref()).unwrap_or(""),
            "is not a stage of the account's opportunity pipelines",
        )
    })
}

/// A custom field value as the unified API gives it: dates as ISO dates,
/// date-times in RFC 3339; other values as Insightly sends them.
fn custom_to_unified(field: Option<&InsightlyField>, value: &Value) -> Value {
    let kind = field
        .and_then(|field| field.field_type.as_deref())
        .map(str::to_ascii_uppercase);
    match (kind.as_deref(), value.as_str()) {
        (Some("DATE"), Some(text)) => NaiveDateTime::parse_from_str(text.trim(), DATE_TIME)
            .map(|at| Value::String(at.date().to_string()))
            .unwrap_or_else(|_| value.clone()),
        (Some("DATETIME"), Some(text)) => NaiveDateTime::parse_from_str(text.trim(), DATE_TIME)
            .map(|at| Value::String(at.and_utc().to_rfc3339()))
            .unwrap_or_else(|_| value.clone()),
        _ => value.clone(),
    }
}

/// A unified custom field value in Insightly's form: dates and date-times
/// as `yyyy-MM-dd HH:mm:ss` (UTC).
fn custom_to_insightly(
    name: &str,
    field: &InsightlyField,
    value: &Value,
) -> Result<Value, MappingError> {
    let kind = field.field_type.as_deref().map(str::to_ascii_uppercase);
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let wrong = |expected: &str| {
        MappingError::new(
            PROVIDER,
            format!("custom_fields.{name}"),
            text,
            format!("is not {expected}"),
        )
    };
    match kind.as_deref() {
        Some("DATE") => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .or_else(|_| DateTime::parse_from_rfc3339(text).map(|at| at.date_naive()))
            .map(|date| Value::String(format_date(date)))
            .map_err(|_| wrong("a date (YYYY-MM-DD)")),
        Some("DATETIME") => DateTime::parse_from_rfc3339(text)
            .map(|at| Value::String(at.naive_utc().format(DATE_TIME).to_string()))
            .map_err(|_| wrong("an RFC 3339 date-time")),
        _ => Ok(value.clone()),
    }
}

/// Unified custom fields as `CUSTOMFIELDS`; `null` clears a field.
fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<Vec<CustomFieldValue>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            let field = context.custom_field(name).ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    format!("custom_fields.{name}"),
                    value,
                    "no opportunity custom field has this name",
                )
            })?;
            Ok(CustomFieldValue {
                field_name: field.field_name.clone(),
                // `null` is sent as such (`Some(Null)`): it clears the field.
                field_value: Some(custom_to_insightly(name, field, value)?),
                additional_properties: BTreeMap::new(),
            })
        })
        .collect()
}

fn contact_ids(contacts: &[unified::OpportunityContact]) -> Result<Vec<i64>, MappingError> {
    contacts
        .iter()
        .map(|contact| insightly_id("contact.id", &contact.id))
        .collect()
}

fn contact_link(contact_id: i64) -> Link {
    Link {
        link_object_name: Some(CONTACT.into()),
        link_object_id: Some(contact_id),
        ..Link::default()
    }
}

fn is_contact(name: Option<&str>) -> bool {
    name.is_some_and(|name| name.eq_ignore_ascii_case(CONTACT))
}

fn patch<T, U>(
    value: &Patch<T>,
    convert: impl FnOnce(&T) -> Result<U, MappingError>,
) -> Result<Patch<U>, MappingError> {
    Ok(match value {
        Patch::Absent => Patch::Absent,
        Patch::Null => Patch::Null,
        Patch::Value(value) => Patch::Value(convert(value)?),
    })
}

/// The outcome of a call made for its effect (a stage move, a link): any
/// 2xx means it was made, whatever its body (the reference does not show
/// these answers, and the record is read back anyway).
fn made<T, E>(outcome: Result<T, crm_runtime::Error<E>>) -> Result<(), UnifiedError> {
    match outcome {
        Ok(_) => Ok(()),
        Err(crm_runtime::Error::Decode(odd)) if (200..300).contains(&odd.status) => Ok(()),
        Err(error) => Err(UnifiedError::from_client(Provider::Insightly, error)),
    }
}

fn not_clearable(field: &str, reason: &str) -> MappingError {
    MappingError::new(PROVIDER, field, "null", reason)
}

/// The one field condition of a search: `OPPORTUNITY_STATE`,
/// `OWNER_USER_ID` or `ORGANISATION_ID`, whichever filter is set. Two are
/// refused: Insightly's search takes one `field_name`.
fn field_condition(filters: &ListFilters) -> Result<Option<(&'static str, String)>, MappingError> {
    let mut conditions = Vec::new();
    if let Some(status) = filters.status.as_deref() {
        let state = match status {
            "open" => "OPEN",
            "won" => "WON",
            "lost" => "LOST",
            "abandoned" => "ABANDONED",
            other => {
                return Err(MappingError::new(
                    PROVIDER,
                    "status",
                    other,
                    "is not open, won, lost or abandoned",
                ));
            }
        };
        conditions.push(("status", "OPPORTUNITY_STATE", state.to_owned()));
    }
    if let Some(owner) = filters.owner_id.as_deref() {
        let id = insightly_id("owner_id", owner)?;
        conditions.push(("owner_id", "OWNER_USER_ID", id.to_string()));
    }
    if let Some(account) = filters.account_id.as_deref() {
        let id = insightly_id("account_id", account)?;
        conditions.push(("account_id", "ORGANISATION_ID", id.to_string()));
    }
    let mut conditions = conditions.into_iter();
    let first = conditions.next();
    if let (Some((used, _, _)), Some((filter, _, value))) = (&first, conditions.next()) {
        return Err(MappingError::new(
            PROVIDER,
            filter,
            value,
            format!(
                "Insightly's opportunity search takes one field condition, which `{used}` already uses: status, owner_id and account_id cannot be combined (updated_at[gt] goes with any one of them)"
            ),
        ));
    }
    Ok(first.map(|(_, field, value)| (field, value)))
}

/// A custom field definition as the unified one: named by `FIELD_NAME`
/// (the key in `CUSTOMFIELDS`), `FIELD_LABEL` the label people see.
fn field_definition(field: &InsightlyField) -> CustomFieldDefinition {
    CustomFieldDefinition {
        id: field.field_name.clone(),
        name: field.field_name.clone(),
        label: field.field_label.clone(),
        data_type: field.field_type.clone().unwrap_or_default(),
        options: field
            .custom_field_options
            .iter()
            .flatten()
            .filter_map(|option| Some((option.option_id?.to_string(), option.option_value.clone()?)))
            .collect(),
        // The definitions carry no "required" flag.
        required: false,
        // `EDITABLE: false`: a value the API does not let a write set
        // (auto-numbers, calculated fields).
        read_only: field.editable == Some(false),
        remote_data: serde_json::to_value(field).unwrap_or(Value::Null),
    }
}

/// A pipeline stage as the unified one (its pipeline added by the caller
/// that knows the pipelines' names).
fn stage_definition(stage: &PipelineStage) -> Stage {
    Stage {
        id: stage.stage_id.to_string(),
        name: stage.stage_name.clone().unwrap_or_default(),
        pipeline: Some(Pipeline {
            id: stage.pipeline_id.to_string(),
            name: None,
        }),
        remote_data: serde_json::to_value(stage).unwrap_or(Value::Null),
    }
}

/// A user: `FIRST_NAME LAST_NAME`, `EMAIL_ADDRESS`.
fn user_of(user: &InsightlyUser) -> User {
    let name = [&user.first_name, &user.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    User {
        id: user.user_id.to_string(),
        name: (!name.is_empty()).then_some(name),
        email: user.email_address.clone().filter(|email| !email.is_empty()),
        remote_data: serde_json::to_value(user).unwrap_or(Value::Null),
    }
}

impl OpportunityMapping for Insightly {
    type Calls = Connection;
    type Context = Context;

    /// The opportunity custom fields, named by `FIELD_NAME`.
    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.iter().map(field_definition).collect()
    }

    /// The stages of opportunity pipelines (those of project pipelines
    /// cannot take an opportunity), with their pipeline's id and name.
    fn stages(context: &Context) -> Vec<Stage> {
        context
            .stages
            .iter()
            .filter(|stage| !context.project_pipelines.contains(&stage.pipeline_id))
            .map(|stage| Stage {
                pipeline: Some(Pipeline {
                    id: stage.pipeline_id.to_string(),
                    name: context.pipeline_names.get(&stage.pipeline_id).cloned(),
                }),
                ..stage_definition(stage)
            })
            .collect()
    }

    /// Every page of `GET /Users` (`skip` / `top`, a short page is the
    /// last): the ids `OWNER_USER_ID` holds.
    async fn users(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Insightly, error);
        let mut users = Vec::new();
        for page in 0..MAX_USER_PAGES {
            let skip = i64::try_from(page).unwrap_or(i64::MAX).saturating_mul(MAX_PAGE);
            let params = ListUsersParams {
                skip: Some(skip),
                top: Some(MAX_PAGE),
                count_total: None,
            };
            let answer = calls.own.client.list_users(&params).await.map_err(failed)?;
            let count = answer.body.len();
            users.extend(Insightly.users_list(&answer.body)?);
            if i64::try_from(count).unwrap_or(i64::MAX) < MAX_PAGE {
                break;
            }
        }
        Ok(users)
    }

    /// The stages, the pipelines (to leave out project pipelines) and the
    /// opportunity custom fields.
    async fn context(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Insightly, error);
        let client = &calls.own.client;
        let stages = client.list_pipeline_stages().await.map_err(failed)?;
        let pipelines = client.list_pipelines().await.map_err(failed)?;
        let custom_fields = client
            .list_opportunity_custom_fields()
            .await
            .map_err(failed)?;
        Ok(Context {
            stages: stages.into_body(),
            project_pipelines: pipelines
                .body
                .iter()
                .filter(|pipeline| pipeline.for_opportunities == Some(false))
                .map(|pipeline| pipeline.pipeline_id)
                .collect(),
            pipeline_names: pipelines
                .body
                .iter()
                .filter_map(|pipeline| {
                    Some((pipeline.pipeline_id, pipeline.pipeline_name.clone()?))
                })
                .collect(),
            custom_fields: custom_fields.into_body(),
        })
    }

    /// The filters as the search's conditions, all applied together:
    /// `updated_after_utc`, and the one field condition (`status`,
    /// `owner_id` or `account_id`; two of them cannot be sent, and are
    /// refused naming the second). Never `brief=true`, which drops the
    /// custom fields and links.
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<SearchOpportunitiesParams, MappingError> {
        let filters = &query.filters;
        let (field_name, field_value) = match field_condition(filters)? {
            Some((name, value)) => (Some(name.to_owned()), Some(value)),
            None => (None, None),
        };
        Ok(SearchOpportunitiesParams {
            field_name,
            field_value,
            updated_after_utc: filters
                .updated_after
                .map(|at| at.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true)),
            ..SearchOpportunitiesParams::default()
        })
    }

    fn to_unified(
        record: &Opportunity,
        context: &Context,
    ) -> Result<unified::Opportunity, MappingError> {
        let date_time = |field: &str, text: &Option<String>| {
            text.as_deref()
                .map(|text| parse_date_time(field, text))
                .transpose()
        };
        Ok(unified::Opportunity {
            name: record.opportunity_name.clone(),
            description: record.opportunity_details.clone(),
            amount: amount_of(record),
            currency: record.bid_currency.clone(),
            owner: record
                .owner_user_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: record
                .organisation_id
                .map(|id| unified::OpportunityAccount { id: id.to_string() }),
            contact: record.links.as_ref().map(|links| {
                links
                    .iter()
                    .filter(|link| is_contact(link.link_object_name.as_deref()))
                    .filter_map(|link| link.link_object_id)
                    .map(|id| unified::OpportunityContact { id: id.to_string() })
                    .collect()
            }),
            stage: record.stage_id.map(|id| unified::OpportunityStage {
                id: Some(id.to_string()),
                name: context.stage(id).and_then(|stage| stage.stage_name.clone()),
            }),
            status: record.opportunity_state.as_deref().map(status_to_unified),
            custom_fields: record.customfields.as_ref().map(|fields| {
                fields
                    .iter()
                    .map(|field| {
                        let value = field.field_value.clone().unwrap_or(Value::Null);
                        let definition = context.custom_field(&field.field_name);
                        (
                            field.field_name.clone(),
                            custom_to_unified(definition, &value),
                        )
                    })
                    .collect()
            }),
            last_activity_at: date_time(
                "LAST_ACTIVITY_DATE_UTC",
                &record.last_activity_date_utc,
            )?,
            close_date: record
                .forecast_close_date
                .as_deref()
                .map(|text| parse_date("FORECAST_CLOSE_DATE", text))
                .transpose()?,
            created_at: date_time("DATE_CREATED_UTC", &record.date_created_utc)?,
            updated_at: date_time("DATE_UPDATED_UTC", &record.date_updated_utc)?,
            ..empty_opportunity(record.opportunity_id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let opportunity_name = body.name.clone().ok_or_else(|| {
            MappingError::new(PROVIDER, "name", "null", "Insightly requires a name")
        })?;
        let stage = body
            .stage
            .as_ref()
            .map(|stage| stage_of(stage, context))
            .transpose()?;
        let bid_amount = body.amount.map(whole_amount).transpose()?;
        Ok(OpportunityCreate {
            opportunity_name,
            opportunity_details: body.description.clone(),
            // Insightly needs a state; a new opportunity is open.
            opportunity_state: Some(match &body.status {
                Some(status) => status_to_insightly(status)?,
                None => "OPEN".to_owned(),
            }),
            bid_currency: body.currency.clone(),
            bid_amount,
            bid_type: bid_amount.map(|_| FIXED_BID.to_owned()),
            bid_duration: None,
            probability: None,
            forecast_close_date: body.close_date.map(|at| format_date(at.date_naive())),
            owner_user_id: body
                .owner
                .as_ref()
                .map(|owner| insightly_id("owner.id", &owner.id))
                .transpose()?,
            responsible_user_id: None,
            organisation_id: body
                .account
                .as_ref()
                .map(|account| insightly_id("account.id", &account.id))
                .transpose()?,
            category_id: None,
            // A stage is set with its pipeline.
            pipeline_id: stage.map(|stage| stage.pipeline_id),
            stage_id: stage.map(|stage| stage.stage_id),
            customfields: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_values(fields, context))
                .transpose()?,
            tags: None,
            links: body
                .contact
                .as_deref()
                .map(|contacts| {
                    contact_ids(contacts).map(|ids| ids.into_iter().map(contact_link).collect())
                })
                .transpose()?,
            additional_properties: BTreeMap::new(),
        })
    }

    /// The fields `PUT /Opportunities` takes. The stage and the contacts
    /// are checked here (before any call) and changed in `after_update`.
    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdate, MappingError> {
        match &body.stage {
            Patch::Null => {
                return Err(not_clearable(
                    "stage",
                    "an Insightly opportunity leaves a pipeline only through its own call, which is not supported; set another stage",
                ));
            }
            Patch::Value(stage) => {
                stage_of(stage, context)?;
            }
            Patch::Absent => {}
        }
        if let Patch::Value(contacts) = &body.contact {
            contact_ids(contacts)?;
        }
        if body.custom_fields.is_null() {
            return Err(not_clearable(
                "custom_fields",
                "set a custom field to null to clear it; the map itself cannot be null",
            ));
        }
        let bid_amount = patch(&body.amount, |amount| whole_amount(*amount))?;
        Ok(OpportunityUpdate {
            // Set by `Connection::update` from the id.
            opportunity_id: 0,
            opportunity_name: match &body.name {
                Patch::Null => {
                    return Err(not_clearable("name", "an Insightly opportunity needs a name"));
                }
                other => other.clone(),
            },
            opportunity_details: body.description.clone(),
            opportunity_state: match &body.status {
                Patch::Null => {
                    return Err(not_clearable(
                        "status",
                        "an Insightly opportunity always has a state",
                    ));
                }
                other => patch(other, status_to_insightly)?,
            },
            bid_currency: body.currency.clone(),
            // A new amount is the total: a fixed bid.
            bid_type: match bid_amount {
                Patch::Value(_) => Patch::Value(FIXED_BID.to_owned()),
                _ => Patch::Absent,
            },
            bid_amount,
            bid_duration: Patch::Absent,
            probability: Patch::Absent,
            forecast_close_date: patch(&body.close_date, |at| Ok(format_date(at.date_naive())))?,
            owner_user_id: patch(&body.owner, |owner| insightly_id("owner.id", &owner.id))?,
            responsible_user_id: Patch::Absent,
            organisation_id: patch(&body.account, |account| {
                insightly_id("account.id", &account.id)
            })?,
            category_id: Patch::Absent,
            customfields: patch(&body.custom_fields, |fields| {
                custom_values(fields, context)
            })?,
            tags: Patch::Absent,
            links: Patch::Absent,
            additional_properties: BTreeMap::new(),
        })
    }

    /// A new stage: `PUT /Opportunities/{id}/PipelineStage` within the
    /// opportunity's pipeline, `PUT /Opportunities/{id}/Pipeline` into
    /// another. New contacts: links added and removed one by one (a
    /// `LINKS` list in the PUT is not documented to leave the other links,
    /// to organisations and projects, alone). Both need the record as it
    /// is now, read once.
    async fn after_update(
        calls: &Connection,
        id: &i64,
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        let stage = body
            .stage
            .value()
            .map(|stage| stage_of(stage, context))
            .transpose()?;
        let contacts: Option<BTreeSet<i64>> = match &body.contact {
            Patch::Absent => None,
            Patch::Null => Some(BTreeSet::new()),
            Patch::Value(contacts) => Some(contact_ids(contacts)?.into_iter().collect()),
        };
        if stage.is_none() && contacts.is_none() {
            return Ok(AfterWrite::Nothing);
        }
        let failed = |error| UnifiedError::from_client(Provider::Insightly, error);
        let client = &calls.own.client;
        let current = client.get_opportunity_json(id).await.map_err(failed)?.body;
        let mut changed = false;
        if let Some(stage) = stage {
            let pipeline = current.get("PIPELINE_ID").and_then(Value::as_i64);
            let now = current.get("STAGE_ID").and_then(Value::as_i64);
            if now != Some(stage.stage_id) || pipeline != Some(stage.pipeline_id) {
                let change = PipelineChange {
                    pipeline_id: Some(stage.pipeline_id),
                    pipeline_stage_change: PipelineStageChange {
                        stage_id: stage.stage_id,
                        activityset_assignment: None,
                    },
                };
                if pipeline == Some(stage.pipeline_id) {
                    made(client.update_opportunity_pipeline_stage(id, &change).await)?;
                } else {
                    made(client.update_opportunity_pipeline(id, &change).await)?;
                }
                changed = true;
            }
        }
        if let Some(wanted) = contacts {
            let links: Vec<Link> = current
                .get("LINKS")
                .cloned()
                .and_then(|links| serde_json::from_value(links).ok())
                .unwrap_or_default();
            let mut linked = BTreeSet::new();
            for link in links
                .iter()
                .filter(|link| is_contact(link.link_object_name.as_deref()))
            {
                let (Some(link_id), Some(contact)) = (link.link_id, link.link_object_id) else {
                    continue;
                };
                linked.insert(contact);
                if !wanted.contains(&contact) {
                    made(client.delete_opportunity_link(id, &link_id).await)?;
                    changed = true;
                }
            }
            for contact in wanted.difference(&linked) {
                made(client.add_opportunity_link(id, &contact_link(*contact)).await)?;
                changed = true;
            }
        }
        Ok(if changed {
            AfterWrite::Changed
        } else {
            AfterWrite::Nothing
        })
    }
}

impl UnifiedMapping for Insightly {
    fn stages_list(&self, response: &Vec<PipelineStage>) -> Result<Vec<Stage>, MappingError> {
        Ok(response.iter().map(stage_definition).collect())
    }

    fn custom_fields_list(
        &self,
        response: &Vec<InsightlyField>,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response.iter().map(field_definition).collect())
    }

    fn users_list(&self, response: &Vec<InsightlyUser>) -> Result<Vec<User>, MappingError> {
        Ok(response.iter().map(user_of).collect())
    }
}
