//! Freshsales (Freshworks CRM): bodies wrapped `{"deal": ...}`, integer ids,
//! `amount` a number or a decimal string, `currency_id` an id of the
//! account's currencies (`/api/selector/currencies`, mapped to ISO codes
//! both ways), `owner_id` the owner, `sales_account_id` the account,
//! contacts as `contact_ids` (only with `include=contacts`, so only on get)
//! and written as `contacts_added_list` / `contacts_removed_list`,
//! `deal_stage_id` the stage (sent with its `deal_pipeline_id`), the status
//! read from the stage's `forecast_type` (not writable: it follows the
//! stage), `expected_close` the close date (`YYYY-MM-DD`), custom fields
//! under `custom_field` keyed by their API name (`cf_region`).
//!
//! There is no "list all deals" endpoint: deals are listed through a saved
//! view, and the context picks the account's "All Deals" view (never "My
//! Deals", which holds only the key user's deals).
//!
//! The connection is the generated one, wrapped ([`Connection`]) for two
//! reasons: a get asks for `include=contacts` (the generated get sends no
//! parameter, and without it a deal carries no contacts), and the calls of
//! the context and of `after_update` go out without the caller's
//! pass-through `remote_query` / `remote_data`, which are for the
//! operation itself.

use crate::account::IntegratedAccount;
use crate::connector::{AfterWrite, OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::freshsales::{
    AccountConnection, Amount, Currency, CustomFieldValues, Deal, DealCreate, DealCreateRequest,
    DealStage, DealStageList, DealUpdateRequest, DealWrite, Field, FieldList, GetDealParams,
    ListDealsInViewParams, ListDealsInViewSortType, OpportunitiesListInput, OwnerList,
    UnifiedMapping,
};
use crate::registry::{ClientSettings, Connect, ConnectError, Credentials, Provider};
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline, Stage, User,
};
use crm_runtime::paging::Pagination;
use crm_runtime::support::ResourceSupport;
use crm_runtime::unified::{CallResult, OpportunityCalls};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const PROVIDER: &str = "freshsales";
/// The system view holding every deal the key's user may see.
const ALL_DEALS_VIEW: &str = "All Deals";

/// The account's connection: the generated one for the five calls, and
/// one without the caller's pass-through query and body for the glue's own
/// calls.
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

impl OpportunityCalls for Connection {
    type ListInput = OpportunitiesListInput;
    type Record = Deal;
    type Create = DealCreateRequest;
    type Update = DealUpdateRequest;
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

    async fn list(&self, input: &OpportunitiesListInput) -> CallResult {
        self.calls.list(input).await
    }

    /// With `include=contacts`: the only way a deal carries `contact_ids`.
    async fn get(&self, id: &i64) -> CallResult {
        self.calls
            .client
            .get_deal_json(id, &with_contacts())
            .await
            .map_err(crm_runtime::Error::erase)
    }

    async fn create(&self, body: &DealCreateRequest) -> CallResult {
        self.calls.create(body).await
    }

    async fn update(&self, id: &i64, body: &DealUpdateRequest) -> CallResult {
        self.calls.update(id, body).await
    }

    async fn delete(&self, id: &i64) -> CallResult {
        self.calls.delete(id).await
    }
}

fn with_contacts() -> GetDealParams {
    GetDealParams {
        include: Some("contacts".into()),
    }
}

/// What mapping needs to know about the account.
#[derive(Debug, Default)]
pub struct Context {
    /// The id of the "All Deals" view; `None` when the account has renamed
    /// or deleted it (listing then fails, naming the view).
    pub all_deals_view: Option<i64>,
    /// Every stage of every pipeline, with its `forecast_type` (the status
    /// of its deals) and pipeline.
    pub stages: Vec<DealStage>,
    pub currencies: Vec<Currency>,
    /// Every deal field, standard and custom: which ones the account
    /// requires, and the custom fields' names.
    pub fields: Vec<Field>,
}

impl Context {
    fn stage(&self, id: i64) -> Option<&DealStage> {
        self.stages.iter().find(|stage| stage.id == id)
    }

    fn custom_field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|field| is_custom(field) && field.name == name)
    }
}

/// Freshsales' glue.
pub struct Freshsales;

/// Custom fields are the definitions that are not standard (`default:
/// false`); their names start with `cf_`.
fn is_custom(field: &Field) -> bool {
    field.default == Some(false)
}

fn freshsales_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Freshsales ids are integers"))
}

/// `amount` arrives as a number or as a decimal string (`"1500.5"`).
fn amount_to_unified(amount: &Amount) -> Result<f64, MappingError> {
    match amount {
        Amount::Number(number) => Ok(*number),
        Amount::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .ok_or_else(|| MappingError::new(PROVIDER, "amount", text, "is not a decimal number")),
    }
}

fn amount_to_freshsales(amount: f64) -> Result<f64, MappingError> {
    if amount.is_finite() {
        Ok(amount)
    } else {
        Err(MappingError::new(
            PROVIDER,
            "amount",
            amount,
            "is not a number",
        ))
    }
}

/// The unified status of a stage's `forecast_type`: `Open`, `Closed Won`
/// and `Closed Lost` in recorded payloads; anything else is kept,
/// lowercased.
fn status_of(forecast_type: &str) -> unified::UnifiedOpportunityStatus {
    let lowered = forecast_type.trim().to_lowercase();
    let words: Vec<&str> = lowered.split_whitespace().collect();
    if words.contains(&"won") {
        unified::UnifiedOpportunityStatus::Won
    } else if words.contains(&"lost") {
        unified::UnifiedOpportunityStatus::Lost
    } else if lowered == "open" {
        unified::UnifiedOpportunityStatus::Open
    } else {
        unified::UnifiedOpportunityStatus::Unknown(lowered)
    }
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

/// The ISO code of a `currency_id`. A deal without one is in the account's
/// base currency, which the currencies list does not reliably name (its
/// `currency_type` is undocumented): left empty.
fn currency_code(currency_id: Option<i64>, context: &Context) -> Option<String> {
    let id = currency_id?;
    context
        .currencies
        .iter()
        .find(|currency| currency.id == id)
        .map(|currency| currency.currency_code.clone())
}

/// The `currency_id` of an ISO code among the account's active currencies.
fn currency_id(code: &str, context: &Context) -> Result<i64, MappingError> {
    context
        .currencies
        .iter()
        .find(|currency| {
            currency.currency_code.eq_ignore_ascii_case(code) && currency.is_active != Some(false)
        })
        .map(|currency| currency.id)
        .ok_or_else(|| {
            MappingError::unknown_name(
                PROVIDER,
                "currency",
                code,
                "is not one of the account's active currencies",
            )
        })
}

/// A stage the caller names, as `(deal_stage_id, deal_pipeline_id)`: by id,
/// or else by name when one stage has it.
fn stage_ids(
    stage: &unified::OpportunityStage,
    context: &Context,
) -> Result<(i64, Option<i64>), MappingError> {
    let found = match (&stage.id, &stage.name) {
        (Some(id), _) => {
            let id = freshsales_id("stage.id", id)?;
            context.stage(id)
        }
        (None, Some(name)) => {
            let mut named = context
                .stages
                .iter()
                .filter(|stage| stage.name.eq_ignore_ascii_case(name));
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
    let stage_text = stage.id.as_deref().or(stage.name.as_deref()).unwrap_or("");
    let found = found.ok_or_else(|| {
        MappingError::unknown_name(
            PROVIDER,
            "stage",
            stage_text,
            "is not one of the account's deal stages",
        )
    })?;
    Ok((found.id, found.deal_pipeline_id))
}

/// Unified custom fields (keyed by API name) as `custom_field`; a `null`
/// value is sent as `null` and clears the field.
fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<CustomFieldValues, MappingError> {
    let mut values = CustomFieldValues::new();
    for (name, value) in fields {
        let field = context.custom_field(name).ok_or_else(|| {
            MappingError::unknown_name(
                PROVIDER,
                format!("custom_fields.{name}"),
                value,
                "no deal custom field has this name",
            )
        })?;
        values.insert(field.name.clone(), value.clone());
    }
    Ok(values)
}

fn contact_ids(contacts: &[unified::OpportunityContact]) -> Result<Vec<i64>, MappingError> {
    contacts
        .iter()
        .map(|contact| freshsales_id("contact.id", &contact.id))
        .collect()
}

/// The unified field a standard deal field stands for, if any.
fn unified_name(standard: &str) -> Option<&'static str> {
    Some(match standard {
        "name" => "name",
        "amount" => "amount",
        "currency_id" => "currency",
        "owner_id" => "owner",
        "sales_account_id" => "account",
        "deal_stage_id" => "stage",
        "expected_close" => "close_date",
        "contacts" => "contact",
        _ => return None,
    })
}

/// The fields the account requires on create (its fields list marks them
/// `required: true`) that the body leaves out, all named at once.
fn check_account_required(
    body: &unified::OpportunityCreate,
    context: &Context,
) -> Result<(), MappingError> {
    let set = body.fields_set();
    let given_custom = body.custom_fields.as_ref();
    let mut missing = Vec::new();
    for field in context
        .fields
        .iter()
        .filter(|field| field.required == Some(true))
    {
        if is_custom(field) {
            let has = given_custom
                .and_then(|values| values.get(&field.name))
                .is_some_and(|value| !value.is_null());
            if !has {
                missing.push(format!("custom_fields.{}", field.name));
            }
        } else if let Some(name) = unified_name(&field.name) {
            if !set.contains(&name) {
                missing.push(name.to_owned());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(MappingError::new(
        PROVIDER,
        missing.join(", "),
        "null",
        "the account's deal fields make these required on create",
    ))
}

/// A clearable field of an update: set, or sent as `null`.
fn clearable<T, U>(
    cleared: &mut BTreeMap<String, Value>,
    wire: &str,
    patch: &Patch<T>,
    convert: impl FnOnce(&T) -> Result<U, MappingError>,
) -> Result<Option<U>, MappingError> {
    match patch {
        Patch::Absent => Ok(None),
        Patch::Null => {
            // `DealWrite` skips `None`s: a `null` goes through its extra map.
            cleared.insert(wire.to_owned(), Value::Null);
            Ok(None)
        }
        Patch::Value(value) => convert(value).map(Some),
    }
}

fn not_clearable(field: &str, reason: &str) -> MappingError {
    MappingError::new(PROVIDER, field, "null", reason)
}

impl OpportunityMapping for Freshsales {
    type Calls = Connection;
    type Context = Context;

    /// The custom deal fields (`default: false`), named by their API name
    /// (`cf_region`), the key `custom_fields` uses.
    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context
            .fields
            .iter()
            .filter(|field| is_custom(field))
            .map(field_definition)
            .collect()
    }

    /// Every stage of every pipeline, with its pipeline's id (the stage
    /// list names no pipeline, so the pipeline's name is left out).
    fn stages(context: &Context) -> Vec<Stage> {
        context.stages.iter().map(stage_of).collect()
    }

    /// `GET /api/selector/owners`: one answer holding every user (the
    /// selectors are not paged).
    async fn users(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Freshsales, error);
        let owners = calls.own.client.list_owners().await.map_err(failed)?;
        Ok(Freshsales.users_list(&owners.body)?)
    }

    /// The views (for "All Deals"), the stages, the currencies and the
    /// deal fields.
    async fn context(
        calls: &Connection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Freshsales, error);
        let client = &calls.own.client;
        let views = client.list_deal_views().await.map_err(failed)?;
        let stages = client.list_deal_stages().await.map_err(failed)?;
        let currencies = client.list_currencies().await.map_err(failed)?;
        let fields = client.list_deal_fields().await.map_err(failed)?;
        Ok(Context {
            all_deals_view: views
                .body
                .filters
                .iter()
                .find(|view| view.name.trim().eq_ignore_ascii_case(ALL_DEALS_VIEW))
                .map(|view| view.id),
            stages: stages.into_body().deal_stages,
            currencies: currencies.into_body().currencies,
            fields: fields.into_body().fields,
        })
    }

    /// The "All Deals" view, oldest deals first: ordered by creation, a
    /// deal edited during the walk keeps its place (ordered by
    /// `updated_at`, it would move to the end and shift the rest). The
    /// view API has no filter parameter and `sort_by=updated_at` would
    /// reorder pages, so the spec refuses them before this is called;
    /// `sort_by=created_at` is this order.
    fn list_input(
        _query: &ListQuery,
        context: &Context,
    ) -> Result<OpportunitiesListInput, MappingError> {
        let view_id = context.all_deals_view.ok_or_else(|| {
            MappingError::new(
                PROVIDER,
                "view",
                ALL_DEALS_VIEW,
                "the account has no deal view of this name (renamed or deleted), and no other view holds every deal",
            )
        })?;
        // `sort_by=created_at` is this order; the spec refuses
        // `sort_by=updated_at` (changes would reorder the pages).
        let sort = "created_at";
        Ok(OpportunitiesListInput {
            view_id,
            params: ListDealsInViewParams {
                sort: Some(sort.into()),
                sort_type: Some(ListDealsInViewSortType::Asc),
                ..ListDealsInViewParams::default()
            },
        })
    }

    fn to_unified(deal: &Deal, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let stage = deal.deal_stage_id.map(|id| (id, context.stage(id)));
        Ok(unified::Opportunity {
            name: deal.name.clone(),
            amount: deal.amount.as_ref().map(amount_to_unified).transpose()?,
            currency: currency_code(deal.currency_id, context),
            owner: deal
                .owner_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: deal
                .sales_account_id
                .map(|id| unified::OpportunityAccount { id: id.to_string() }),
            contact: deal.contact_ids.as_ref().map(|ids| {
                ids.iter()
                    .map(|id| unified::OpportunityContact { id: id.to_string() })
                    .collect()
            }),
            stage: stage.map(|(id, known)| unified::OpportunityStage {
                id: Some(id.to_string()),
                name: known.map(|stage| stage.name.clone()),
            }),
            status: stage
                .and_then(|(_, known)| known)
                .and_then(|stage| stage.forecast_type.as_deref())
                .map(status_of),
            custom_fields: deal.custom_field.clone(),
            close_date: deal.expected_close.map(midnight_utc),
            created_at: deal.created_at,
            updated_at: deal.updated_at,
            ..empty_opportunity(deal.id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<DealCreateRequest, MappingError> {
        let name = body.name.clone().ok_or_else(|| {
            MappingError::new(PROVIDER, "name", "null", "Freshsales requires a name")
        })?;
        let amount = body.amount.ok_or_else(|| {
            MappingError::new(PROVIDER, "amount", "null", "Freshsales requires an amount")
        })?;
        check_account_required(body, context)?;
        let (deal_stage_id, deal_pipeline_id) = match &body.stage {
            Some(stage) => {
                let (stage, pipeline) = stage_ids(stage, context)?;
                (Some(stage), pipeline)
            }
            None => (None, None),
        };
        Ok(DealCreateRequest {
            deal: DealCreate {
                name,
                amount: Some(amount_to_freshsales(amount)?),
                currency_id: body
                    .currency
                    .as_deref()
                    .map(|code| currency_id(code, context))
                    .transpose()?,
                owner_id: body
                    .owner
                    .as_ref()
                    .map(|owner| freshsales_id("owner.id", &owner.id))
                    .transpose()?,
                sales_account_id: body
                    .account
                    .as_ref()
                    .map(|account| freshsales_id("account.id", &account.id))
                    .transpose()?,
                deal_pipeline_id,
                deal_stage_id,
                probability: None,
                expected_close: body.close_date.map(|at| at.date_naive()),
                deal_reason_id: None,
                contacts_added_list: body.contact.as_deref().map(contact_ids).transpose()?,
                contacts_removed_list: None,
                custom_field: body
                    .custom_fields
                    .as_ref()
                    .map(|fields| custom_values(fields, context))
                    .transpose()?,
                additional_properties: BTreeMap::new(),
            },
        })
    }

    /// Contacts are not in this body: they change through
    /// `contacts_added_list` / `contacts_removed_list`, which need the
    /// deal's current contacts (`after_update`).
    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<DealUpdateRequest, MappingError> {
        if body.name.is_null() {
            return Err(not_clearable("name", "a Freshsales deal needs a name"));
        }
        let amount = match &body.amount {
            Patch::Null => {
                return Err(not_clearable("amount", "a Freshsales deal needs an amount"));
            }
            Patch::Value(amount) => Some(amount_to_freshsales(*amount)?),
            Patch::Absent => None,
        };
        let (deal_stage_id, deal_pipeline_id) = match &body.stage {
            Patch::Null => {
                return Err(not_clearable(
                    "stage",
                    "every Freshsales deal is in a stage; set another stage",
                ));
            }
            Patch::Value(stage) => {
                let (stage, pipeline) = stage_ids(stage, context)?;
                (Some(stage), pipeline)
            }
            Patch::Absent => (None, None),
        };
        if body.custom_fields.is_null() {
            return Err(not_clearable(
                "custom_fields",
                "set a custom field to null to clear it; the map itself cannot be null",
            ));
        }
        if let Patch::Value(contacts) = &body.contact {
            // Checked here so a bad id fails before any call.
            contact_ids(contacts)?;
        }
        let mut cleared = BTreeMap::new();
        let currency_id = clearable(&mut cleared, "currency_id", &body.currency, |code| {
            currency_id(code, context)
        })?;
        let owner_id = clearable(&mut cleared, "owner_id", &body.owner, |owner| {
            freshsales_id("owner.id", &owner.id)
        })?;
        let sales_account_id =
            clearable(&mut cleared, "sales_account_id", &body.account, |account| {
                freshsales_id("account.id", &account.id)
            })?;
        let expected_close =
            clearable(&mut cleared, "expected_close", &body.close_date, |at| {
                Ok(at.date_naive())
            })?;
        Ok(DealUpdateRequest {
            deal: DealWrite {
                name: body.name.value().cloned(),
                amount,
                currency_id,
                owner_id,
                sales_account_id,
                deal_pipeline_id,
                deal_stage_id,
                probability: None,
                expected_close,
                deal_reason_id: None,
                contacts_added_list: None,
                contacts_removed_list: None,
                custom_field: body
                    .custom_fields
                    .value()
                    .map(|fields| custom_values(fields, context))
                    .transpose()?,
                additional_properties: cleared,
            },
        })
    }

    /// A new contact list: the deal's current contacts are read, and the
    /// difference sent as `contacts_added_list` / `contacts_removed_list`.
    async fn after_update(
        calls: &Connection,
        id: &i64,
        body: &unified::OpportunityUpdate,
        _context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        let wanted: BTreeSet<i64> = match &body.contact {
            Patch::Absent => return Ok(AfterWrite::Nothing),
            Patch::Null => BTreeSet::new(),
            Patch::Value(contacts) => contact_ids(contacts)?.into_iter().collect(),
        };
        let failed = |error| UnifiedError::from_client(Provider::Freshsales, error);
        let current = calls
            .own
            .client
            .get_deal_json(id, &with_contacts())
            .await
            .map_err(failed)?;
        let current: BTreeSet<i64> = current
            .body
            .pointer("/deal/contact_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let added: Vec<i64> = wanted.difference(&current).copied().collect();
        let removed: Vec<i64> = current.difference(&wanted).copied().collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(AfterWrite::Nothing);
        }
        let change = DealUpdateRequest {
            deal: DealWrite {
                contacts_added_list: (!added.is_empty()).then_some(added),
                contacts_removed_list: (!removed.is_empty()).then_some(removed),
                ..DealWrite::default()
            },
        };
        calls
            .own
            .client
            .update_deal_json(id, &change)
            .await
            .map_err(failed)?;
        Ok(AfterWrite::Changed)
    }
}

/// A deal field as the unified definition; `remote_data` is the field
/// as read (the typed copy keeps every member, unknown ones included).
fn field_definition(field: &Field) -> CustomFieldDefinition {
    CustomFieldDefinition {
        id: field.id.clone(),
        name: field.name.clone(),
        label: field.label.clone(),
        data_type: field.type_.clone().unwrap_or_default(),
        options: field
            .choices
            .iter()
            .flatten()
            .map(|choice| (choice.id.to_string(), choice.value.clone()))
            .collect(),
        required: field.required == Some(true),
        // Freshsales' field list has no read-only flag.
        read_only: false,
        remote_data: serde_json::to_value(field).unwrap_or(Value::Null),
    }
}

/// A deal stage with its pipeline (`deal_pipeline_id`).
fn stage_of(stage: &DealStage) -> Stage {
    Stage {
        id: stage.id.to_string(),
        name: stage.name.clone(),
        pipeline: stage.deal_pipeline_id.map(|id| Pipeline {
            id: id.to_string(),
            name: None,
        }),
        remote_data: serde_json::to_value(stage).unwrap_or(Value::Null),
    }
}

impl UnifiedMapping for Freshsales {
    /// The custom fields among the deal fields (`default: false`).
    fn custom_fields_list(
        &self,
        response: &FieldList,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .fields
            .iter()
            .filter(|field| is_custom(field))
            .map(field_definition)
            .collect())
    }

    fn stages_list(&self, response: &DealStageList) -> Result<Vec<Stage>, MappingError> {
        Ok(response.deal_stages.iter().map(stage_of).collect())
    }

    /// The owners selector's users: `display_name` and `email`.
    fn users_list(&self, response: &OwnerList) -> Result<Vec<User>, MappingError> {
        Ok(response
            .users
            .iter()
            .map(|owner| User {
                id: owner.id.to_string(),
                name: owner.display_name.clone(),
                email: owner.email.clone(),
                remote_data: serde_json::to_value(owner).unwrap_or(Value::Null),
            })
            .collect())
    }
}
